import CoreMetrics
import Distributed
import Glibc
import Logging
import NakshaClusterAPI
import NakshaCore
import NakshaRaft
import NakshaState
import RaftCore
import Synchronization

/// The coordinator's side of `ClusterEndpoint`: what workers' calls do. Only the leader
/// serves the calls that change or track leases (a follower answers `notLeader` with the
/// leader's address), because the leader alone tracks heartbeats; `graph` is a linearizable
/// read that any coordinator serves.
///
/// Heartbeats are not Raft entries: the leader remembers when it last heard of each lease, in
/// memory, and the lease reaper (`reapLeases`, a `LeaderLoop`) proposes one `expireLeases`
/// entry for the leases nobody kept alive. A new leader knows no heartbeats, so it gives every
/// lease one lease duration of grace before it expires anything.
///
/// Worker liveness works the same way: the leader notes when it last heard from each worker
/// (register, heartbeat, lease), and a worker silent for `workerTimeoutMillis` (three lease
/// durations) is expired in one `expireWorkers` entry, which releases its leases.
final class WorkerGateway: ClusterBackend, Sendable {
    let coordinator: Coordinator
    let leaseDurationMillis: UInt64
    private let seen = Mutex<[LeaseReference: UInt64]>([:])
    private let workerSeen = Mutex<[WorkerID: UInt64]>([:])

    /// How long a worker may be silent before the leader expires it.
    var workerTimeoutMillis: UInt64 { leaseDurationMillis * 3 }

    /// Routes `vector.upsert` and `vector.query` nodes' calls into sharded collections.
    let vectors: VectorRouter

    init(coordinator: Coordinator, leaseDurationMillis: UInt64) {
        self.coordinator = coordinator
        self.leaseDurationMillis = leaseDurationMillis
        self.vectors = VectorRouter(coordinator: coordinator)
    }

