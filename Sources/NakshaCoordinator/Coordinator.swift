import AsyncHTTPClient
import Distributed
import Foundation
import Logging
import NakshaActors
import NakshaClusterAPI
import NakshaObservability
import NakshaProviders
import NakshaRaft
import NakshaStore
import RaftCore
import ServiceLifecycle
import NakshaState
import Synchronization
import UnixSignals

/// A running coordinator: the actor system on the peer port and the `RaftNode`. Its
/// long-lived work — the Raft clock (which also ends the group on fail-stop), the HTTP gateway, and the
/// leader-only loops to come — runs in one `ServiceGroup` (`run(with:)`), which shuts down
/// gracefully on SIGTERM and SIGINT.
///
/// Until `ClusterState` exists the replicated state machine is `KeyValueStateMachine`, which
/// the HTTP gateway's `/v1/kv` routes and `naksha bench raft` use.
public final class Coordinator: Sendable {
    public let configuration: CoordinatorConfiguration
    public let system: NakshaActorSystem
    public let node: RaftNode
    let metrics: MetricsExport
    let logger: Logger
    /// The Postgres cold store (`DATABASE_URL`): the archive of finished jobs. Nil without one.
    let coldStore: PostgresColdStore?
    /// Wakes waiters when the cluster state changes (see `StateChangeSignal`).
    let stateChanged: StateChangeSignal
    /// Shared by every `VectorRouter` of this coordinator.
    let vectorRouting = VectorRoutingMemory()
    /// Embeds the text of vector upserts and queries that come without a vector: the same
    /// models as workers (`OPENAI_KEY`, `NAKSHA_PROVIDERS`; the offline embedder without a key).
    let embedders = ModelProviders(settings: .fromEnvironment(ProcessInfo.processInfo.environment), httpClient: HTTPClient.shared)

    private init(
        configuration: CoordinatorConfiguration, system: NakshaActorSystem, node: RaftNode, metrics: MetricsExport, logger: Logger,
        coldStore: PostgresColdStore?, stateChanged: StateChangeSignal
    ) {
        self.coldStore = coldStore
        self.stateChanged = stateChanged
        self.configuration = configuration
        self.system = system
        self.node = node
        self.metrics = metrics
        self.logger = logger
    }

