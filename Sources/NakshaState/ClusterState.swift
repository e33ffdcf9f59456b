import NakshaCore
import NakshaGraph

/// The replicated state machine of the coordinators: graph registry, jobs and their tasks,
/// the ready queue, leases, workers and idempotency keys.
///
/// A pure value: `apply` is a function of the state, the command and its `CommandContext`
/// (no clock, no randomness, no I/O), and never iterates a `Set` or `Dictionary` in hash
/// order, so every replica applying the same entries reaches the same state and returns the
/// same results. `encoded()` is canonical: equal states give equal bytes, and
/// `decode(encoded())` gives a state that encodes to the same bytes.
public struct ClusterState: Sendable, Equatable {
    /// The format version of `encoded()` and of command bytes.
    public static let formatVersion: UInt8 = 1
    static let snapshotMagic: [UInt8] = [0x4E, 0x53]  // "NS"

    public internal(set) var limits: ClusterLimits
    /// The index of the last applied entry (0 before any).
    public internal(set) var lastAppliedIndex: UInt64 = 0
    /// Graph versions by name, ascending by version.
    var graphs: [String: [GraphVersionRecord]] = [:]
    var graphConcurrency: [String: Int] = [:]
    var jobs: [JobID: JobRecord] = [:]
    /// Ids of `jobs`, ascending (each new id is above every earlier one, so appending keeps
    /// the order).
    var jobOrder: [JobID] = []
    /// The highest job id given out when it is above `lastAppliedIndex`, else 0. A new job's
    /// id is `max(entry index, lastJobID + 1)`: a submit's id is its entry's index unless
    /// child jobs took ids at or above it.
    var lastJobID: UInt64 = 0
    /// Child-job work an entry started, settled before `apply` returns (always empty
    /// between entries).
    var childWork: [ChildWork] = []
    /// Ready and retrying tasks, highest priority first, FIFO within a priority.
    var readyQueue: [ReadyEntry] = []
    var nextReadySequence: UInt64 = 1
    /// Tasks with a lease, ascending.
    var leasedTasks: [TaskID] = []
    var workers: [WorkerID: WorkerRecord] = [:]
    var idempotency: [String: IdempotencyRecord] = [:]
    /// Keys of `idempotency` in submit order, which (timestamps never decreasing, one TTL)
    /// is also expiry order.
    var idempotencyOrder: [String] = []
    /// Per priority, the fairness key served last where several keys competed: round-robin
    /// resumes after it. Dropped when the priority has no ready task left.
    var fairnessCursor: [Int: String] = [:]
    var keyConcurrency: [String: Int] = [:]
    /// The provider governor's buckets, by provider key.
    var providers: [String: ProviderBucket] = [:]
    /// Vector collections and where their shards' replicas are placed.
    var shardMap = ShardMap()

    public init(limits: ClusterLimits = ClusterLimits()) {
        self.limits = limits
    }

    /// Applies one committed command. Refused commands change nothing, except that an
    /// oversized output fails its task (`outputTooLarge`).
    public mutating func apply(_ command: ClusterCommand, context: CommandContext) -> ClusterResult {
        lastAppliedIndex = max(lastAppliedIndex, context.index)
        let result = applyCommand(command, context: context)
        settleChildJobs(context: context)
        // Canonical form: an id at or below the applied index says nothing the next entry's
        // index does not (ids of later entries start above it), so it is kept as 0.
        if lastJobID <= lastAppliedIndex { lastJobID = 0 }
        return result
    }

