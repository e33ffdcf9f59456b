import Distributed
import NakshaActors
import NakshaClusterAPI
import NakshaCore
import NakshaGraph
import Synchronization
import Testing

@testable import NakshaState

/// The worker-facing distributed actor's dispatch table (`ClusterEndpoint.remoteCalls`):
/// every distributed function called from another actor system over loopback TCP, its
/// arguments arriving at the backend and its answer coming back; a `ClusterAPIError` the
/// backend throws is rebuilt on the caller. A mangled name in the table that does not match
/// its function fails here.
@Suite struct ClusterEndpointTableTests {
    /// A `ClusterBackend` that records each call and answers from fixed values, or throws
    /// the error a test set for the next call.
    final class RecordingBackend: ClusterBackend {
        enum Call: Sendable, Equatable {
            case register(WorkerRegistration)
            case heartbeat(WorkerHeartbeat)
            case lease(LeaseRequest)
            case complete(TaskCompletion)
            case completeBatch([TaskCompletion])
            case fail(TaskFailureReport)
            case graph(contentHash: String)
            case deregister(WorkerID)
            case throttle(ProviderThrottle)
            case shardAssignments(ShardAssignmentRequest)
            case shardReady(ShardReadyReport)
            case shardRefused(ShardRefusalReport)
            case vectorUpsert(VectorUpsertCall)
            case vectorQuery(VectorQueryCall)
        }

        private struct State {
            var calls: [Call] = []
            var nextError: ClusterAPIError?
        }

        private let state = Mutex(State())

        var calls: [Call] { state.withLock { $0.calls } }

        /// The next call (of any function) throws `error`.
        func failNextCall(with error: ClusterAPIError) { state.withLock { $0.nextError = error } }

        private func record(_ call: Call) throws {
            let error = state.withLock { state in
                state.calls.append(call)
                defer { state.nextError = nil }
                return state.nextError
            }
            if let error { throw error }
        }

        func register(_ registration: WorkerRegistration) async throws -> HeartbeatAnswer {
            try record(.register(registration))
            return Fixtures.registered
        }

        func heartbeat(_ heartbeat: WorkerHeartbeat) async throws -> HeartbeatAnswer {
            try record(.heartbeat(heartbeat))
            return Fixtures.stopSecondLease
        }

        func lease(_ request: LeaseRequest) async throws -> [TaskAssignment] {
            try record(.lease(request))
            return [Fixtures.assignment]
        }

        func complete(_ completion: TaskCompletion) async throws { try record(.complete(completion)) }

        func completeBatch(_ completions: [TaskCompletion]) async throws -> [TaskCompletionResult] {
            try record(.completeBatch(completions))
            return Fixtures.batchResults
        }

        func fail(_ failure: TaskFailureReport) async throws { try record(.fail(failure)) }

        func graph(contentHash: String) async throws -> GraphSourceText {
            try record(.graph(contentHash: contentHash))
            return Fixtures.graphSource
        }

        func deregister(_ worker: WorkerID) async throws { try record(.deregister(worker)) }

        func throttle(_ report: ProviderThrottle) async throws { try record(.throttle(report)) }

        func shardAssignments(_ request: ShardAssignmentRequest) async throws -> ShardAssignments {
            try record(.shardAssignments(request))
            return Fixtures.assignments
        }

        func shardReady(_ report: ShardReadyReport) async throws { try record(.shardReady(report)) }

        func shardRefused(_ report: ShardRefusalReport) async throws { try record(.shardRefused(report)) }

        func vectorUpsert(_ call: VectorUpsertCall) async throws -> VectorWriteResult {
            try record(.vectorUpsert(call))
            return Fixtures.written
        }

        func vectorQuery(_ call: VectorQueryCall) async throws -> VectorQueryAnswer {
            try record(.vectorQuery(call))
            return Fixtures.answer
        }
    }

    enum Fixtures {
        static let task = TaskID(job: JobID(rawValue: 9), number: 2)
        static let firstLease = LeaseReference(task: task, token: LeaseToken(rawValue: 41))
        static let secondLease = LeaseReference(task: TaskID(job: JobID(rawValue: 9), number: 3), token: LeaseToken(rawValue: 42))
        static let registered = HeartbeatAnswer(stop: [], leaseDurationMillis: 15_000)
        static let stopSecondLease = HeartbeatAnswer(stop: [secondLease], leaseDurationMillis: 15_000)
        static let graph = GraphReference(name: "summarize", version: 2)
        static let assignment = TaskAssignment(
            task: task, token: LeaseToken(rawValue: 41), expiresMillis: 1_700_000_030_000, graph: graph, contentHash: "5f1c0e",
            graphTask: GraphTaskID(step: 1, node: "summarize", index: 0), item: .map(["n": .int(1)]), attempt: 2,
            state: ["text": .string("hello"), "docs": .list([.string("a"), .null])], provider: "llm.chat:gpt-4o-mini")
        static let graphSource = GraphSourceText(reference: graph, contentHash: "5f1c0e", yaml: "name: summarize\nversion: 2\n")

