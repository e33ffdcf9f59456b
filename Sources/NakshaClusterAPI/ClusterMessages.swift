import NakshaCore
import NakshaGraph
import NakshaState

/// A worker introducing itself (and again after a coordinator restart or leader change):
/// its id, capacity (tasks at once), labels and memory budget — the state's own command.
public typealias WorkerRegistration = RegisterWorker

/// A long-poll for work: up to `max` tasks, waiting up to `waitMillis` for some to be ready.
public struct LeaseRequest: Sendable, Codable, Equatable {
    public var worker: WorkerID
    public var max: Int
    public var waitMillis: UInt64

    public init(worker: WorkerID, max: Int, waitMillis: UInt64) {
        self.worker = worker
        self.max = max
        self.waitMillis = waitMillis
    }
}

/// The leases a worker holds, to keep them alive. The answer lists those it must stop
/// (cancelled jobs, leases that expired or were re-granted).
public struct WorkerHeartbeat: Sendable, Codable, Equatable {
    public var worker: WorkerID
    public var leases: [LeaseReference]

    public init(worker: WorkerID, leases: [LeaseReference]) {
        self.worker = worker
        self.leases = leases
    }
}

public struct HeartbeatAnswer: Sendable, Codable, Equatable {
    /// Leases that are no longer current: stop those tasks and report nothing for them.
    public var stop: [LeaseReference]
    /// The lease duration the leader applies (a worker heartbeats at a third of it).
    public var leaseDurationMillis: UInt64

    public init(stop: [LeaseReference], leaseDurationMillis: UInt64) {
        self.stop = stop
        self.leaseDurationMillis = leaseDurationMillis
    }
}

/// A task's output, under the lease (task and token) it ran with — the state's own command.
public typealias TaskCompletion = CompleteTask

/// One completion of `completeBatch`: recorded (`errorCode` nil) or refused with the code a
/// single `complete` would have thrown (`staleLease`: drop the result; `unknownTask`, …).
public struct TaskCompletionResult: Sendable, Codable, Equatable {
    public var task: TaskID
    public var errorCode: String?
    public var message: String?

    public init(task: TaskID, errorCode: String? = nil, message: String? = nil) {
        self.task = task
        self.errorCode = errorCode
        self.message = message
    }
}

/// A task that failed under its lease, classified retryable or not — the state's own command.
public typealias TaskFailureReport = FailTask

/// A worker's report that a provider answered `429`: every worker stops leasing that
/// provider's tasks until `retryAfterMillis` from now (the leader's clock).
public struct ProviderThrottle: Sendable, Codable, Equatable {
    public var worker: WorkerID
    /// The provider key of the task's node (`TaskAssignment.provider`).
    public var provider: String
    public var retryAfterMillis: UInt64

    public init(worker: WorkerID, provider: String, retryAfterMillis: UInt64) {
        self.worker = worker
        self.provider = provider
        self.retryAfterMillis = retryAfterMillis
    }
}

/// A graph version's definition, as workers fetch it by content hash.
public struct GraphSourceText: Sendable, Codable, Equatable {
    public var reference: GraphReference
    public var contentHash: String
    public var yaml: String

    public init(reference: GraphReference, contentHash: String, yaml: String) {
        self.reference = reference
        self.contentHash = contentHash
        self.yaml = yaml
    }
}

/// Why the cluster refused a worker's call: a stable code and what to do.
public struct ClusterAPIError: Error, Sendable, Codable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// The peer address of the leader, when the call should go there.
    public var leaderAddress: String?

    public init(code: String, message: String, leaderAddress: String? = nil) {
        self.code = code
        self.message = message
        self.leaderAddress = leaderAddress
    }

    /// This coordinator does not lead: call the leader (`leaderAddress`) instead.
    public static let notLeader = "notLeader"
    /// The lease is not current (expired, re-granted, or the job was cancelled): the
    /// completion or failure was not recorded.
    public static let staleLease = "staleLease"
    /// The worker is not registered (for example the leader expired it after missed
    /// heartbeats): register again, then lease.
    public static let unknownWorker = "unknownWorker"

    public var description: String { "\(code): \(message)" }
}

/// What a coordinator does for the workers' calls (`ClusterEndpoint` forwards to it).
public protocol ClusterBackend: Sendable {
    func register(_ registration: WorkerRegistration) async throws -> HeartbeatAnswer
    func heartbeat(_ heartbeat: WorkerHeartbeat) async throws -> HeartbeatAnswer
    func lease(_ request: LeaseRequest) async throws -> [TaskAssignment]
    func complete(_ completion: TaskCompletion) async throws
    func completeBatch(_ completions: [TaskCompletion]) async throws -> [TaskCompletionResult]
    func fail(_ failure: TaskFailureReport) async throws
    func graph(contentHash: String) async throws -> GraphSourceText
    func deregister(_ worker: WorkerID) async throws
    func throttle(_ report: ProviderThrottle) async throws
    func shardAssignments(_ request: ShardAssignmentRequest) async throws -> ShardAssignments
    func shardReady(_ report: ShardReadyReport) async throws
    func shardRefused(_ report: ShardRefusalReport) async throws
    func vectorUpsert(_ call: VectorUpsertCall) async throws -> VectorWriteResult
    func vectorQuery(_ call: VectorQueryCall) async throws -> VectorQueryAnswer
}