    static func nowMillis() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }

    /// Throws `notLeader` (with the leader's peer address) unless this node leads.
    private func requireLeader() async throws {
        let status = try await coordinator.node.status()
        guard status.role == "leader" else {
            let address = status.leader.flatMap { leader in status.members.first { $0.id == leader }?.address }
            throw ClusterAPIError(
                code: ClusterAPIError.notLeader, message: "coordinator \(status.id) does not lead; the leader is \(status.leader.map { "\($0)" } ?? "unknown")",
                leaderAddress: address)
        }
    }

    private var answer: HeartbeatAnswer { HeartbeatAnswer(stop: [], leaseDurationMillis: leaseDurationMillis) }

    private func heard(from worker: WorkerID) {
        let now = Self.nowMillis()
        workerSeen.withLock { $0[worker] = now }
    }

    func register(_ registration: WorkerRegistration) async throws -> HeartbeatAnswer {
        try await requireLeader()
        _ = try await propose(.registerWorker(registration))
        heard(from: registration.worker)
        return answer
    }

    func deregister(_ worker: WorkerID) async throws {
        try await requireLeader()
        do {
            _ = try await propose(.deregisterWorker(worker))
        } catch let error as ClusterAPIError where error.code == ClusterAPIError.unknownWorker {
            // Already gone (expired, or a retry of a deregistration that applied): nothing to release.
        }
        _ = workerSeen.withLock { $0.removeValue(forKey: worker) }
    }

    func throttle(_ report: ProviderThrottle) async throws {
        try await requireLeader()
        guard !report.provider.isEmpty, report.retryAfterMillis <= 3_600_000 else {
            throw ClusterAPIError(code: "invalidCommand", message: "a throttle needs a provider and a Retry-After of at most one hour")
        }
        let until = Self.nowMillis() + max(report.retryAfterMillis, 1)
        _ = try await propose(.throttleProvider(provider: report.provider, untilMillis: until))
        Counter(label: "naksha_provider_throttled_total", dimensions: [("provider", report.provider)]).increment()
        coordinator.logger.notice(
            "provider throttled", metadata: ["provider": "\(report.provider)", "retry_after_ms": "\(report.retryAfterMillis)", "worker": "\(report.worker)"])
    }

    func heartbeat(_ heartbeat: WorkerHeartbeat) async throws -> HeartbeatAnswer {
        try await requireLeader()
        let now = Self.nowMillis()
        let leases = heartbeat.leases
        let worker = heartbeat.worker
        let known = await coordinator.localState { $0.worker(worker) != nil } ?? false
        guard known else {
            throw ClusterAPIError(code: ClusterAPIError.unknownWorker, message: "worker \(worker) is not registered (expired after missed heartbeats?); register again")
        }
        heard(from: worker)
        let stale = await coordinator.localState { state in leases.filter { !state.isCurrent($0) } } ?? []
        seen.withLock { seen in
            for lease in leases where !stale.contains(lease) { seen[lease] = now }
            for lease in stale { seen[lease] = nil }
        }
        return HeartbeatAnswer(stop: stale, leaseDurationMillis: leaseDurationMillis)
    }

    /// Any coordinator answers from its applied state: a follower's map is at most a few
    /// entries behind, and the next answer brings the worker up to date.
    func shardAssignments(_ request: ShardAssignmentRequest) async throws -> ShardAssignments {
        let deadline = ContinuousClock.now + .milliseconds(Int64(min(request.waitMillis, 30_000)))
        let worker = request.worker
        while true {
            let answer = await coordinator.localState { state in Self.assignments(of: worker, in: state.shards) }
            if let answer, answer.epoch != request.afterEpoch || ContinuousClock.now >= deadline { return answer }
            if answer == nil, ContinuousClock.now >= deadline { return ShardAssignments(epoch: request.afterEpoch, shards: []) }
            try Task.checkCancellation()
            await coordinator.stateChanged.wait(timeout: .milliseconds(200))
        }
    }

    static func assignments(of worker: WorkerID, in map: ShardMap) -> ShardAssignments {
        let shards = map.placements.compactMap { placement -> AssignedShard? in
            guard placement.holders.contains(worker), let spec = map.collections[placement.key.collection] else { return nil }
            return AssignedShard(spec: spec, shard: placement.key.shard, joining: placement.move?.to == worker)
        }
        return ShardAssignments(epoch: map.epoch, shards: shards)
    }

    func vectorUpsert(_ call: VectorUpsertCall) async throws -> VectorWriteResult {
        guard call.ids.count == call.vectors.count, call.payloadJSON.count == call.vectors.count else {
            throw ClusterAPIError(code: VectorServiceError.Code.invalidInput.rawValue, message: "ids, vectors and payloads differ in count")
        }
        let items = call.ids.indices.map { index in
            VectorItem(id: call.ids[index], vector: call.vectors[index], payload: VectorPayload(storedJSON: call.payloadJSON[index]))
        }
        do {
            let answer = try await vectors.upsert(items, into: call.collection)
            return VectorWriteResult(count: answer.count, sequences: answer.sequences)
        } catch let error as VectorServiceError {
            throw ClusterAPIError(code: error.code.rawValue, message: error.message)
        }
    }

    func vectorQuery(_ call: VectorQueryCall) async throws -> VectorQueryAnswer {
        do {
            let result = try await vectors.query(
                VectorQuery(
                    collection: call.collection, vector: call.vector, k: call.k, filterJSON: call.filterJSON,
                    consistency: call.readYourWrites ? .readYourWrites : .eventual))
            return VectorQueryAnswer(hits: result.hits, partial: result.partial, exact: result.exact)
        } catch let error as VectorServiceError {
            throw ClusterAPIError(code: error.code.rawValue, message: error.message)
        }
    }

    func shardReady(_ report: ShardReadyReport) async throws {
        try await requireLeader()
        heard(from: report.worker)
        let key = ShardKey(collection: report.collection, shard: report.shard)
        let moving = await coordinator.localState { $0.shards.placement(of: key)?.move?.to == report.worker } ?? false
        guard moving else { return }  // finished already, or abandoned: nothing to do
        let outcome = try await propose(.finishShardMove(FinishShardMove(collection: report.collection, shard: report.shard, to: report.worker)))
        if case .shardMoveFinished(_, let epoch, true) = outcome {
            coordinator.logger.info("shard move finished", metadata: ["shard": "\(key)", "to": "\(report.worker)", "epoch": "\(epoch)"])
        }
    }

    func shardRefused(_ report: ShardRefusalReport) async throws {
        try await requireLeader()
        heard(from: report.worker)
        let key = ShardKey(collection: report.collection, shard: report.shard)
        let holds = await coordinator.localState { $0.shards.placement(of: key)?.holders.contains(report.worker) } ?? nil
        guard holds == true else { return }  // taken off it already
        let outcome = try await propose(
            .refuseShardReplica(RefuseShardReplica(worker: report.worker, collection: report.collection, shard: report.shard, reason: report.reason)))
        if case .shardReplicaRefused(_, let epoch, let replacement, true) = outcome {
            coordinator.logger.warning(
                "shard replica refused by its worker; placed elsewhere",
                metadata: [
                    "shard": "\(key)", "worker": "\(report.worker)", "reason": "\(report.reason)", "epoch": "\(epoch)",
                    "placed_on": "\(replacement.map(\.rawValue) ?? "none: the shard is under-replicated until a worker with room joins")",
                ])
        }
    }

    func lease(_ request: LeaseRequest) async throws -> [TaskAssignment] {
        try await requireLeader()
        heard(from: request.worker)
        let deadline = ContinuousClock.now + .milliseconds(Int64(min(request.waitMillis, 30_000)))
        let max = Swift.max(1, Swift.min(request.max, 256))
        // Ask the log only when asking may grant something: ready tasks appeared since the
        // last empty grant, or (for tasks backing off, whose time the lease entry's timestamp
        // decides) half a second passed. A worker at capacity or a graph at its limit does not
        // write an entry per poll.
        var lastEmpty: (ready: Int, at: ContinuousClock.Instant)? = nil
        while true {
            let counts = await coordinator.localState { ($0.taskCounts.ready, $0.taskCounts.retrying) } ?? (0, 0)
            let quiet = lastEmpty.map { $0.ready >= counts.0 && ContinuousClock.now - $0.at < .milliseconds(500) } ?? false
            if counts.0 + counts.1 > 0 && !quiet {
                let outcome = try await propose(.leaseTasks(LeaseTasks(worker: request.worker, max: max, leaseDurationMillis: leaseDurationMillis)))
                if case .tasksLeased(let granted) = outcome, !granted.isEmpty {
                    let now = Self.nowMillis()
                    seen.withLock { seen in for task in granted { seen[task.lease] = now } }
                    return granted
                }
                lastEmpty = (counts.0, .now)
            }
            if ContinuousClock.now >= deadline { return [] }
            try Task.checkCancellation()
            // Woken by the next applied entry (a submit, a completion that readies the next
            // node, an expiry); the timeout covers backoffs that end with no entry.
            await coordinator.stateChanged.wait(timeout: .milliseconds(100))
        }
    }

    func complete(_ completion: TaskCompletion) async throws {
        try await requireLeader()
        _ = try await propose(.completeTask(completion))
        _ = seen.withLock { $0.removeValue(forKey: LeaseReference(task: completion.task, token: completion.token)) }
    }

    /// The most completions one `completeBatch` call takes.
    static let maxBatchCompletions = 4_096

    func completeBatch(_ completions: [TaskCompletion]) async throws -> [TaskCompletionResult] {
        try await requireLeader()
        guard completions.count <= Self.maxBatchCompletions else {
            throw ClusterAPIError(code: "invalidInput", message: "a batch holds at most \(Self.maxBatchCompletions) completions, not \(completions.count)")
        }
        var results: [TaskCompletionResult] = []
        results.reserveCapacity(completions.count)
        let groups = Self.entryGroups(completions)
        for (position, group) in groups.enumerated() {
            let outcome: ClusterOutcome
            do {
                outcome = try await propose(.completeTasks(group))
            } catch {
                // Nothing is known yet: the caller repeats the whole batch. Otherwise the earlier
                // entries are recorded and answered; this one's outcome is unknown (a repeat
                // answers `staleLease` for what was recorded), and later ones were not sent.
                if position == 0 { throw error }
                let unsent = groups[(position + 1)...].flatMap { $0 }
                results += group.map { TaskCompletionResult(task: $0.task, errorCode: "outcomeUnknown", message: "\(error)") }
                results += unsent.map { TaskCompletionResult(task: $0.task, errorCode: "notProcessed", message: "not sent: an earlier entry failed") }
                return results
            }
            guard case .tasksCompleted(let outcomes) = outcome, outcomes.count == group.count else {
                throw ClusterAPIError(code: "internal", message: "a batch of completions had an unexpected outcome")
            }
            for (completion, outcome) in zip(group, outcomes) {
                if let error = outcome.error {
                    results.append(TaskCompletionResult(task: outcome.task, errorCode: HTTPGateway.camelCase("\(error.code)"), message: error.message))
                } else {
                    results.append(TaskCompletionResult(task: outcome.task))
                }
                _ = seen.withLock { $0.removeValue(forKey: LeaseReference(task: completion.task, token: completion.token)) }
            }
        }
        return results
    }

    /// Splits completions into entries of at most `ClusterLimits.maxCompletionsPerEntry` and
    /// about 3 MiB of encoded outputs (under the log's 4 MiB command limit).
    static func entryGroups(_ completions: [TaskCompletion]) -> [[TaskCompletion]] {
        completions.sizeBoundedGroups(maxCount: ClusterLimits.maxCompletionsPerEntry, maxBytes: 3 << 20) {
            ClusterState.encodeCommand(.completeTask($0)).count
        }
    }

    func fail(_ failure: TaskFailureReport) async throws {
        try await requireLeader()
        _ = try await propose(.failTask(failure))
        _ = seen.withLock { $0.removeValue(forKey: LeaseReference(task: failure.task, token: failure.token)) }
    }

    func graph(contentHash: String) async throws -> GraphSourceText {
        let found = try await coordinator.readState { state -> GraphSourceText? in
            for name in state.graphNames {
                for info in state.graphVersions(named: name) where info.contentHash == contentHash {
                    if let version = state.graphVersion(info.reference) {
                        return GraphSourceText(reference: info.reference, contentHash: contentHash, yaml: version.yaml)
                    }
                }
            }
            return nil
        }
        guard let found else { throw ClusterAPIError(code: "unknownGraph", message: "no graph version has content hash \(contentHash)") }
        return found
    }

    /// Proposes at the leader; a refusal of the state becomes a `ClusterAPIError` with the
    /// state's code (`staleLease` for a completion under a lease that is not current).
    private func propose(_ command: ClusterCommand) async throws -> ClusterOutcome {
        do {
            return try await coordinator.propose(command)
        } catch let error as ClusterError {
            throw ClusterAPIError(code: HTTPGateway.camelCase("\(error.code)"), message: error.message)
        }
    }

    // MARK: The lease reaper

    /// The leader-only loop that expires leases nobody heartbeats: every `interval`, the
    /// leases past their recorded expiry whose last heartbeat is older than one lease duration
    /// (and, on a new leader, only after one lease duration of grace) are expired in one
    /// entry, fenced by `term`.
    func reapLeases(term: UInt64, interval: Duration = .milliseconds(100)) async throws {
        let leaderSince = Self.nowMillis()
        seen.withLock { $0 = [:] }  // heartbeats seen under another leader are not this leader's
        workerSeen.withLock { $0 = [:] }
        var sequence: UInt64 = 0
        let client = RequestID.random().client
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            let now = Self.nowMillis()
            guard now >= leaderSince + leaseDurationMillis else { continue }
            try await expireSilentWorkers(term: term, now: now, leaderSince: leaderSince, client: client, sequence: &sequence)
            let duration = leaseDurationMillis
            let seenNow = seen.withLock { $0 }
            let expired = await coordinator.localState { state in
                state.leases.filter { reference, lease in
                    lease.expiresMillis <= now && (seenNow[reference] ?? 0) + duration <= now
                }.map(\.0)
            } ?? []
            guard !expired.isEmpty else { continue }
            try await proposeFenced(.expireLeases(expired), term: term, client: client, sequence: &sequence)
            seen.withLock { seen in for reference in expired { seen[reference] = nil } }
            coordinator.logger.info("leases expired", metadata: ["count": "\(expired.count)", "raft.term": "\(term)"])
        }
    }

    /// Proposes one `expireWorkers` entry for the registered workers the leader has not heard
    /// from for `workerTimeoutMillis` (counted from this leader's start for workers it never
    /// heard from).
    private func expireSilentWorkers(term: UInt64, now: UInt64, leaderSince: UInt64, client: UInt64, sequence: inout UInt64) async throws {
        let timeout = workerTimeoutMillis
        guard now >= leaderSince + timeout else { return }
        let lastHeard = workerSeen.withLock { $0 }
        let silent = await coordinator.localState { state in
            state.workerList.map(\.id).filter { (lastHeard[$0] ?? leaderSince) + timeout <= now }
        } ?? []
        guard !silent.isEmpty else { return }
        try await proposeFenced(.expireWorkers(silent), term: term, client: client, sequence: &sequence)
        workerSeen.withLock { seen in for worker in silent { seen[worker] = nil } }
        coordinator.logger.warning("workers expired after missed heartbeats", metadata: ["workers": "\(silent)", "raft.term": "\(term)"])
    }

    /// Proposes `command` only while this node leads in `term` (the reaper's fence), with the
    /// next request id of the reaper's client.
    private func proposeFenced(_ command: ClusterCommand, term: UInt64, client: UInt64, sequence: inout UInt64) async throws {
        sequence += 1
        let bytes = ClusterState.encodeCommand(command)
        let requestID = RequestID(client: client, sequence: sequence)
        _ = try await coordinator.node.whenLocal { node in
            try await node.propose(bytes, machine: ClusterStateMachine.tag, requestID: requestID, asLeaderOf: term)
        }
    }
}
