import Distributed
import NakshaActors
import NakshaCore
import NakshaState

/// The worker-facing interface of a coordinator, a distributed actor with the well-known name
/// `cluster` on the coordinator's peer port. Workers resolve it on the leader (a follower
/// answers `ClusterAPIError.notLeader` with the leader's address) and call:
/// `register`, `heartbeat`, `lease` (a long-poll for a batch), `complete`, `fail`, `graph`,
/// `deregister`, `throttle`, `shardAssignments`, `shardReady`, `shardRefused`, `vectorUpsert`, `vectorQuery`
/// and `completeBatch`.
///
/// It lives in this shared module so that workers never import the coordinator. Its
/// dispatch table (`remoteCalls`) maps each function's mangled name; `ClusterEndpointTests`
/// calls every function remotely, so a name that does not match fails a test. Add functions
/// rather than change them: a changed signature is a new name on the wire.
public distributed actor ClusterEndpoint: RemoteCallable {
    public typealias ActorSystem = NakshaActorSystem
    public static let actorName = "cluster"

    let backend: any ClusterBackend

    /// Starts the endpoint under the well-known name `cluster` on `system`.
    public static func start(backend: any ClusterBackend, system: NakshaActorSystem) -> ClusterEndpoint {
        NakshaActorSystem.$actorName.withValue(actorName) { ClusterEndpoint(backend: backend, actorSystem: system) }
    }

    /// The endpoint of the coordinator listening at `address`.
    public static func at(_ address: NodeAddress, system: NakshaActorSystem) throws -> ClusterEndpoint {
        try ClusterEndpoint.resolve(id: .wellKnown(actorName, on: address), using: system)
    }

    private init(backend: any ClusterBackend, actorSystem: NakshaActorSystem) {
        self.backend = backend
        self.actorSystem = actorSystem
    }

    public distributed func register(_ registration: WorkerRegistration) async throws -> HeartbeatAnswer {
        try await backend.register(registration)
    }

    public distributed func heartbeat(_ heartbeat: WorkerHeartbeat) async throws -> HeartbeatAnswer {
        try await backend.heartbeat(heartbeat)
    }

    public distributed func lease(_ request: LeaseRequest) async throws -> [TaskAssignment] {
        try await backend.lease(request)
    }

    public distributed func complete(_ completion: TaskCompletion) async throws {
        try await backend.complete(completion)
    }

    /// Several completions in as few log entries as fit (256 an entry): one answer per
    /// completion, in order. Throws when nothing is known (not the leader, the first entry's
    /// outcome unknown): repeat the batch; those already recorded then answer `staleLease`,
    /// which means their output is in. When a later entry fails, the answers of the recorded
    /// entries come back, with `outcomeUnknown` for that entry's completions and `notProcessed`
    /// for the ones after it.
    public distributed func completeBatch(_ completions: [TaskCompletion]) async throws -> [TaskCompletionResult] {
        try await backend.completeBatch(completions)
    }

    public distributed func fail(_ failure: TaskFailureReport) async throws {
        try await backend.fail(failure)
    }

    public distributed func graph(contentHash: String) async throws -> GraphSourceText {
        try await backend.graph(contentHash: contentHash)
    }

    /// A worker leaving cleanly (SIGTERM after its grace period): its leases are released at
    /// once, so their tasks are leased again without waiting for expiry.
    public distributed func deregister(_ worker: WorkerID) async throws {
        try await backend.deregister(worker)
    }

    /// A provider answered `429` with `Retry-After`: its bucket closes for every worker.
    public distributed func throttle(_ report: ProviderThrottle) async throws {
        try await backend.throttle(report)
    }

    /// The replicas the shard map places on the calling worker (a long poll on the epoch).
    /// Any coordinator answers, from its applied state.
    public distributed func shardAssignments(_ request: ShardAssignmentRequest) async throws -> ShardAssignments {
        try await backend.shardAssignments(request)
    }

    /// A move's target has loaded its replica and caught up: the move finishes (the target
    /// takes the source's place). Only the leader serves it.
    public distributed func shardReady(_ report: ShardReadyReport) async throws {
        try await backend.shardReady(report)
    }

    /// A replica the worker refused (over its memory budget): the leader takes it off the
    /// worker and places it on another (`refuseShardReplica`).
    public distributed func shardRefused(_ report: ShardRefusalReport) async throws {
        try await backend.shardRefused(report)
    }

    /// Writes vectors into a sharded collection through the coordinator's router (any
    /// coordinator serves it). `unknownCollection` when the shard map has no such collection.
    public distributed func vectorUpsert(_ call: VectorUpsertCall) async throws -> VectorWriteResult {
        try await backend.vectorUpsert(call)
    }

    /// Queries a sharded collection through the coordinator's router (any coordinator).
    public distributed func vectorQuery(_ call: VectorQueryCall) async throws -> VectorQueryAnswer {
        try await backend.vectorQuery(call)
    }

    public static let remoteCalls: [String: RemoteCall<ClusterEndpoint>] = [
        "$s16NakshaClusterAPI0B8EndpointC13completeBatchySayAA20TaskCompletionResultVGSay0A5State08CompleteG0VGYaKFTE": .returning { endpoint, arguments in
            try await endpoint.completeBatch(arguments.decodeNextArgument())
        },
        "$s16NakshaClusterAPI0B8EndpointC8registeryAA15HeartbeatAnswerV0A5State14RegisterWorkerVYaKFTE": .returning { endpoint, arguments in try await endpoint.register(arguments.decodeNextArgument()) },
        "$s16NakshaClusterAPI0B8EndpointC9heartbeatyAA15HeartbeatAnswerVAA06WorkerF0VYaKFTE": .returning { endpoint, arguments in try await endpoint.heartbeat(arguments.decodeNextArgument()) },
        "$s16NakshaClusterAPI0B8EndpointC5leaseySay0A5State14TaskAssignmentVGAA12LeaseRequestVYaKFTE": .returning { endpoint, arguments in try await endpoint.lease(arguments.decodeNextArgument()) },
        "$s16NakshaClusterAPI0B8EndpointC8completeyy0A5State12CompleteTaskVYaKFTE": .void { endpoint, arguments in try await endpoint.complete(arguments.decodeNextArgument()) },
        "$s16NakshaClusterAPI0B8EndpointC4failyy0A5State8FailTaskVYaKFTE": .void { endpoint, arguments in try await endpoint.fail(arguments.decodeNextArgument()) },
        "$s16NakshaClusterAPI0B8EndpointC5graph11contentHashAA15GraphSourceTextVSS_tYaKFTE": .returning { endpoint, arguments in try await endpoint.graph(contentHash: arguments.decodeNextArgument()) },
        "$s16NakshaClusterAPI0B8EndpointC10deregisteryy0A4Core8WorkerIDVYaKFTE": .void { endpoint, arguments in try await endpoint.deregister(arguments.decodeNextArgument()) },
        "$s16NakshaClusterAPI0B8EndpointC8throttleyyAA16ProviderThrottleVYaKFTE": .void { endpoint, arguments in try await endpoint.throttle(arguments.decodeNextArgument()) },
        "$s16NakshaClusterAPI0B8EndpointC16shardAssignmentsyAA05ShardF0VAA0G17AssignmentRequestVYaKFTE": .returning { endpoint, arguments in
            try await endpoint.shardAssignments(arguments.decodeNextArgument())
        },
        "$s16NakshaClusterAPI0B8EndpointC12shardRefusedyy0A5State18RefuseShardReplicaVYaKFTE": .void { endpoint, arguments in
            try await endpoint.shardRefused(arguments.decodeNextArgument())
        },
        "$s16NakshaClusterAPI0B8EndpointC10shardReadyyyAA05ShardF6ReportVYaKFTE": .void { endpoint, arguments in
            try await endpoint.shardReady(arguments.decodeNextArgument())
        },
        "$s16NakshaClusterAPI0B8EndpointC12vectorUpsertyAA17VectorWriteResultVAA0gF4CallVYaKFTE": .returning { endpoint, arguments in
            try await endpoint.vectorUpsert(arguments.decodeNextArgument())
        },
        "$s16NakshaClusterAPI0B8EndpointC11vectorQueryyAA06VectorF6AnswerVAA0gF4CallVYaKFTE": .returning { endpoint, arguments in
            try await endpoint.vectorQuery(arguments.decodeNextArgument())
        },
    ]
}
