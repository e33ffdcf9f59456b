import Foundation
import NakshaActors
import NakshaRaft
import NakshaCore

/// How one coordinator runs: its id, where every member listens, its data directory and
/// its ports. `naksha coordinator` fills it from flags, environment variables or a JSON file.
public struct CoordinatorConfiguration: Sendable {
    /// This node's id; a key of `peers`.
    public var nodeID: UInt64
    /// Every member's actor-transport address, this node's included (its port is where this
    /// node listens for peers).
    public var peers: [UInt64: NodeAddress]
    public var dataDirectory: String
    /// The client protocol's port (docs/protocol.md), bound on `httpHost`.
    public var clientPort: Int
    public var httpHost: String
    public var httpPort: Int
    /// Start empty and wait to be added by the leader (`naksha cluster add-learner`),
    /// instead of bootstrapping a group from `peers`.
    public var join: Bool
    public var raft: RaftNode.Options
    /// Postgres cold store: when set, migrations run at start (under an advisory lock, so
    /// three coordinators starting together never race).
    public var databaseURL: String?
    /// Graph definitions registered at start (every `*.yaml`/`*.yml`); nil registers none.
    public var graphsDirectory: String? = "graphs"
    /// Bearer tokens the HTTP gateway requires (`NAKSHA_API_TOKENS_FILE`); nil: none.
    public var apiTokens: APITokens? = nil
    /// How long a task lease lasts without a heartbeat (workers heartbeat at a third of it).
    public var leaseDurationMillis: UInt64 = 10_000
    /// Mutual TLS on the peer port: this node's certificate chain, its private key and the
    /// cluster CA, all PEM files (`--tls-cert`, `--tls-key`, `--tls-ca`). All three or none.
    public var tlsCertificatePath: String?
    public var tlsPrivateKeyPath: String?
    public var tlsCAPath: String?
    /// The secret every member proves in the peer handshake (`NAKSHA_CLUSTER_TOKEN` or
    /// `--cluster-token-file`); nil: none is proved or required.
    public var clusterSecret: ClusterSecret?
    /// Run with a peer port that is neither loopback nor protected by TLS or a cluster
    /// secret (`--insecure`): `validate()` lets it pass, and the coordinator logs a warning.
    public var insecure: Bool

    public init(
        nodeID: UInt64, peers: [UInt64: NodeAddress], dataDirectory: String, clientPort: Int = 7700, httpHost: String = "127.0.0.1",
        httpPort: Int = 8080, join: Bool = false, raft: RaftNode.Options = RaftNode.Options(), databaseURL: String? = nil,
        tlsCertificatePath: String? = nil, tlsPrivateKeyPath: String? = nil, tlsCAPath: String? = nil,
        clusterSecret: ClusterSecret? = nil, insecure: Bool = false
    ) {
        self.nodeID = nodeID
        self.peers = peers
        self.dataDirectory = dataDirectory
        self.clientPort = clientPort
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.join = join
        self.raft = raft
        self.databaseURL = databaseURL
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsPrivateKeyPath = tlsPrivateKeyPath
        self.tlsCAPath = tlsCAPath
        self.clusterSecret = clusterSecret
        self.insecure = insecure
    }

