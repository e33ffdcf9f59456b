import NakshaCore
import NakshaGraph

/// One change to `ClusterState`, as proposed to the replicated log (format version 1).
///
/// Adding a case or an optional field is compatible; renaming or removing one is not (the
/// canonical encoding keys cases and fields by name).
public enum ClusterCommand: Sendable, Hashable, Codable {
    /// Registers a graph version (idempotent: the same content under the same name and
    /// version is the same version, so every coordinator may register its graphs at start).
    case registerGraph(RegisterGraph)
    /// Sets (or with nil clears) the most tasks of one graph name leased at once.
    case setGraphConcurrency(graph: String, maxLeasedTasks: Int?)
    case submitJob(SubmitJob)
    /// Grants up to `max` ready tasks to a worker, in priority order.
    case leaseTasks(LeaseTasks)
    case completeTask(CompleteTask)
    case failTask(FailTask)
    /// Expires leases: the listed ones (when the leader saw no heartbeat), or with nil every
    /// lease whose recorded expiry is at or before the entry's timestamp.
    case expireLeases([LeaseReference]?)
    case cancelJob(JobID)
    case resumeJob(ResumeJob)
    case registerWorker(RegisterWorker)
    /// A worker leaving cleanly: its leases are released (as expired).
    case deregisterWorker(WorkerID)
    /// Workers the leader stopped hearing from: removed, their leases released.
    case expireWorkers([WorkerID])
    /// Removes finished jobs (after the archiver stored them); others are left alone.
    case evictJobs([JobID])
    /// Sets (or with nil clears) the most tasks of one fairness key (`JobRecord.resolvedFairnessKey`:
    /// the job's `fairnessKey`, or its graph name when it has none) leased at once.
    case setKeyConcurrency(key: String, maxLeasedTasks: Int?)
    /// Sets the provider governor's token bucket for one provider key (see
    /// `ClusterState.providerKey(of:)`): it refills at `tokensPerSecond` (0.001 … 1,000,000)
    /// up to `burst` tokens (1 … 1,000,000), and every task of that provider costs one token
    /// when leased. `tokensPerSecond == .infinity` removes the rate limit (a throttle stays).
    case setProviderRate(provider: String, tokensPerSecond: Double, burst: Int)
    /// Closes a provider's bucket until `untilMillis` (leader time), as a worker's `429` with
    /// `Retry-After` asks: no task of that provider is leased before then. A later close
    /// wins over an earlier one (reports arriving out of order never reopen a bucket early).
    case throttleProvider(provider: String, untilMillis: UInt64)
    /// Creates a vector collection and places its shards' replicas on the registered workers
    /// (idempotent: the same shape again is the same collection).
    case createCollection(CreateCollection)
    /// Drops a collection from the shard map.
    case dropCollection(String)
    /// Starts moving one replica (`naksha shards move`).
    case moveShard(MoveShard)
    /// A move's target is ready: it takes the source's place.
    case finishShardMove(FinishShardMove)
    /// Starts the moves that even the map out (`naksha shards rebalance`).
    case rebalanceShards(RebalanceShards)
    /// Several completions in one entry (a worker finishing a batch of tasks): each is applied
    /// as `completeTask`, in order, and answered on its own — a stale one is refused without
    /// affecting the others. 1 … `ClusterLimits.maxCompletionsPerEntry`.
    case completeTasks([CompleteTask])
    /// A worker could not hold a replica placed on it (over its memory budget): the replica
    /// is placed elsewhere, never again on that worker while it keeps its budget.
    case refuseShardReplica(RefuseShardReplica)

    /// The command's name, for logs and metrics labels.
    public var name: String {
        switch self {
        case .registerGraph: return "register_graph"
        case .setGraphConcurrency: return "set_graph_concurrency"
        case .submitJob: return "submit_job"
        case .leaseTasks: return "lease_tasks"
        case .completeTask: return "complete_task"
        case .failTask: return "fail_task"
        case .expireLeases: return "expire_leases"
        case .cancelJob: return "cancel_job"
        case .resumeJob: return "resume_job"
        case .registerWorker: return "register_worker"
        case .deregisterWorker: return "deregister_worker"
        case .expireWorkers: return "expire_workers"
        case .evictJobs: return "evict_jobs"
        case .setKeyConcurrency: return "set_key_concurrency"
        case .setProviderRate: return "set_provider_rate"
        case .throttleProvider: return "throttle_provider"
        case .createCollection: return "create_collection"
        case .dropCollection: return "drop_collection"
        case .moveShard: return "move_shard"
        case .finishShardMove: return "finish_shard_move"
        case .rebalanceShards: return "rebalance_shards"
        case .completeTasks: return "complete_tasks"
        case .refuseShardReplica: return "refuse_shard_replica"
        }
    }
}

