import Distributed
import NakshaActors
import NakshaCore

/// What a worker does for routers' calls (`ShardEndpoint` forwards to it).
public protocol ShardBackend: Sendable {
    func search(_ request: ShardSearchRequest) async throws -> ShardSearchAnswer
    func searchBatch(_ request: ShardBatchSearchRequest) async throws -> ShardBatchSearchAnswer
    func catchUp(_ hint: ShardCatchUp) async throws
    func status() async throws -> WorkerShardStatus
}

/// The shard-serving interface of a worker, a distributed actor with the well-known name
/// `shards` on the worker's actor system (the address it registers as `shardAddress`).
/// Routers (coordinators) call `search` (or `searchBatch` for several queries) on one replica
/// per shard, `catchUp` after an upsert,
/// and `status` for `naksha shards list`.
///
/// Like `ClusterEndpoint`, its dispatch table is checked by a test that calls every function
/// remotely (`ShardEndpointTableTests`). Errors are `ClusterAPIError`s
/// (`shardNotServing`, `dimensionMismatch`, `invalidFilter`, `coldStoreUnavailable`).
public distributed actor ShardEndpoint: RemoteCallable {
    public typealias ActorSystem = NakshaActorSystem
    public static let actorName = "shards"

    let backend: any ShardBackend

    /// Starts the endpoint under the well-known name `shards` on `system`.
    public static func start(backend: any ShardBackend, system: NakshaActorSystem) -> ShardEndpoint {
        NakshaActorSystem.$actorName.withValue(actorName) { ShardEndpoint(backend: backend, actorSystem: system) }
    }

    /// The endpoint of the worker whose actor system listens at `address`.
    public static func at(_ address: NodeAddress, system: NakshaActorSystem) throws -> ShardEndpoint {
        try ShardEndpoint.resolve(id: .wellKnown(actorName, on: address), using: system)
    }

    private init(backend: any ShardBackend, actorSystem: NakshaActorSystem) {
        self.backend = backend
        self.actorSystem = actorSystem
    }

    public distributed func search(_ request: ShardSearchRequest) async throws -> ShardSearchAnswer {
        try await backend.search(request)
    }

    public distributed func searchBatch(_ request: ShardBatchSearchRequest) async throws -> ShardBatchSearchAnswer {
        try await backend.searchBatch(request)
    }

    public distributed func catchUp(_ hint: ShardCatchUp) async throws {
        try await backend.catchUp(hint)
    }

    public distributed func status() async throws -> WorkerShardStatus {
        try await backend.status()
    }

    public static let remoteCalls: [String: RemoteCall<ShardEndpoint>] = [
        "$s16NakshaClusterAPI13ShardEndpointC6searchyAA0D12SearchAnswerVAA0dG7RequestVYaKFTE": .returning { endpoint, arguments in
            try await endpoint.search(arguments.decodeNextArgument())
        },
        "$s16NakshaClusterAPI13ShardEndpointC11searchBatchyAA0dG12SearchAnswerVAA0dgH7RequestVYaKFTE": .returning { endpoint, arguments in
            try await endpoint.searchBatch(arguments.decodeNextArgument())
        },
        "$s16NakshaClusterAPI13ShardEndpointC7catchUpyyAA0d5CatchG0VYaKFTE": .void { endpoint, arguments in
            try await endpoint.catchUp(arguments.decodeNextArgument())
        },
        "$s16NakshaClusterAPI13ShardEndpointC6statusAA06WorkerD6StatusVyYaKFTE": .returning { endpoint, _ in try await endpoint.status() },
    ]
}
