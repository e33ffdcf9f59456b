import NakshaActors
import NakshaCore
import NakshaProviders

/// A worker's settings (`naksha worker` fills them from flags and environment variables).
public struct WorkerConfiguration: Sendable {
    public var id: WorkerID
    /// Coordinators' peer addresses; any one is enough, the worker finds the leader.
    public var coordinators: [NodeAddress]
    /// Tasks run at once (the capacity it registers with).
    public var concurrency: Int
    /// Where its actor system listens (0: any free port).
    public var peerHost: String
    public var peerPort: Int
    /// `/healthz`, `/readyz`, `/metrics`.
    public var httpHost: String
    public var httpPort: Int
    public var labels: [String: String]
    /// Memory for vector shards, registered with the coordinators.
    public var memoryBudgetBytes: UInt64
    /// How long one lease long-poll waits for work.
    public var leaseWaitMillis: UInt64
    /// On SIGTERM: how long tasks in flight may run before they are released.
    public var shutdownGrace: Duration
    /// The Postgres cold store, the durable copy of vector collections.
    public var databaseURL: String?
    public var providers: ModelProviders.Settings
    /// Proven to coordinators in the peer handshake when they require one.
    public var clusterSecret: ClusterSecret?
    /// Where `secret://NAME` is resolved from.
    public var environment: [String: String]

    public init(
        id: WorkerID, coordinators: [NodeAddress], concurrency: Int = 4, peerHost: String = "127.0.0.1", peerPort: Int = 0,
        httpHost: String = "127.0.0.1", httpPort: Int = 9090, labels: [String: String] = [:], memoryBudgetBytes: UInt64 = 1 << 30,
        leaseWaitMillis: UInt64 = 5000, shutdownGrace: Duration = .seconds(30), databaseURL: String? = nil,
        providers: ModelProviders.Settings = ModelProviders.Settings(), clusterSecret: ClusterSecret? = nil, environment: [String: String] = [:]
    ) {
        self.id = id
        self.coordinators = coordinators
        self.concurrency = concurrency
        self.peerHost = peerHost
        self.peerPort = peerPort
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.labels = labels
        self.memoryBudgetBytes = memoryBudgetBytes
        self.leaseWaitMillis = leaseWaitMillis
        self.shutdownGrace = shutdownGrace
        self.databaseURL = databaseURL
        self.providers = providers
        self.clusterSecret = clusterSecret
        self.environment = environment
    }

    /// Checks what a flag or variable can get wrong.
    public func validate() throws(WorkerError) {
        guard !id.rawValue.isEmpty, id.rawValue.utf8.count <= 128 else { throw WorkerError(.invalidConfiguration, "--id must be 1…128 bytes") }
        guard !coordinators.isEmpty else { throw WorkerError(.invalidConfiguration, "--coordinators needs at least one HOST:PORT") }
        guard (1...1024).contains(concurrency) else { throw WorkerError(.invalidConfiguration, "--concurrency must be 1…1024") }
        guard (0...65535).contains(peerPort), (0...65535).contains(httpPort) else { throw WorkerError(.invalidConfiguration, "ports must be 0…65535") }
    }

    /// Parses `HOST:PORT,HOST:PORT`.
    public static func parseCoordinators(_ text: String) throws(WorkerError) -> [NodeAddress] {
        var addresses: [NodeAddress] = []
        for part in text.split(separator: ",") {
            let entry = part.split(separator: ":")
            guard entry.count == 2, !entry[0].isEmpty, let port = Int(entry[1]), (1...65535).contains(port) else {
                throw WorkerError(.invalidConfiguration, "coordinator \"\(part)\" is not HOST:PORT (the coordinator's peer port)")
            }
            addresses.append(NodeAddress(host: String(entry[0]), port: port))
        }
        guard !addresses.isEmpty else { throw WorkerError(.invalidConfiguration, "--coordinators needs at least one HOST:PORT") }
        return addresses
    }
}

/// Why a worker could not start or stopped: a stable code and what to do.
public struct WorkerError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public static let invalidConfiguration = Code("invalid_configuration")
        public static let startFailed = Code("start_failed")
        public static let coordinatorsUnreachable = Code("coordinators_unreachable")
        public var description: String { name }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