public struct RegisterGraph: Sendable, Hashable, Codable {
    /// Must equal the `name:` in the YAML.
    public var name: String
    public var yaml: String
    /// A digest of `yaml` computed by the proposer (for example SHA-256 hex).
    public var contentHash: String

    public init(name: String, yaml: String, contentHash: String) {
        self.name = name
        self.yaml = yaml
        self.contentHash = contentHash
    }
}

/// Which graph a job runs.
public enum GraphSource: Sendable, Hashable, Codable {
    /// A registered graph; nil version means the highest registered version.
    case named(String, version: Int?)
    /// A definition sent with the job; it is registered as `registerGraph` would.
    case inline(yaml: String, contentHash: String)
}

public struct SubmitJob: Sendable, Hashable, Codable {
    public var graph: GraphSource
    public var input: [String: GraphValue]
    /// Same key and same body within the TTL: the same job. Same key, other body: a conflict.
    public var idempotencyKey: String?
    /// Higher runs first; FIFO within a priority.
    public var priority: Int
    /// Within a priority, tasks are leased round-robin across fairness keys (FIFO within a
    /// key); a job without one is keyed by its graph name.
    public var fairnessKey: String?

    public init(graph: GraphSource, input: [String: GraphValue] = [:], idempotencyKey: String? = nil, priority: Int = 0, fairnessKey: String? = nil) {
        self.graph = graph
        self.input = input
        self.idempotencyKey = idempotencyKey
        self.priority = priority
        self.fairnessKey = fairnessKey
    }
}

public struct LeaseTasks: Sendable, Hashable, Codable {
    public var worker: WorkerID
    public var max: Int
    public var leaseDurationMillis: UInt64

    public init(worker: WorkerID, max: Int, leaseDurationMillis: UInt64) {
        self.worker = worker
        self.max = max
        self.leaseDurationMillis = leaseDurationMillis
    }
}

public struct CompleteTask: Sendable, Hashable, Codable {
    public var task: TaskID
    public var token: LeaseToken
    public var output: [String: GraphValue]
    /// What the task spent at a provider (tokens, cost), recorded with its output.
    public var usage: TaskUsage?

    public init(task: TaskID, token: LeaseToken, output: [String: GraphValue], usage: TaskUsage? = nil) {
        self.task = task
        self.token = token
        self.output = output
        self.usage = usage
    }
}

/// Tokens and cost a task spent at a model provider. Cost is in millionths of a US dollar, an
/// integer, so that the replicated state never holds a float that rounds differently.
public struct TaskUsage: Sendable, Hashable, Codable {
    public var model: String
    public var promptTokens: Int
    public var completionTokens: Int
    public var costMicroUSD: Int

    public init(model: String, promptTokens: Int, completionTokens: Int = 0, costMicroUSD: Int = 0) {
        self.model = model
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.costMicroUSD = costMicroUSD
    }
}

public struct FailTask: Sendable, Hashable, Codable {
    public var task: TaskID
    public var token: LeaseToken
    public var reason: String
    /// A retryable failure backs off and is tried again (up to the node's `maxAttempts`);
    /// any other fails the job.
    public var retryable: Bool

    public init(task: TaskID, token: LeaseToken, reason: String, retryable: Bool) {
        self.task = task
        self.token = token
        self.reason = reason
        self.retryable = retryable
    }
}

/// One lease of one task.
public struct LeaseReference: Sendable, Hashable, Codable, Comparable {
    public var task: TaskID
    public var token: LeaseToken

    public init(task: TaskID, token: LeaseToken) {
        self.task = task
        self.token = token
    }

    public static func < (lhs: LeaseReference, rhs: LeaseReference) -> Bool { (lhs.task, lhs.token) < (rhs.task, rhs.token) }
}

public struct ResumeJob: Sendable, Hashable, Codable {
    public var job: JobID
    public var input: [String: GraphValue]

    public init(job: JobID, input: [String: GraphValue] = [:]) {
        self.job = job
        self.input = input
    }
}

public struct RegisterWorker: Sendable, Hashable, Codable {
    public var worker: WorkerID
    /// The most tasks leased to the worker at once (at least 1).
    public var capacity: Int
    public var labels: [String: String]
    public var memoryBudgetBytes: UInt64
    /// Where the worker's shard endpoint listens (`HOST:PORT`, its actor system), so routers
    /// can ask it for the shards placed on it; nil for a worker that serves no shards. Absent
    /// from the encoding when nil, so entries written before it existed read back unchanged.
    public var shardAddress: String?

    public init(worker: WorkerID, capacity: Int, labels: [String: String] = [:], memoryBudgetBytes: UInt64 = 0, shardAddress: String? = nil) {
        self.worker = worker
        self.capacity = capacity
        self.labels = labels
        self.memoryBudgetBytes = memoryBudgetBytes
        self.shardAddress = shardAddress
    }
}
