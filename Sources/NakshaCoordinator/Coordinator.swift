import Distributed
import Foundation
import Logging
import NakshaActors
import NakshaObservability
import NakshaRaft
import NakshaStore
import RaftCore

/// A running coordinator: the actor system on the peer port, the `RaftNode` and its clock,
/// and (with `serveHTTP`) the HTTP gateway.
///
/// Until `ClusterState` exists the replicated state machine is `KeyValueStateMachine`, which
/// the HTTP gateway's `/v1/kv` routes and `naksha bench raft` use.
public final class Coordinator: Sendable {
    public let configuration: CoordinatorConfiguration
    public let system: NakshaActorSystem
    public let node: RaftNode
    let metrics: MetricsExport
    let logger: Logger
    private let ticker: Task<Void, Never>

    private init(configuration: CoordinatorConfiguration, system: NakshaActorSystem, node: RaftNode, metrics: MetricsExport, logger: Logger) {
        self.configuration = configuration
        self.system = system
        self.node = node
        self.metrics = metrics
        self.logger = logger
        ticker = Task { _ = await node.whenLocal { await $0.run() } }
    }

    /// Validates the configuration, runs migrations if a database is configured, opens the
    /// write-ahead log (recovering it) and starts the Raft clock.
    public static func start(_ configuration: CoordinatorConfiguration, logger: Logger) async throws -> Coordinator {
        try configuration.validate()
        let metrics = MetricsExport.bootstrap()
        if let databaseURL = configuration.databaseURL {
            try await migrate(databaseURL, logger: logger)
        }
        guard let own = configuration.peers[configuration.nodeID] else {
            throw CoordinatorError(.invalidConfiguration, "node id \(configuration.nodeID) is not in --peers")
        }
        let system = try await NakshaActorSystem.start(
            ActorSystemConfiguration(host: own.host, port: own.port, rebuildableErrors: [RaftError.self]))
        do {
            let node = try RaftNode.start(
                id: configuration.nodeID, peers: configuration.peers, directory: configuration.dataDirectory,
                machine: KeyValueStateMachine(), join: configuration.join, options: configuration.raft,
                logger: Logger(label: "raft"), system: system)
            let status = try await node.status()
            if let repaired = await node.whenLocal({ $0.walRecoveryReport() }) ?? nil {
                logger.warning("write-ahead log repaired at start", metadata: ["repair": "\(repaired)"])
            }
            logger.info(
                "coordinator started",
                metadata: [
                    "node": "\(configuration.nodeID)", "peer_address": "\(system.address)", "incarnation": "\(system.incarnation)",
                    "http": "\(configuration.httpHost):\(configuration.httpPort)", "term": "\(status.term)",
                    "applied_index": "\(status.appliedIndex)", "members": "\(status.members.map(\.id))",
                ])
            return Coordinator(configuration: configuration, system: system, node: node, metrics: metrics, logger: logger)
        } catch {
            await system.shutdown()
            throw error
        }
    }

    private static func migrate(_ databaseURL: String, logger: Logger) async throws {
        let store = PostgresColdStore(configuration: try PostgresConfiguration.fromEnvironment(["DATABASE_URL": databaseURL]))
        do {
            let report = try await store.migrate()
            await store.shutdown()
            logger.info("cold store schema ready", metadata: ["version": "\(report.currentVersion)", "applied": "\(report.applied)"])
        } catch {
            await store.shutdown()
            throw CoordinatorError(.startFailed, "cold store migrations failed: \(error)")
        }
    }

    /// Stops the clock and closes every connection. The write-ahead log is already durable.
    public func shutdown() async {
        ticker.cancel()
        await ticker.value
        await system.shutdown()
    }

    // MARK: Operations the gateway and the CLI use

    /// The cluster's status, in the leader's view when it is reachable.
    public func clusterStatus() async throws -> ClusterStatusReport {
        let local = try await node.status()
        if let leader = local.leader, leader != local.id, let remote = await node.whenLocal({ $0.proxy(for: leader) }) ?? nil,
            let status = try? await NakshaActorSystem.$callTimeout.withValue(.seconds(1), operation: { try await remote.status() })
        {
            return ClusterStatusReport(status: status, answeredBy: local.id)
        }
        return ClusterStatusReport(status: local, answeredBy: local.id)
    }

    /// Runs `body` on the leader's `RaftNode` (this one, or a proxy), following leader
    /// changes for up to `timeout` (`RaftNode.atLeader`).
    public func atLeader<T: Sendable>(timeout: Duration = .seconds(5), _ body: @escaping @Sendable (RaftNode) async throws -> T) async throws -> T {
        guard let result = try await node.whenLocal({ try await $0.atLeader(timeout: timeout, body) }) else {
            throw CoordinatorError(.startFailed, "the local Raft node is gone")
        }
        return result
    }

    /// Puts `value` at `key` through the log (forwarded to the leader).
    public func put(key: String, value: [UInt8]) async throws {
        let command = try KeyValueStateMachine.encode(.put(key: key, value: value))
        _ = try await submit(command)
    }

    /// Deletes `key` through the log; false if it was absent.
    public func delete(key: String) async throws -> Bool {
        let command = try KeyValueStateMachine.encode(.delete(key: key))
        return try await submit(command) == Array("ok".utf8)
    }

    private func submit(_ command: [UInt8]) async throws -> [UInt8] {
        guard let result = try await node.whenLocal({ try await $0.submit(command) }) else {
            throw CoordinatorError(.startFailed, "the local Raft node is gone")
        }
        return result
    }

    /// A linearizable read of `key` (ReadIndex at the leader, served here).
    public func get(key: String) async throws -> [UInt8]? {
        let value = try await node.whenLocal { node in
            try await node.linearizableRead { ($0 as? KeyValueStateMachine)?.values[key] }
        }
        return value ?? nil
    }

    /// Every key this replica holds now (not linearizable: diagnostics and tests).
    public func localKeys() async -> (keys: [String], appliedIndex: UInt64) {
        let keys = await node.whenLocal { $0.readLocal { ($0 as? KeyValueStateMachine).map { Array($0.values.keys) } ?? [] } } ?? []
        let applied = (try? await node.status().appliedIndex) ?? 0
        return (keys.sorted(), applied)
    }
}
