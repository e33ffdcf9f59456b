import NakshaCore
import NakshaGraph

/// What applying a command returns to its proposer.
public typealias ClusterResult = Result<ClusterOutcome, ClusterError>

/// The outcome of a command that was accepted.
public enum ClusterOutcome: Sendable, Hashable, Codable {
    /// `created` is false when the same content was registered before.
    case graphRegistered(GraphVersionInfo, created: Bool)
    case graphConcurrencySet(graph: String, maxLeasedTasks: Int?)
    /// `existing` is true when an idempotency key named an earlier job; `status` is nil when
    /// that job was evicted (read it from the archive).
    case jobSubmitted(JobID, status: JobStatus?, existing: Bool)
    case tasksLeased([TaskAssignment])
    case taskCompleted(TaskID, jobStatus: JobStatus)
    /// The task's new state (`retrying`, `failed` or `deadLettered`) and, when retrying, the
    /// earliest time it is leased again.
    case taskFailed(TaskID, state: TaskState, retryAtMillis: UInt64?, jobStatus: JobStatus)
    case leasesExpired([TaskID])
    case jobCancelled(JobID)
    case jobResumed(JobID, status: JobStatus)
    case workerRegistered(WorkerID)
    /// The tasks whose leases the worker held and that were released.
    case workersRemoved([WorkerID], releasedTasks: [TaskID])
    case jobsEvicted([JobID])
    case keyConcurrencySet(key: String, maxLeasedTasks: Int?)
    /// `tokensPerSecond` is nil when the rate limit was removed.
    case providerRateSet(provider: String, tokensPerSecond: Double?, burst: Int?)
    case providerThrottled(provider: String, untilMillis: UInt64)
    /// The collection exists (`created` false when it already did), at shard-map `epoch`.
    case collectionCreated(String, epoch: UInt64, created: Bool)
    case collectionDropped(String, epoch: UInt64)
    /// Moves started (or already in progress, for a repeated `moveShard`), at `epoch`.
    case shardMovesStarted([PlannedShardMove], epoch: UInt64)
    /// The move of a shard finished (`finished` false when it already had).
    case shardMoveFinished(ShardKey, epoch: UInt64, finished: Bool)
    /// Per completion of a `completeTasks`, in order: accepted (with its job's status) or refused.
    case tasksCompleted([TaskCompletionOutcome])
    /// A refused replica left its worker (`removed` false when it already had), at `epoch`;
    /// `replacedBy` is the worker it was placed on instead, nil when none could take it.
    case shardReplicaRefused(ShardKey, epoch: UInt64, replacedBy: WorkerID?, removed: Bool)
}

/// One completion of a batch: `jobStatus` when it was recorded, `error` when it was refused
/// (a stale lease, an unknown task, an output over its limit). Exactly one is set.
public struct TaskCompletionOutcome: Sendable, Hashable, Codable {
    public var task: TaskID
    public var jobStatus: JobStatus?
    public var error: ClusterError?

    public init(task: TaskID, jobStatus: JobStatus? = nil, error: ClusterError? = nil) {
        self.task = task
        self.jobStatus = jobStatus
        self.error = error
    }
}

/// One registered graph version.
public struct GraphVersionInfo: Sendable, Hashable, Codable {
    public var name: String
    public var version: Int
    public var contentHash: String
    public var registeredMillis: UInt64

    public var reference: GraphReference { GraphReference(name: name, version: version) }
}

/// A task granted to a worker: everything it needs to run the node.
public struct TaskAssignment: Sendable, Hashable, Codable {
    public var task: TaskID
    public var token: LeaseToken
    public var expiresMillis: UInt64
    public var graph: GraphReference
    public var contentHash: String
    public var graphTask: GraphTaskID
    public var item: GraphValue?
    public var attempt: Int
    /// The job's state values when the lease was granted.
    public var state: [String: GraphValue]
    /// The provider key the node is governed by (`ClusterState.providerKey(of:)`): the key a
    /// worker names in `throttleProvider` when the provider answers `429`. Nil for nodes
    /// that call no provider.
    public var provider: String? = nil

    public var node: String { graphTask.node }
    public var lease: LeaseReference { LeaseReference(task: task, token: token) }
}
