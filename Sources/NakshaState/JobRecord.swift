import NakshaCore
import NakshaGraph

/// Where a job stands.
public enum JobStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Submitted; no task leased yet.
    case queued
    /// At least one task was leased.
    case running
    /// Paused at an interrupt; `resumeJob` continues it.
    case interrupted
    case succeeded
    case failed
    case cancelled

    /// Succeeded, failed or cancelled: nothing changes any more, and the job may be evicted.
    public var isFinished: Bool {
        switch self {
        case .succeeded, .failed, .cancelled: return true
        case .queued, .running, .interrupted: return false
        }
    }
}

/// Where one task stands.
public enum TaskState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Waiting in the ready queue.
    case ready
    /// Leased to a worker.
    case leased
    /// Its output is recorded.
    case succeeded
    /// Failed or its lease expired; waiting in the ready queue for its backoff to pass.
    case retrying
    /// Failed without retry (not retryable, or its output was refused).
    case failed
    /// Failed on its last allowed attempt.
    case deadLettered
    /// Held by an interrupt before its node.
    case interrupted
    /// Dropped because its job was cancelled or failed.
    case cancelled
    /// A `subgraph` node's task: its child job runs (`TaskRecord.child`); the task ends with it.
    case waiting

    /// A state the task never leaves.
    public var isFinal: Bool {
        switch self {
        case .succeeded, .failed, .deadLettered, .cancelled: return true
        case .ready, .leased, .retrying, .interrupted, .waiting: return false
        }
    }
}

/// A task's current lease.
public struct TaskLease: Sendable, Hashable, Codable {
    public var worker: WorkerID
    public var token: LeaseToken
    public var expiresMillis: UInt64
}

/// Why a job failed.
public struct JobFailure: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A planner failure code (`node_failed` …), `task_failed`, `output_too_large` or `state_too_large`.
    public var code: String
    public var message: String
    /// The task involved, when there is one.
    public var task: TaskID?

    public var description: String { "\(code): \(message)" }
}

/// One task of a job, with its timings (leader timestamps from the log).
public struct TaskRecord: Sendable, Hashable, Codable {
    public let id: TaskID
    public let graphTask: GraphTaskID
    public internal(set) var item: GraphValue?
    /// 1 for the first try, +1 per retry.
    public internal(set) var attempt: Int
    public internal(set) var state: TaskState
    public internal(set) var lease: TaskLease?
    /// Recorded once, when the task succeeds.
    public internal(set) var output: [String: GraphValue]?
    /// What it spent at a provider, recorded with its output.
    public internal(set) var usage: TaskUsage? = nil
    /// The last failure's reason.
    public internal(set) var error: String?
    public internal(set) var createdMillis: UInt64
    /// The earliest time the task may be leased (later than `createdMillis` while backing off).
    public internal(set) var readyAtMillis: UInt64
    /// When its latest lease was granted.
    public internal(set) var startedMillis: UInt64?
    public internal(set) var finishedMillis: UInt64?
    /// The child job of a `subgraph` task (its latest attempt's), once started.
    public internal(set) var child: JobID? = nil

    public var node: String { graphTask.node }
}

/// One job: its graph version, input, planner checkpoint, tasks and event log.
public struct JobRecord: Sendable, Hashable, Codable {
    public let id: JobID
    /// The graph version the job is pinned to.
    public let graph: GraphReference
    public let contentHash: String
    public let input: [String: GraphValue]
    public let priority: Int
    public let fairnessKey: String?
    public let idempotencyKey: String?
    public internal(set) var status: JobStatus
    /// The planner's checkpoint (its `values` are the job's state).
    public internal(set) var planner: PlannerState
    /// Every task in the order first planned; `tasks[n - 1].id.number == n`.
    public internal(set) var tasks: [TaskRecord]
    public internal(set) var error: JobFailure?
    public internal(set) var createdMillis: UInt64
    public internal(set) var updatedMillis: UInt64
    /// When the first task was leased.
    public internal(set) var startedMillis: UInt64?
    public internal(set) var finishedMillis: UInt64?
    /// The latest events (at most `ClusterLimits.maxEventsPerJob`), oldest first.
    public internal(set) var events: [JobEvent]
    /// The index of the newest event dropped to keep `events` bounded (0: none dropped).
    public internal(set) var eventsDroppedThrough: UInt64
    /// For a child job: the parent's `subgraph` task it runs for. The parent task ends with
    /// this job (its output: this job's final values of the keys the node writes).
    public internal(set) var parent: TaskID? = nil

    /// The job's state values.
    public var values: [String: GraphValue] { planner.values }

    /// The key its tasks are scheduled fairly by (and limited by `setKeyConcurrency`): the
    /// job's `fairnessKey`, or its graph name when it has none (so a job keyed by a graph's
    /// name shares that graph's turn).
    public var resolvedFairnessKey: String { fairnessKey ?? graph.name }

    /// The record of the task with `graphTask`, searching the newest first (the current
    /// step's tasks are at the end).
    func taskIndex(of graphTask: GraphTaskID) -> Int? {
        tasks.lastIndex { $0.graphTask == graphTask }
    }
}

/// What changed in a job at one log entry.
public enum JobChange: Sendable, Hashable, Codable {
    case status(JobStatus)
    case task(TaskID, state: TaskState, attempt: Int)
}

/// The changes one log entry made to one job. `index` is the entry's Raft index, unique per
/// job, so a stream of events resumes after the last index it delivered with no gap and no
/// duplicate (unless the job dropped events past that index: see `JobEventPage.missedSome`).
public struct JobEvent: Sendable, Hashable, Codable {
    public let index: UInt64
    public let timestampMillis: UInt64
    public internal(set) var changes: [JobChange]
}

/// A worker as registered.
public struct WorkerRecord: Sendable, Hashable, Codable {
    public let id: WorkerID
    public internal(set) var capacity: Int
    public internal(set) var labels: [String: String]
    public internal(set) var memoryBudgetBytes: UInt64
    public internal(set) var registeredMillis: UInt64
    /// Where its shard endpoint listens (`RegisterWorker.shardAddress`).
    public internal(set) var shardAddress: String?
}

/// A job's place in the ready queue. The queue is sorted by priority (higher first), then
/// by `sequence` (the order tasks became ready), which makes it FIFO within a priority (and
/// within a fairness key: leases take the keys of a priority round-robin).
struct ReadyEntry: Sendable, Hashable, Codable {
    var priority: Int
    var sequence: UInt64
    var task: TaskID
    var readyAtMillis: UInt64

    func precedes(_ other: ReadyEntry) -> Bool {
        (other.priority, sequence) < (priority, other.sequence)
    }
}

/// A remembered idempotency key.
struct IdempotencyRecord: Sendable, Hashable, Codable {
    var key: String
    var job: JobID
    /// FNV-1a of the submit body's canonical bytes and its length.
    var bodyHash: UInt64
    var bodyLength: Int
    var expiresMillis: UInt64
}