    /// Validates the configuration, runs migrations if a database is configured, opens the
    /// write-ahead log (recovering and checking it) and the Raft node. The clock starts with
    /// `run(with:)`.
    ///
    /// - Throws: `CoordinatorError` `refusedByStoredState` when the stored membership and
    ///   `--peers` disagree, or when this node's data directory is empty although a peer knows
    ///   it as a member that has been running; `startFailed` for other failures.
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
            try configuration.actorSystemConfiguration(
                host: own.host, port: own.port, rebuildableErrors: [RaftError.self, ClusterAPIError.self]))
        if configuration.insecure && configuration.isPeerPortUnprotected {
            logger.warning(
                "the peer port is not loopback and has neither TLS nor a cluster token (--insecure): anyone who reaches it can join",
                metadata: ["peer_address": "\(own)"])
        }
        do {
            if !configuration.join, Self.dataDirectoryIsEmpty(configuration.dataDirectory) {
                try await refuseIfFormerMember(configuration, system: system)
            }
            let node: RaftNode
            let stateChanged = StateChangeSignal()
            do {
                node = try RaftNode.start(
                    id: configuration.nodeID, peers: configuration.peers, directory: configuration.dataDirectory,
                    machine: KeyValueStateMachine(), additionalMachines: [ClusterStateMachine.tag: ClusterStateMachine(changed: stateChanged)],
                    join: configuration.join, options: configuration.raft, logger: Logger(label: "raft"),
                    system: system)
            } catch let error as RaftStartError where error.code == .membershipMismatch {
                throw CoordinatorError(.refusedByStoredState, "\(configuration.dataDirectory): \(error.message)")
            }
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
            return Coordinator(configuration: configuration, system: system, node: node, metrics: metrics, logger: logger,
                coldStore: try configuration.databaseURL.map { url in
                    PostgresColdStore(configuration: try PostgresConfiguration.fromEnvironment(["DATABASE_URL": url]))
                }, stateChanged: stateChanged)
        } catch {
            await system.shutdown()
            throw error
        }
    }

    /// Runs the coordinator's services — the Raft clock and `services`
    /// (the HTTP gateway) — in one `ServiceGroup` until SIGTERM or SIGINT (graceful: each
    /// service finishes its current work), then closes every connection. The write-ahead
    /// log is durable at every step, so nothing needs flushing.
    ///
    /// - Throws: `CoordinatorError` `nodeStopped` if the node stopped after a storage failure
    ///   (the process should exit non-zero; recovery runs at the next start), or the error of
    ///   a service that failed.
    public func run(with services: [any Service], signals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        var configurations = ([RaftClock(node: node, dataDirectory: configuration.dataDirectory)] + services)
            .map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
        let workers = WorkerGateway(coordinator: self, leaseDurationMillis: configuration.leaseDurationMillis)
        let endpoint = ClusterEndpoint.start(backend: workers, system: system)
        configurations.append(.init(service: ClientProtocolService(coordinator: self, host: configuration.httpHost, port: configuration.clientPort)))
        configurations.append(.init(service: LeaderLoop(name: "lease-reaper", node: node) { term in try await workers.reapLeases(term: term) }))
        configurations.append(.init(service: LeaderLoop(name: "job-metrics", node: node) { _ in try await self.reportJobMetrics() }))
        if let coldStore {
            let archiver = JobArchiver(coordinator: self, store: coldStore)
            configurations.append(.init(service: LeaderLoop(name: "archiver", node: node) { term in try await archiver.run(term: term) }))
        }
        if let directory = configuration.graphsDirectory {
            // Runs once at start; its end does not end the group.
            configurations.append(.init(service: GraphRegistrar(coordinator: self, directory: directory), successTerminationBehavior: .ignore))
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: configurations, gracefulShutdownSignals: signals, logger: logger))
        do {
            try await group.run()
        } catch {
            _ = endpoint
            await coldStore?.shutdown()
            await system.shutdown()
            throw error
        }
        _ = endpoint  // the worker-facing endpoint lives as long as the services
        await coldStore?.shutdown()
        await system.shutdown()
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

    static func dataDirectoryIsEmpty(_ directory: String) -> Bool {
        let files = ["wal", "snapshots"].flatMap { (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\($0)")) ?? [] }
        return !files.contains { $0.hasSuffix(".wal") || $0.hasSuffix(".snap") }
    }

    /// A node whose data directory is empty must not bootstrap again if it already was a
    /// running member: with its vote and log gone it could vote twice in a term or help elect
    /// a leader that lacks acknowledged writes. It asks its peers; a peer that has heard from
    /// this node id since that peer started, and lists it as a member, proves it was running.
    /// (Peers that all restarted since cannot tell; see docs/operations.md.)
    static func refuseIfFormerMember(_ configuration: CoordinatorConfiguration, system: NakshaActorSystem) async throws {
        for (id, address) in configuration.peers.sorted(by: { $0.key < $1.key }) where id != configuration.nodeID {
            guard let peer = try? RaftNode.resolve(id: .wellKnown("raft", on: address), using: system),
                let status = try? await NakshaActorSystem.$callTimeout.withValue(.seconds(1), operation: { try await peer.status() })
            else { continue }
            guard status.heardFrom.contains(configuration.nodeID), status.members.contains(where: { $0.id == configuration.nodeID }) else {
                continue
            }
            throw CoordinatorError(
                .refusedByStoredState,
                "the data directory \(configuration.dataDirectory) is empty, but node \(id) (term \(status.term), commit index \(status.commitIndex)) has heard from node \(configuration.nodeID) as a member: this node ran before and lost its log. Starting it empty could vote twice or lose acknowledged writes, so it is refused. Remove it (`naksha cluster remove --id \(configuration.nodeID)`), then add it back as a learner under a new id (`naksha cluster add-learner --id NEW --address HOST:PORT`) and start it with --join")
        }
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

/// The Raft node's logical clock, as a service: ticks until graceful shutdown. If the node
/// stops after a storage failure (fail-stop) the clock ends within a tick and the service
/// throws `nodeStopped`, which ends the group, so the process exits non-zero instead of
/// serving a node that can no longer persist.
struct RaftClock: Service {
    let node: RaftNode
    let dataDirectory: String

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            _ = await node.whenLocal { await $0.run() }
        }
        if let reason = await node.whenLocal({ $0.stopReason }) ?? nil {
            throw CoordinatorError(
                .nodeStopped,
                "the Raft node stopped after a storage failure (\(reason)); restart the coordinator once the disk is fixed — recovery of \(dataDirectory) runs at start")
        }
    }
}

extension Coordinator {
    /// Leader only: marks this node as the one that reports job metrics, and samples the
    /// gauges every second (the encoded state size every ten).
    func reportJobMetrics() async throws {
        JobMetrics.shared.leading.store(true, ordering: .relaxed)
        defer { JobMetrics.shared.leading.store(false, ordering: .relaxed) }
        var round = 0
        while !Task.isCancelled {
            // Every tenth second the state's encoded size too — encoded from a copy, away from
            // the Raft node (encoding a large state on the node stalled every proposal).
            if round % 10 == 0, let copy = await localState({ $0 }) {
                JobMetrics.shared.sample(copy, encodedBytes: copy.encoded().count)
            } else {
                _ = await localState { state in JobMetrics.shared.sample(state, encodedBytes: nil) }
            }
            round += 1
            try await Task.sleep(for: .seconds(1))
        }
    }
}

/// Registers the graphs of `--graphs-dir` once the cluster has a leader (idempotent: every
/// coordinator does it at start, and the same content is the same version).
struct GraphRegistrar: Service {
    let coordinator: Coordinator
    let directory: String

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await coordinator.registerGraphs(in: directory)
        }
    }
}
