import Distributed
import NakshaActors
import NakshaClusterAPI
import NakshaCore
import Synchronization
import Testing

/// The worker's shard endpoint (`ShardEndpoint.remoteCalls`): every distributed function
/// called from another actor system over loopback TCP, its argument arriving and its answer
/// coming back; a `ClusterAPIError` is rebuilt on the caller.
@Suite struct ShardEndpointTableTests {
    final class RecordingShards: ShardBackend {
        enum Call: Sendable, Equatable {
            case search(ShardSearchRequest)
            case searchBatch(ShardBatchSearchRequest)
            case catchUp(ShardCatchUp)
            case status
        }

        private let state = Mutex<(calls: [Call], error: ClusterAPIError?)>(([], nil))
        var calls: [Call] { state.withLock { $0.calls } }
        func failNextCall(with error: ClusterAPIError) { state.withLock { $0.error = error } }

        private func record(_ call: Call) throws {
            let error = state.withLock { state in
                state.calls.append(call)
                defer { state.error = nil }
                return state.error
            }
            if let error { throw error }
        }

        func search(_ request: ShardSearchRequest) async throws -> ShardSearchAnswer {
            try record(.search(request))
            return Fixtures.answer
        }

        func searchBatch(_ request: ShardBatchSearchRequest) async throws -> ShardBatchSearchAnswer {
            try record(.searchBatch(request))
            return Fixtures.batchAnswer
        }

        func catchUp(_ hint: ShardCatchUp) async throws { try record(.catchUp(hint)) }

        func status() async throws -> WorkerShardStatus {
            try record(.status)
            return Fixtures.status
        }
    }

    enum Fixtures {
        static let request = ShardSearchRequest(
            collection: "docs", shard: 3, vector: [0.25, -1, 3.5], k: 7, filterJSON: #"{"lang":"en"}"#, minSequence: 42)
        static let answer = ShardSearchAnswer(
            hits: [ShardHit(id: "a", score: 0.9, payloadJSON: #"{"metadata":{"lang":"en"}}"#), ShardHit(id: "b", score: 0.5)],
            appliedSequence: 44, exact: true)
        static let batchRequest = ShardBatchSearchRequest(collection: "docs", shard: 1, vectors: [[1, 2, 3], [-0.5, 0, 9]], k: 4, minSequence: 7)
        static let batchAnswer = ShardBatchSearchAnswer(hits: [[ShardHit(id: "x", score: -1.5)], []], appliedSequence: 9, exact: false)
        static let hint = ShardCatchUp(collection: "docs", shard: 3, sequence: 44)
        static let status = WorkerShardStatus(
            worker: "w-2", memoryBudgetBytes: 1 << 30,
            replicas: [
                ShardReplicaStatus(collection: "docs", shard: 3, state: .ready, vectors: 10, memoryBytes: 4096, appliedSequence: 44),
                ShardReplicaStatus(collection: "docs", shard: 5, state: .refused, vectors: 0, memoryBytes: 0, appliedSequence: 0, reason: "memory budget"),
            ])
    }

    static func withRemoteEndpoint(_ body: (ShardEndpoint, RecordingShards) async throws -> Void) async throws {
        let configuration = ActorSystemConfiguration(rebuildableErrors: [ClusterAPIError.self])
        let server = try await NakshaActorSystem.start(configuration)
        let client: NakshaActorSystem
        do {
            client = try await NakshaActorSystem.start(configuration)
        } catch {
            await server.shutdown()
            throw error
        }
        let backend = RecordingShards()
        let local = ShardEndpoint.start(backend: backend, system: server)
        do {
            let remote = try ShardEndpoint.at(server.address, system: client)
            #expect(__isRemoteActor(remote), "the calls go over the wire")
            try await body(remote, backend)
        } catch {
            await client.shutdown()
            await server.shutdown()
            withExtendedLifetime(local) {}
            throw error
        }
        await client.shutdown()
        await server.shutdown()
        withExtendedLifetime(local) {}
    }

    @Test func everyDistributedFunctionIsCalledRemotelyWithItsArgumentsAndAnswers() async throws {
        #expect(ShardEndpoint.remoteCalls.count == 4)
        try await Self.withRemoteEndpoint { endpoint, backend in
            #expect(try await endpoint.search(Fixtures.request) == Fixtures.answer)
            #expect(try await endpoint.searchBatch(Fixtures.batchRequest) == Fixtures.batchAnswer)
            try await endpoint.catchUp(Fixtures.hint)
            #expect(try await endpoint.status() == Fixtures.status)
            #expect(backend.calls == [.search(Fixtures.request), .searchBatch(Fixtures.batchRequest), .catchUp(Fixtures.hint), .status])
        }
    }

    @Test func aRefusalIsRebuiltOnTheCallerAndTheEndpointKeepsServing() async throws {
        let refusal = ClusterAPIError(code: ClusterAPIError.shardNotServing, message: "worker w-2: shard docs/3 is still loading")
        try await Self.withRemoteEndpoint { endpoint, backend in
            backend.failNextCall(with: refusal)
            await #expect(throws: refusal) { try await endpoint.search(Fixtures.request) }
            let answer = try await endpoint.search(Fixtures.request)
            #expect(answer == Fixtures.answer)
        }
    }
}