    /// Parses `1=127.0.0.1:7401,2=127.0.0.1:7402,…`.
    public static func parsePeers(_ text: String) throws(CoordinatorError) -> [UInt64: NodeAddress] {
        var peers: [UInt64: NodeAddress] = [:]
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let id = UInt64(parts[0]), id > 0 else {
                throw CoordinatorError(.invalidConfiguration, "peer \"\(item)\" is not ID=HOST:PORT with a positive id")
            }
            let address = try parseAddress(String(parts[1]))
            guard peers.updateValue(address, forKey: id) == nil else {
                throw CoordinatorError(.invalidConfiguration, "peer id \(id) is listed twice")
            }
        }
        guard !peers.isEmpty else { throw CoordinatorError(.invalidConfiguration, "--peers lists no members") }
        return peers
    }

    /// Parses `HOST:PORT`.
    public static func parseAddress(_ text: String) throws(CoordinatorError) -> NodeAddress {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex, let port = Int(text[text.index(after: colon)...]),
            (1...65_535).contains(port)
        else {
            throw CoordinatorError(.invalidConfiguration, "\"\(text)\" is not HOST:PORT")
        }
        return NodeAddress(host: String(text[..<colon]), port: port)
    }

    /// Raft timing from the two settings operators know from etcd: a leader heartbeats every
    /// `heartbeatInterval`; a follower that hears nothing for `electionTimeout` (randomised
    /// up to twice that) starts an election. The node ticks every half heartbeat.
    ///
    /// - Throws: `invalidConfiguration` unless 10 ms ≤ heartbeat, the election timeout is at
    ///   least 5 heartbeats (etcd's rule: shorter ones elect spuriously under load), and both
    ///   are whole multiples of the tick.
    public static func raftTiming(
        heartbeatInterval: Duration, electionTimeout: Duration, base: RaftNode.Options = RaftNode.Options()
    ) throws(CoordinatorError) -> RaftNode.Options {
        let heartbeat = heartbeatInterval.inMilliseconds
        let election = electionTimeout.inMilliseconds
        guard heartbeat >= 10 else {
            throw CoordinatorError(.invalidConfiguration, "--heartbeat-interval \(heartbeat) ms is below 10 ms")
        }
        guard election >= 5 * heartbeat else {
            throw CoordinatorError(
                .invalidConfiguration,
                "--election-timeout \(election) ms must be at least 5 × --heartbeat-interval (\(5 * heartbeat) ms)")
        }
        guard heartbeat % 2 == 0, election % (heartbeat / 2) == 0 else {
            throw CoordinatorError(
                .invalidConfiguration,
                "--heartbeat-interval must be an even number of ms and --election-timeout a multiple of half of it (\(heartbeat / 2) ms)")
        }
        var options = base
        options.tickInterval = .milliseconds(heartbeat / 2)
        options.heartbeatIntervalTicks = 2
        options.electionTimeoutTicks = Int(election / (heartbeat / 2))
        return options
    }

    /// Checks what must hold before anything starts.
    public func validate() throws(CoordinatorError) {
        guard let own = peers[nodeID] else {
            let listed = peers.keys.sorted().map(String.init).joined(separator: ", ")
            throw CoordinatorError(.invalidConfiguration, "node id \(nodeID) is not in --peers (ids: \(listed))")
        }
        guard !dataDirectory.isEmpty else { throw CoordinatorError(.invalidConfiguration, "--data-dir is required") }
        guard (1...65_535).contains(httpPort) else { throw CoordinatorError(.invalidConfiguration, "--http-port \(httpPort) is not a port") }
        guard own.port != httpPort else {
            throw CoordinatorError(.invalidConfiguration, "the peer port and the HTTP port are both \(httpPort)")
        }
        _ = try tlsFiles()
        guard insecure || !isPeerPortUnprotected else {
            throw CoordinatorError(
                .invalidConfiguration,
                """
                the peer address \(own) is not a loopback address, and the peer port has neither TLS nor a cluster \
                token: anyone who can reach it could send Raft messages and membership calls. Set --tls-cert, \
                --tls-key and --tls-ca (NAKSHA_TLS_CERT/KEY/CA), or NAKSHA_CLUSTER_TOKEN (or --cluster-token-file), \
                or pass --insecure (NAKSHA_INSECURE=1) to run unprotected anyway
                """)
        }
    }
}

/// A coordinator failure with a stable code and a message that says what to do.
public struct CoordinatorError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidConfiguration
        case startFailed
        /// The stored state refuses this start (`--peers` disagrees with the log's
        /// membership, or a former member's data directory is empty): exit status 2.
        case refusedByStoredState
        /// The Raft node stopped after a storage failure (fail-stop): exit status 3.
        case nodeStopped
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
