import ArgumentParser
import Foundation
import Logging
import NakshaActors
import NakshaCoordinator
import NakshaCore
import NakshaObservability
import NakshaProviders
import NakshaWorker

/// `naksha worker`: a stateless worker that leases graph tasks from the coordinators and runs
/// them. Every flag has an environment variable, so a StatefulSet pod can take its id from
/// its name (`NAKSHA_WORKER_ID=$(POD_NAME)`, or the pod's `HOSTNAME` when no id is given).
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker: lease graph tasks from the coordinators and run them.",
        discussion: """
            Example, next to a local three-coordinator cluster:
              naksha worker --id w1 --coordinators 127.0.0.1:7401,127.0.0.1:7402,127.0.0.1:7403 --http-port 9091
            Environment: NAKSHA_WORKER_ID (else HOSTNAME), NAKSHA_COORDINATORS, NAKSHA_CONCURRENCY, NAKSHA_PEER_HOST,
            NAKSHA_PEER_PORT, NAKSHA_HTTP_HOST, NAKSHA_HTTP_PORT, NAKSHA_LABELS, NAKSHA_MEMORY_BUDGET, NAKSHA_LEASE_WAIT,
            NAKSHA_SHUTDOWN_GRACE, DATABASE_URL, NAKSHA_PROVIDERS, OPENAI_KEY, NAKSHA_OPENAI_BASE_URL,
            NAKSHA_CLUSTER_TOKEN, NAKSHA_CLUSTER_TOKEN_FILE, NAKSHA_LOG_LEVEL.
            Without OPENAI_KEY every model is served by the built-in offline providers
            (offline-hash-384 embeddings, the offline-extractive answerer). See docs/workers.md.
            """
    )

    @Option(help: "This worker's id (unique in the cluster). Env: NAKSHA_WORKER_ID, else HOSTNAME.") var id: String?
    @Option(help: "Coordinators' peer addresses, HOST:PORT,… (any one is enough). Env: NAKSHA_COORDINATORS.") var coordinators: String?
    @Option(help: "Tasks run at once. Env: NAKSHA_CONCURRENCY. Default 4.") var concurrency: Int?
    @Option(help: "Address the worker's peer port binds. Env: NAKSHA_PEER_HOST. Default 127.0.0.1.") var peerHost: String?
    @Option(help: "The worker's peer port (0: any free port). Env: NAKSHA_PEER_PORT. Default 0.") var peerPort: Int?
    @Option(help: "Address of /healthz, /readyz, /metrics. Env: NAKSHA_HTTP_HOST. Default 127.0.0.1.") var httpHost: String?
    @Option(help: "Port of /healthz, /readyz, /metrics. Env: NAKSHA_HTTP_PORT. Default 9090.") var httpPort: Int?
    @Option(help: "Labels, KEY=VALUE,… Env: NAKSHA_LABELS.") var labels: String?
    @Option(help: "Memory for vector shards, in bytes or with K, M, G. Env: NAKSHA_MEMORY_BUDGET. Default 1G.") var memoryBudget: String?
    @Option(help: "Milliseconds one lease long-poll waits for work. Env: NAKSHA_LEASE_WAIT. Default 5000.") var leaseWait: UInt64?
    @Option(help: "Seconds tasks in flight may finish after SIGTERM before they are released. Env: NAKSHA_SHUTDOWN_GRACE. Default 30.")
    var shutdownGrace: Int?
    @Option(help: "Postgres cold store: the durable copy of vector collections. Env: DATABASE_URL. Default: vectors in this worker's memory.")
    var databaseURL: String?
    @Option(help: "auto (OpenAI when OPENAI_KEY is set, else offline) or offline. Env: NAKSHA_PROVIDERS. Default auto.") var providers: String?
    @Option(help: "trace, debug, info, notice, warning, error. Env: NAKSHA_LOG_LEVEL. Default info.") var logLevel: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        func setting(_ flag: String?, _ variable: String) -> String? { flag ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 } }
        let configuration: WorkerConfiguration
        let level: Logger.Level
        do {
            guard let parsed = Logger.Level(rawValue: setting(logLevel, "NAKSHA_LOG_LEVEL") ?? "info") else {
                throw CLIError("unknown log level (trace, debug, info, notice, warning, error, critical)")
            }
            level = parsed
            configuration = try makeConfiguration(environment: environment, setting: setting)
        } catch {
            FileHandle.standardError.write(Data("naksha worker: \(error)\n".utf8))
            throw ExitCode(2)
        }
        JSONLogHandler.bootstrap(level: level)
        let logger = Logger(label: "worker")
        ParentWatch.startIfRequested()
        let worker: Worker
        do {
            worker = try await Worker.start(configuration, logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            FileHandle.standardError.write(Data("naksha worker: cannot start: \(error)\n".utf8))
            throw ExitCode(1)
        }
        do {
            try await worker.run()
        } catch {
            logger.critical("a worker service failed", metadata: ["error": "\(error)"])
            FileHandle.standardError.write(Data("naksha worker: failed: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    private func makeConfiguration(environment: [String: String], setting: (String?, String) -> String?) throws -> WorkerConfiguration {
        guard let id = setting(id, "NAKSHA_WORKER_ID") ?? environment["HOSTNAME"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw CLIError("--id is required (or NAKSHA_WORKER_ID, or HOSTNAME)")
        }
        guard let list = setting(coordinators, "NAKSHA_COORDINATORS") else { throw CLIError("--coordinators is required (HOST:PORT,…)") }
        func number(_ flag: Int?, _ variable: String, _ fallback: Int) throws -> Int {
            if let flag { return flag }
            guard let text = environment[variable], !text.isEmpty else { return fallback }
            guard let value = Int(text) else { throw CLIError("\(variable) must be an integer, not \"\(text)\"") }
            return value
        }
        var labelMap: [String: String] = [:]
        for pair in (setting(labels, "NAKSHA_LABELS") ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else { throw CLIError("label \"\(pair)\" is not KEY=VALUE") }
            labelMap[String(parts[0])] = String(parts[1])
        }
        let mode = setting(providers, "NAKSHA_PROVIDERS") ?? "auto"
        guard mode == "auto" || mode == "offline" else { throw CLIError("--providers must be auto or offline, not \(mode)") }
        var providerSettings = ModelProviders.Settings.fromEnvironment(environment)
        providerSettings.offlineOnly = mode == "offline"
        let grace = try number(shutdownGrace, "NAKSHA_SHUTDOWN_GRACE", 30)
        guard (0...3600).contains(grace) else { throw CLIError("--shutdown-grace must be 0…3600 seconds") }
        let wait = try number(leaseWait.map { Int($0) }, "NAKSHA_LEASE_WAIT", 5000)
        guard (10...30_000).contains(wait) else { throw CLIError("--lease-wait must be 10…30000 milliseconds") }
        let configuration = WorkerConfiguration(
            id: WorkerID(rawValue: id), coordinators: try WorkerConfiguration.parseCoordinators(list),
            concurrency: try number(concurrency, "NAKSHA_CONCURRENCY", 4),
            peerHost: setting(peerHost, "NAKSHA_PEER_HOST") ?? "127.0.0.1", peerPort: try number(peerPort, "NAKSHA_PEER_PORT", 0),
            httpHost: setting(httpHost, "NAKSHA_HTTP_HOST") ?? "127.0.0.1", httpPort: try number(httpPort, "NAKSHA_HTTP_PORT", 9090),
            labels: labelMap, memoryBudgetBytes: try Self.bytes(setting(memoryBudget, "NAKSHA_MEMORY_BUDGET") ?? "1G"),
            leaseWaitMillis: UInt64(wait), shutdownGrace: .seconds(grace), databaseURL: setting(databaseURL, "DATABASE_URL"),
            providers: providerSettings,
            clusterSecret: try CoordinatorConfiguration.loadClusterSecret(
                token: environment["NAKSHA_CLUSTER_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }, tokenFile: environment["NAKSHA_CLUSTER_TOKEN_FILE"]),
            environment: environment)
        try configuration.validate()
        return configuration
    }

    /// `1073741824`, `512M`, `1G`, `64K`.
    static func bytes(_ text: String) throws -> UInt64 {
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        let upper = text.uppercased().replacingOccurrences(of: "IB", with: "").replacingOccurrences(of: "B", with: "")
        if let last = upper.last, let unit = units[last], let value = UInt64(upper.dropLast()) {
            let (bytes, overflow) = value.multipliedReportingOverflow(by: unit)
            guard !overflow else { throw CLIError("\"\(text)\" is too large") }
            return bytes
        }
        guard let value = UInt64(upper) else { throw CLIError("\"\(text)\" is not a size (bytes, or a number with K, M, G)") }
        return value
    }
}