        static let registration = WorkerRegistration(worker: "w-1", capacity: 4, labels: ["gpu": "a100"], memoryBudgetBytes: 8 << 30)
        static let heartbeat = WorkerHeartbeat(worker: "w-1", leases: [firstLease, secondLease])
        static let leaseRequest = LeaseRequest(worker: "w-1", max: 2, waitMillis: 250)
        static let completion = TaskCompletion(
            task: task, token: LeaseToken(rawValue: 41), output: ["summary": .string("two sentences"), "score": .double(0.5)],
            usage: TaskUsage(model: "gpt-4o-mini", promptTokens: 1200, completionTokens: 300, costMicroUSD: 360))
        static let batchResults = [TaskCompletionResult(task: task), TaskCompletionResult(task: task, errorCode: "staleLease", message: "lease 41 is stale")]
        static let failure = TaskFailureReport(task: task, token: LeaseToken(rawValue: 41), reason: "provider timeout", retryable: true)
        static let throttle = ProviderThrottle(worker: "w-1", provider: "llm.chat:gpt-4o-mini", retryAfterMillis: 7000)
        static let assignmentRequest = ShardAssignmentRequest(worker: "w-1", afterEpoch: 3, waitMillis: 250)
        static let ready = ShardReadyReport(worker: "w-1", collection: "docs", shard: 5)
        static let refused = ShardRefusalReport(worker: "w-1", collection: "docs", shard: 6, reason: "memory budget")
        static let upsert = VectorUpsertCall(collection: "docs", ids: ["a", "b"], vectors: [[1, 2], [3, -4.5]], payloadJSON: [#"{"metadata":{"n":1}}"#, nil])
        static let written = VectorWriteResult(count: 2, sequences: [0: 7, 3: 12])
        static let query = VectorQueryCall(collection: "docs", vector: [1, 2], k: 3, filterJSON: #"{"n":1}"#, readYourWrites: true)
        static let answer = VectorQueryAnswer(hits: [ShardHit(id: "a", score: 0.5, payloadJSON: #"{"metadata":{"n":1}}"#)], partial: true, exact: false)
        static let assignments = ShardAssignments(
            epoch: 4,
            shards: [AssignedShard(spec: CollectionSpec(name: "docs", dimension: 384, metric: .cosine, index: .hnsw, shards: 8, replicas: 2), shard: 5, joining: true)])
    }

    /// Two actor systems on loopback: the endpoint on one, its remote reference on the other.
    static func withRemoteEndpoint(_ body: (ClusterEndpoint, RecordingBackend) async throws -> Void) async throws {
        let configuration = ActorSystemConfiguration(rebuildableErrors: [ClusterAPIError.self])
        let server = try await NakshaActorSystem.start(configuration)
        let client: NakshaActorSystem
        do {
            client = try await NakshaActorSystem.start(configuration)
        } catch {
            await server.shutdown()
            throw error
        }
        let backend = RecordingBackend()
        let local = ClusterEndpoint.start(backend: backend, system: server)
        do {
            let remote = try ClusterEndpoint.at(server.address, system: client)
            #expect(__isRemoteActor(remote), "the calls go over the wire")
            #expect(remote.id == .wellKnown("cluster", on: server.address))
            #expect(local.id.path == remote.id.path && local.id.node == remote.id.node)
            try await body(remote, backend)
        } catch {
            await client.shutdown()
            await server.shutdown()
            withExtendedLifetime(local) {}
            throw error
        }
        await client.shutdown()
        await server.shutdown()
        withExtendedLifetime(local) {}  // the endpoint serves until both systems are down
    }

    @Test func theTableHasOneEntryPerDistributedFunction() {
        #expect(ClusterEndpoint.remoteCalls.count == 14)
        #expect(ClusterEndpoint.remoteCalls.count == Function.allCases.count)
    }

    @Test func everyDistributedFunctionIsCalledRemotelyWithItsArgumentsAndAnswers() async throws {
        try await Self.withRemoteEndpoint { endpoint, backend in
            #expect(try await endpoint.register(Fixtures.registration) == Fixtures.registered)
            #expect(try await endpoint.heartbeat(Fixtures.heartbeat) == Fixtures.stopSecondLease)
            #expect(try await endpoint.lease(Fixtures.leaseRequest) == [Fixtures.assignment])
            try await endpoint.complete(Fixtures.completion)
            #expect(try await endpoint.completeBatch([Fixtures.completion, Fixtures.completion]) == Fixtures.batchResults)
            try await endpoint.fail(Fixtures.failure)
            #expect(try await endpoint.graph(contentHash: "5f1c0e") == Fixtures.graphSource)
            try await endpoint.deregister("w-1")
            try await endpoint.throttle(Fixtures.throttle)
            #expect(try await endpoint.shardAssignments(Fixtures.assignmentRequest) == Fixtures.assignments)
            try await endpoint.shardReady(Fixtures.ready)
            try await endpoint.shardRefused(Fixtures.refused)
            #expect(try await endpoint.vectorUpsert(Fixtures.upsert) == Fixtures.written)
            #expect(try await endpoint.vectorQuery(Fixtures.query) == Fixtures.answer)

            #expect(
                backend.calls == [
                    .register(Fixtures.registration),
                    .heartbeat(Fixtures.heartbeat),
                    .lease(Fixtures.leaseRequest),
                    .complete(Fixtures.completion),
                    .completeBatch([Fixtures.completion, Fixtures.completion]),
                    .fail(Fixtures.failure),
                    .graph(contentHash: "5f1c0e"),
                    .deregister("w-1"),
                    .throttle(Fixtures.throttle),
                    .shardAssignments(Fixtures.assignmentRequest),
                    .shardReady(Fixtures.ready),
                    .shardRefused(Fixtures.refused),
                    .vectorUpsert(Fixtures.upsert),
                    .vectorQuery(Fixtures.query),
                ])
        }
    }

    /// The distributed functions, for a table of the error each one carries back.
    enum Function: String, CaseIterable, Sendable {
        case register, heartbeat, lease, complete, completeBatch, fail, graph, deregister, throttle, shardAssignments, shardReady, shardRefused, vectorUpsert, vectorQuery

        func call(_ endpoint: ClusterEndpoint) async throws {
            switch self {
            case .register: _ = try await endpoint.register(Fixtures.registration)
            case .heartbeat: _ = try await endpoint.heartbeat(Fixtures.heartbeat)
            case .lease: _ = try await endpoint.lease(Fixtures.leaseRequest)
            case .complete: try await endpoint.complete(Fixtures.completion)
            case .completeBatch: _ = try await endpoint.completeBatch([Fixtures.completion])
            case .fail: try await endpoint.fail(Fixtures.failure)
            case .graph: _ = try await endpoint.graph(contentHash: "5f1c0e")
            case .deregister: try await endpoint.deregister("w-1")
            case .throttle: try await endpoint.throttle(Fixtures.throttle)
            case .shardAssignments: _ = try await endpoint.shardAssignments(Fixtures.assignmentRequest)
            case .shardReady: try await endpoint.shardReady(Fixtures.ready)
            case .shardRefused: try await endpoint.shardRefused(Fixtures.refused)
            case .vectorUpsert: _ = try await endpoint.vectorUpsert(Fixtures.upsert)
            case .vectorQuery: _ = try await endpoint.vectorQuery(Fixtures.query)
            }
        }
    }

    @Test(arguments: Function.allCases)
    func aClusterAPIErrorFromTheBackendIsRebuiltOnTheCaller(_ function: Function) async throws {
        let refusal = ClusterAPIError(
            code: ClusterAPIError.notLeader, message: "node 2 does not lead; call the leader", leaderAddress: "127.0.0.1:7401")
        try await Self.withRemoteEndpoint { endpoint, backend in
            backend.failNextCall(with: refusal)
            do {
                try await function.call(endpoint)
                Issue.record("\(function) succeeded although the backend threw")
            } catch let error as ClusterAPIError {
                #expect(error == refusal)
                #expect(error.code == ClusterAPIError.notLeader)
                #expect(error.leaderAddress == "127.0.0.1:7401")
            } catch {
                Issue.record("\(function): the error arrived as \(type(of: error)): \(error)")
            }
            #expect(backend.calls.count == 1, "the call reached the backend once")
            // The endpoint still serves after a refusal.
            try await function.call(endpoint)
            #expect(backend.calls.count == 2)
        }
    }
}