    private mutating func applyCommand(_ command: ClusterCommand, context: CommandContext) -> ClusterResult {
        switch command {
        case .registerGraph(let register): return registerGraph(register, context: context)
        case .setGraphConcurrency(let graph, let maxLeased): return setGraphConcurrency(graph, maxLeased)
        case .submitJob(let submit): return submitJob(submit, context: context)
        case .leaseTasks(let lease): return leaseTasks(lease, context: context)
        case .completeTask(let complete): return completeTask(complete, context: context)
        case .failTask(let failure): return failTask(failure, context: context)
        case .expireLeases(let leases): return expireLeases(leases, context: context)
        case .cancelJob(let job): return cancelJob(job, context: context)
        case .resumeJob(let resume): return resumeJob(resume, context: context)
        case .registerWorker(let register): return registerWorker(register, context: context)
        case .deregisterWorker(let worker):
            guard workers[worker] != nil else { return .failure(ClusterError(.unknownWorker, "worker \(worker) is not registered")) }
            return removeWorkers([worker], reason: "worker \(worker) deregistered", context: context)
        case .expireWorkers(let ids): return removeWorkers(ids, reason: "worker heartbeats stopped", context: context)
        case .evictJobs(let ids): return evictJobs(ids)
        case .setKeyConcurrency(let key, let maxLeased): return setKeyConcurrency(key, maxLeased)
        case .setProviderRate(let provider, let rate, let burst): return setProviderRate(provider, tokensPerSecond: rate, burst: burst, context: context)
        case .throttleProvider(let provider, let until): return throttleProvider(provider, untilMillis: until, context: context)
        case .createCollection(let create): return createCollection(create, context: context)
        case .dropCollection(let name): return dropCollection(name)
        case .moveShard(let move): return moveShard(move)
        case .finishShardMove(let report): return finishShardMove(report)
        case .rebalanceShards(let request): return rebalanceShards(request)
        case .completeTasks(let completions): return completeTasks(completions, context: context)
        case .refuseShardReplica(let refusal): return refuseShardReplica(refusal)
        }
    }

    /// Applies command bytes (`encodeCommand`) and returns the encoded result (`encodeResult`).
    public mutating func apply(commandBytes: [UInt8], context: CommandContext) -> [UInt8] {
        applyReturningResult(commandBytes: commandBytes, context: context).bytes
    }

    /// `apply(commandBytes:context:)`, also returning the result it encoded (so a caller that
    /// looks at it, such as the leader's metrics, need not decode the bytes again).
    public mutating func applyReturningResult(commandBytes: [UInt8], context: CommandContext) -> (result: ClusterResult, bytes: [UInt8]) {
        let result: ClusterResult
        do {
            result = apply(try Self.decodeCommand(commandBytes), context: context)
        } catch {
            lastAppliedIndex = max(lastAppliedIndex, context.index)
            result = .failure(error)
        }
        return (result, Self.encodeResult(result))
    }
}

// MARK: - Shared helpers for the command files

extension ClusterState {
    func graphRecord(_ reference: GraphReference) -> GraphVersionRecord? {
        graphs[reference.name]?.first { $0.info.version == reference.version }
    }

    /// Appends `change` to the job's event for this entry (one event per job per entry).
    static func record(_ change: JobChange, in job: inout JobRecord, context: CommandContext, limits: ClusterLimits) {
        job.updatedMillis = context.timestampMillis
        if let last = job.events.indices.last, job.events[last].index == context.index {
            job.events[last].changes.append(change)
            return
        }
        job.events.append(JobEvent(index: context.index, timestampMillis: context.timestampMillis, changes: [change]))
        if job.events.count > limits.maxEventsPerJob {
            let dropped = job.events.count - limits.maxEventsPerJob
            job.eventsDroppedThrough = job.events[dropped - 1].index
            job.events.removeFirst(dropped)
        }
    }

    mutating func enqueue(_ task: TaskID, priority: Int, readyAtMillis: UInt64) {
        let entry = ReadyEntry(priority: priority, sequence: nextReadySequence, task: task, readyAtMillis: readyAtMillis)
        nextReadySequence += 1
        var low = 0
        var high = readyQueue.count
        while low < high {
            let middle = (low + high) / 2
            if readyQueue[middle].precedes(entry) { low = middle + 1 } else { high = middle }
        }
        readyQueue.insert(entry, at: low)
    }

    mutating func dequeue(_ task: TaskID) {
        if let position = readyQueue.firstIndex(where: { $0.task == task }) { readyQueue.remove(at: position) }
    }

    mutating func addLeased(_ task: TaskID) {
        let position = insertionPoint(of: task)
        if position == leasedTasks.count || leasedTasks[position] != task { leasedTasks.insert(task, at: position) }
    }

    mutating func removeLeased(_ task: TaskID) {
        let position = insertionPoint(of: task)
        if position < leasedTasks.count, leasedTasks[position] == task { leasedTasks.remove(at: position) }
    }

    private func insertionPoint(of task: TaskID) -> Int {
        var low = 0
        var high = leasedTasks.count
        while low < high {
            let middle = (low + high) / 2
            if leasedTasks[middle] < task { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The canonical byte count of a value (for the size caps).
    static func encodedSize(of value: some Encodable) -> Int {
        do {
            return try CanonicalEncoder.encode(value).count
        } catch {
            preconditionFailure("canonical encoding cannot fail for state values: \(error)")
        }
    }
}
