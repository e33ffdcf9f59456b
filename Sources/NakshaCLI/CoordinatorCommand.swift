import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NakshaCoordinator
import NakshaObservability
import NakshaRaft
import NIOCore
import NIOPosix

/// `naksha coordinator`: one member of the three-node coordinator group.
///
/// Every setting comes from a flag, else an environment variable, else a JSON config file
/// (`--config`, keys as the flags in camelCase: `nodeId`, `peers`, `dataDir`, …), else its
/// default.
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run one coordinator (a Raft member) with its HTTP gateway.",
        discussion: """
            Example, three members on one host:
              naksha coordinator --node-id 1 --peers 1=127.0.0.1:7401,2=127.0.0.1:7402,3=127.0.0.1:7403 \\
                --data-dir data/1 --http-port 8081
            Environment: NAKSHA_NODE_ID, NAKSHA_PEERS, NAKSHA_DATA_DIR, NAKSHA_CLIENT_PORT,
            NAKSHA_HTTP_HOST, NAKSHA_HTTP_PORT, NAKSHA_SNAPSHOT_EVERY, NAKSHA_HEARTBEAT_INTERVAL,
            NAKSHA_ELECTION_TIMEOUT, NAKSHA_LOG_LEVEL, NAKSHA_GRAPHS_DIR, NAKSHA_LEASE_DURATION, NAKSHA_API_TOKENS_FILE, DATABASE_URL, NAKSHA_TLS_CERT, NAKSHA_TLS_KEY,
            NAKSHA_TLS_CA, NAKSHA_CLUSTER_TOKEN, NAKSHA_CLUSTER_TOKEN_FILE, NAKSHA_INSECURE.
            Peer security: a peer address that is not loopback needs mutual TLS (--tls-*), a cluster
            token (NAKSHA_CLUSTER_TOKEN or --cluster-token-file) or --insecure.
            See docs/operations.md ("Securing the peer port").
            """
    )

    @Option(help: "This node's id (a key of --peers). Env: NAKSHA_NODE_ID.") var nodeId: UInt64?
    @Option(help: "Every member as ID=HOST:PORT, comma-separated; this node's entry is where it listens for peers. Env: NAKSHA_PEERS.")
    var peers: String?
    @Option(help: "Directory for the write-ahead log and snapshots. Env: NAKSHA_DATA_DIR.") var dataDir: String?
    @Option(help: "Client protocol port (reserved: the binary protocol is not served yet). Env: NAKSHA_CLIENT_PORT. Default 7700.")
    var clientPort: Int?
    @Option(help: "HTTP gateway address to bind. Env: NAKSHA_HTTP_HOST. Default 127.0.0.1.") var httpHost: String?
    @Option(help: "HTTP gateway port (/healthz, /readyz, /metrics, /v1/cluster). Env: NAKSHA_HTTP_PORT. Default 8080.")
    var httpPort: Int?
    @Flag(help: "Start empty and wait to be added with `naksha cluster add-learner` (a new member).") var join = false
    @Option(help: "Snapshot and compact the log every N applied entries. Env: NAKSHA_SNAPSHOT_EVERY. Default 100000 (as etcd).")
    var snapshotEvery: UInt64?
    @Option(help: "Milliseconds between the leader's heartbeats. Env: NAKSHA_HEARTBEAT_INTERVAL. Default 100.")
    var heartbeatInterval: UInt64?
    @Option(help: "Milliseconds of silence before a follower stands for election (randomised up to twice that); at least 5 heartbeats. Env: NAKSHA_ELECTION_TIMEOUT. Default 500.")
    var electionTimeout: UInt64?
    @Option(help: "Postgres cold store; migrations run at start when set. Env: DATABASE_URL.") var databaseURL: String?
    @Option(help: "Graph definitions registered at start (every *.yaml; idempotent). Env: NAKSHA_GRAPHS_DIR. Default graphs; \"\" registers none.")
    var graphsDir: String?
    @Option(help: "A file of HTTP API bearer tokens, one per line, `TOKEN` or `TOKEN admin`. Env: NAKSHA_API_TOKENS_FILE. Default: no tokens required.")
    var apiTokensFile: String?
    @Option(help: "Milliseconds a task lease lasts without a heartbeat. Env: NAKSHA_LEASE_DURATION. Default 10000.")
    var leaseDuration: UInt64?
    @Option(help: "trace, debug, info, notice, warning, error. Env: NAKSHA_LOG_LEVEL. Default info.") var logLevel: String?
    @Option(help: "This node's certificate chain (PEM) for mutual TLS on the peer port; with --tls-key and --tls-ca. Env: NAKSHA_TLS_CERT.")
    var tlsCert: String?
    @Option(help: "The private key (PEM) of --tls-cert. Env: NAKSHA_TLS_KEY.") var tlsKey: String?
    @Option(help: "The cluster CA (PEM): peers must present a certificate it signed. Env: NAKSHA_TLS_CA.") var tlsCa: String?
    @Option(help: "A file holding the cluster token every member proves in the peer handshake (the secret itself may instead be in NAKSHA_CLUSTER_TOKEN). Env: NAKSHA_CLUSTER_TOKEN_FILE.")
    var clusterTokenFile: String?
    @Flag(help: "Allow a non-loopback peer address with neither TLS nor a cluster token (logs a warning). Env: NAKSHA_INSECURE=1.")
    var insecure = false
    @Option(help: "A JSON file with any of the settings above.") var config: String?
    @Flag(help: "Run Swift concurrency on NIO's event loops (fewer thread hops per call; experimental, see benchmarks/README.md).")
    var nioExecutor = false

    func run() async throws {
        if nioExecutor { _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() }
        let configuration: CoordinatorConfiguration
        let level: Logger.Level
        do {
            let file = try config.map(Self.readConfigFile) ?? [:]
            let settings = Settings(environment: ProcessInfo.processInfo.environment, file: file)
            let levelName = logLevel ?? settings.string("NAKSHA_LOG_LEVEL", "logLevel") ?? "info"
            guard let parsed = Logger.Level(rawValue: levelName) else {
                throw CLIError("unknown log level \(levelName) (trace, debug, info, notice, warning, error, critical)")
            }
            level = parsed
            configuration = try makeConfiguration(settings)
        } catch {
            FileHandle.standardError.write(Data("naksha coordinator: \(error)\n".utf8))
            throw ExitCode(2)
        }
        JSONLogHandler.bootstrap(level: level)
        let logger = Logger(label: "coordinator")
        ParentWatch.startIfRequested()
        let coordinator: Coordinator
        do {
            coordinator = try await Coordinator.start(configuration, logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            FileHandle.standardError.write(Data("naksha coordinator: cannot start: \(error)\n".utf8))
            if let refused = error as? CoordinatorError, refused.code == .refusedByStoredState { throw ExitCode(2) }
            throw ExitCode(1)
        }
        do {
            try await coordinator.run(with: [HTTPGateway.application(for: coordinator)])
        } catch let error as CoordinatorError where error.code == .nodeStopped {
            logger.critical("stopped after a storage failure", metadata: ["error": "\(error)"])
            FileHandle.standardError.write(Data("naksha coordinator: \(error)\n".utf8))
            throw ExitCode(3)
        } catch {
            logger.critical("a coordinator service failed", metadata: ["error": "\(error)"])
            FileHandle.standardError.write(Data("naksha coordinator: failed: \(error) (HTTP gateway on \(configuration.httpHost):\(configuration.httpPort))\n".utf8))
            throw ExitCode(1)
        }
        logger.info("shut down")
    }

    private func makeConfiguration(_ settings: Settings) throws -> CoordinatorConfiguration {
        guard let nodeID = try nodeId ?? settings.number("NAKSHA_NODE_ID", "nodeId") else { throw CLIError("--node-id is required") }
        guard let peerList = peers ?? settings.string("NAKSHA_PEERS", "peers") else { throw CLIError("--peers is required") }
        guard let directory = dataDir ?? settings.string("NAKSHA_DATA_DIR", "dataDir") else { throw CLIError("--data-dir is required") }
        let heartbeat = try heartbeatInterval ?? settings.number("NAKSHA_HEARTBEAT_INTERVAL", "heartbeatInterval") ?? 100
        let election = try electionTimeout ?? settings.number("NAKSHA_ELECTION_TIMEOUT", "electionTimeout") ?? 500
        guard heartbeat <= 60_000, election <= 600_000 else { throw CLIError("--heartbeat-interval or --election-timeout is implausibly long") }
        var raft = try CoordinatorConfiguration.raftTiming(
            heartbeatInterval: .milliseconds(Int64(heartbeat)), electionTimeout: .milliseconds(Int64(election)))
        if let every = try snapshotEvery ?? settings.number("NAKSHA_SNAPSHOT_EVERY", "snapshotEvery") {
            guard every > 0 else { throw CLIError("--snapshot-every must be positive") }
            raft.snapshotEveryEntries = every
        }
        var configuration = CoordinatorConfiguration(
            nodeID: nodeID, peers: try CoordinatorConfiguration.parsePeers(peerList), dataDirectory: directory,
            clientPort: Int(try clientPort.map(UInt64.init) ?? settings.number("NAKSHA_CLIENT_PORT", "clientPort") ?? 7700),
            httpHost: httpHost ?? settings.string("NAKSHA_HTTP_HOST", "httpHost") ?? "127.0.0.1",
            httpPort: Int(try httpPort.map(UInt64.init) ?? settings.number("NAKSHA_HTTP_PORT", "httpPort") ?? 8080),
            join: join || ["true", "1"].contains(settings.string("NAKSHA_JOIN", "join") ?? ""), raft: raft,
            databaseURL: databaseURL ?? settings.string("DATABASE_URL", "databaseURL"),
            tlsCertificatePath: tlsCert ?? settings.string("NAKSHA_TLS_CERT", "tlsCert"),
            tlsPrivateKeyPath: tlsKey ?? settings.string("NAKSHA_TLS_KEY", "tlsKey"),
            tlsCAPath: tlsCa ?? settings.string("NAKSHA_TLS_CA", "tlsCa"),
            clusterSecret: try CoordinatorConfiguration.loadClusterSecret(
                token: settings.environment["NAKSHA_CLUSTER_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
                tokenFile: clusterTokenFile ?? settings.string("NAKSHA_CLUSTER_TOKEN_FILE", "clusterTokenFile")),
            insecure: insecure || ["true", "1"].contains(settings.string("NAKSHA_INSECURE", "insecure") ?? ""))
        let graphs = graphsDir ?? settings.string("NAKSHA_GRAPHS_DIR", "graphsDir") ?? "graphs"
        configuration.graphsDirectory = graphs.isEmpty ? nil : graphs
        let lease = try leaseDuration ?? settings.number("NAKSHA_LEASE_DURATION", "leaseDuration") ?? 10_000
        guard (100...3_600_000).contains(lease) else { throw CLIError("--lease-duration must be between 100 ms and one hour") }
        configuration.leaseDurationMillis = lease
        if let tokens = apiTokensFile ?? settings.string("NAKSHA_API_TOKENS_FILE", "apiTokensFile") {
            configuration.apiTokens = try APITokens.load(path: tokens)
        }
        // Configuration errors (peer security included) exit 2 before anything starts.
        try configuration.validate()
        return configuration
    }

    static func readConfigFile(_ path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read the config file \(path)") }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CLIError("the config file \(path) is not a JSON object")
        }
        var values: [String: String] = [:]
        for (key, value) in object {
            switch value {
            case let text as String: values[key] = text
            case let number as NSNumber: values[key] = number.stringValue  // JSON true is "1"
            default: throw CLIError("\(path): \"\(key)\" must be a string or a number")
            }
        }
        return values
    }

    /// Environment first, then the config file.
    struct Settings {
        var environment: [String: String]
        var file: [String: String]

        func string(_ variable: String, _ key: String) -> String? {
            environment[variable].flatMap { $0.isEmpty ? nil : $0 } ?? file[key]
        }

        func number(_ variable: String, _ key: String) throws -> UInt64? {
            guard let text = string(variable, key) else { return nil }
            guard let value = UInt64(text) else { throw CLIError("\(variable) / \(key) must be a non-negative integer, not \"\(text)\"") }
            return value
        }
    }
}
