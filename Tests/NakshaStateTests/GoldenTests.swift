import Foundation
import NakshaCore
import NakshaGraph
import Testing

@testable import NakshaState

/// Byte-exact commands, results and a snapshot of format version 1, one file per case in
/// `Golden/` (raw bytes, `.bin`).
///
/// These bytes are in every Raft log and snapshot already written: a change here means a
/// cluster can no longer replay its own log. A round trip through the same codec proves
/// nothing about that; these files do. Regenerate only on purpose, with
/// `NAKSHA_REGENERATE_GOLDEN=1 swift test --filter NakshaStateTests.GoldenTests`, and only
/// together with a new `ClusterState.formatVersion` (or for a new case, whose file is new).
@Suite struct GoldenTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static var regenerating: Bool { ProcessInfo.processInfo.environment["NAKSHA_REGENERATE_GOLDEN"] == "1" }

    /// The golden file's bytes; when regenerating, `bytes` is written first.
    static func golden(_ name: String, _ bytes: [UInt8]) throws -> [UInt8] {
        let url = directory.appendingPathComponent("\(name).bin")
        if regenerating {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(bytes).write(to: url, options: .atomic)
        }
        return [UInt8](try Data(contentsOf: url))
    }

    // MARK: Commands

    static let task = TaskID(job: JobID(rawValue: 9), number: 2)
    static let token = LeaseToken(rawValue: 12)

    /// One command of every case (`commandCase` makes the compiler ask for a new one).
    static let commands: [ClusterCommand] = [
        .registerGraph(RegisterGraph(name: "pipeline", yaml: Graphs.pipeline, contentHash: "5f1c0e")),
        .setGraphConcurrency(graph: "pipeline", maxLeasedTasks: 4),
        .submitJob(
            SubmitJob(
                graph: .named("pipeline", version: 1), input: ["question": "why?", "tags": ["a", 2, 2.5, nil, ["deep": true]]],
                idempotencyKey: "order-17", priority: -3, fairnessKey: "tenant-a")),
        .leaseTasks(LeaseTasks(worker: "naksha-worker-3", max: 8, leaseDurationMillis: 30_000)),
        .completeTask(CompleteTask(task: task, token: token, output: ["docs": "d", "score": 0.75])),
        .failTask(FailTask(task: task, token: token, reason: "HTTP 503", retryable: true)),
        .expireLeases([LeaseReference(task: task, token: token), LeaseReference(task: TaskID(job: JobID(rawValue: 3), number: 1), token: LeaseToken(rawValue: 4))]),
        .cancelJob(JobID(rawValue: 5)),
        .resumeJob(ResumeJob(job: JobID(rawValue: 5), input: ["approved": true])),
        .registerWorker(RegisterWorker(worker: "naksha-worker-3", capacity: 4, labels: ["gpu": "a100", "zone": "b"], memoryBudgetBytes: 1 << 30)),
        .deregisterWorker("naksha-worker-3"),
        .expireWorkers(["naksha-worker-1", "naksha-worker-2"]),
        .evictJobs([JobID(rawValue: 1), JobID(rawValue: 2)]),
        .setKeyConcurrency(key: "tenant-a", maxLeasedTasks: 16),
        .setProviderRate(provider: "openai:text-embedding-3-small", tokensPerSecond: 12.5, burst: 40),
        .throttleProvider(provider: "llm.chat:gpt-4o-mini", untilMillis: 1_700_000_060_000),
        .createCollection(CreateCollection(CollectionSpec(name: "docs", dimension: 384, metric: .cosine, index: .hnsw, shards: 8, replicas: 2))),
        .dropCollection("docs"),
        .moveShard(MoveShard(collection: "docs", shard: 5, from: "naksha-worker-1", to: "naksha-worker-4")),
        .finishShardMove(FinishShardMove(collection: "docs", shard: 5, to: "naksha-worker-4")),
        .rebalanceShards(RebalanceShards(maxMoves: 8)),
        .completeTasks([
            CompleteTask(task: task, token: token, output: ["docs": "d"]),
            CompleteTask(task: TaskID(job: JobID(rawValue: 10), number: 1), token: LeaseToken(rawValue: 13), output: [:]),
        ]),
        .refuseShardReplica(RefuseShardReplica(worker: "naksha-worker-2", collection: "docs", shard: 5, reason: "memory budget: needs 300 MB")),
    ]

    /// A number per case: adding a case to `ClusterCommand` fails to compile here until it
    /// has a golden file.
    static func commandCase(_ command: ClusterCommand) -> Int {
        switch command {
        case .registerGraph: return 0
        case .setGraphConcurrency: return 1
        case .submitJob: return 2
        case .leaseTasks: return 3
        case .completeTask: return 4
        case .failTask: return 5
        case .expireLeases: return 6
        case .cancelJob: return 7
        case .resumeJob: return 8
        case .registerWorker: return 9
        case .deregisterWorker: return 10
        case .expireWorkers: return 11
        case .evictJobs: return 12
        case .setKeyConcurrency: return 13
        case .setProviderRate: return 14
        case .throttleProvider: return 15
        case .createCollection: return 16
        case .dropCollection: return 17
        case .moveShard: return 18
        case .finishShardMove: return 19
        case .rebalanceShards: return 20
        case .completeTasks: return 21
        case .refuseShardReplica: return 22
        }
    }

    @Test func everyCommandCaseHasAGoldenFile() {
        #expect(Self.commands.map(Self.commandCase) == Array(0..<Self.commands.count))
        #expect(Self.commands.count == 23)
    }

    @Test(arguments: commands)
    func commandBytesMatchTheirGoldenFile(_ command: ClusterCommand) throws {
        let bytes = try Self.golden("command-\(command.name).v1", ClusterState.encodeCommand(command))
        #expect(bytes.first == 1)
        #expect(try ClusterState.decodeCommand(bytes) == command, "golden command-\(command.name).v1.bin decodes to another value")
        #expect(ClusterState.encodeCommand(command) == bytes, "command \(command.name) no longer encodes to its golden bytes: the log format changed")
    }

    // MARK: Results

    static let graphInfo = GraphVersionInfo(name: "pipeline", version: 2, contentHash: "5f1c0e", registeredMillis: 1_700_000_000_123)

    /// One result of every outcome case, and a failure.
    static let results: [(name: String, result: ClusterResult)] = [
        ("graph_registered", .success(.graphRegistered(graphInfo, created: true))),
        ("graph_concurrency_set", .success(.graphConcurrencySet(graph: "pipeline", maxLeasedTasks: nil))),
        ("job_submitted", .success(.jobSubmitted(JobID(rawValue: 3), status: .queued, existing: false))),
        (
            "tasks_leased",
            .success(
                .tasksLeased([
                    TaskAssignment(
                        task: task, token: token, expiresMillis: 1_700_000_030_000, graph: graphInfo.reference, contentHash: "5f1c0e",
                        graphTask: GraphTaskID(step: 1, node: "retrieve", index: 2), item: ["n": 1], attempt: 2,
                        state: ["question": "why?", "docs": nil])
                ]))
        ),
        ("task_completed", .success(.taskCompleted(task, jobStatus: .running))),
        ("task_failed", .success(.taskFailed(task, state: .retrying, retryAtMillis: 1_700_000_001_500, jobStatus: .running))),
        ("leases_expired", .success(.leasesExpired([task, TaskID(job: JobID(rawValue: 10), number: 1)]))),
        ("job_cancelled", .success(.jobCancelled(JobID(rawValue: 5)))),
        ("job_resumed", .success(.jobResumed(JobID(rawValue: 5), status: .running))),
        ("worker_registered", .success(.workerRegistered("naksha-worker-3"))),
        ("workers_removed", .success(.workersRemoved(["naksha-worker-1"], releasedTasks: [task]))),
        ("jobs_evicted", .success(.jobsEvicted([JobID(rawValue: 1)]))),
        ("key_concurrency_set", .success(.keyConcurrencySet(key: "tenant-a", maxLeasedTasks: 16))),
        ("provider_rate_set", .success(.providerRateSet(provider: "openai:text-embedding-3-small", tokensPerSecond: 12.5, burst: 40))),
        ("provider_throttled", .success(.providerThrottled(provider: "llm.chat:gpt-4o-mini", untilMillis: 1_700_000_060_000))),
        (
            "tasks_leased_with_provider",
            .success(
                .tasksLeased([
                    TaskAssignment(
                        task: task, token: token, expiresMillis: 1_700_000_030_000, graph: graphInfo.reference, contentHash: "5f1c0e",
                        graphTask: GraphTaskID(step: 0, node: "answer"), item: nil, attempt: 1, state: [:], provider: "llm.chat:gpt-4o-mini")
                ]))
        ),
        ("collection_created", .success(.collectionCreated("docs", epoch: 3, created: true))),
        ("collection_dropped", .success(.collectionDropped("docs", epoch: 4))),
        (
            "shard_moves_started",
            .success(
                .shardMovesStarted([PlannedShardMove(key: ShardKey(collection: "docs", shard: 5), from: "naksha-worker-1", to: "naksha-worker-4")], epoch: 9))
        ),
        ("shard_move_finished", .success(.shardMoveFinished(ShardKey(collection: "docs", shard: 5), epoch: 10, finished: true))),
        (
            "tasks_completed",
            .success(
                .tasksCompleted([
                    TaskCompletionOutcome(task: task, jobStatus: .succeeded),
                    TaskCompletionOutcome(task: TaskID(job: JobID(rawValue: 10), number: 1), error: ClusterError(.staleLease, "lease 13 is stale")),
                ]))
        ),
        ("shard_replica_refused", .success(.shardReplicaRefused(ShardKey(collection: "docs", shard: 5), epoch: 11, replacedBy: "naksha-worker-3", removed: true))),
        ("failure", .failure(ClusterError(.staleLease, "lease 12 of task 9.2 is no longer valid (it is succeeded); drop the result"))),
    ]

    /// A number per outcome case (a new case fails to compile here until it has a golden file).
    static func resultCase(_ result: ClusterResult) -> Int {
        guard case .success(let outcome) = result else { return 21 }
        switch outcome {
        case .graphRegistered: return 0
        case .graphConcurrencySet: return 1
        case .jobSubmitted: return 2
        case .tasksLeased: return 3
        case .taskCompleted: return 4
        case .taskFailed: return 5
        case .leasesExpired: return 6
        case .jobCancelled: return 7
        case .jobResumed: return 8
        case .workerRegistered: return 9
        case .workersRemoved: return 10
        case .jobsEvicted: return 11
        case .keyConcurrencySet: return 12
        case .providerRateSet: return 13
        case .providerThrottled: return 14
        case .collectionCreated: return 15
        case .collectionDropped: return 16
        case .shardMovesStarted: return 17
        case .shardMoveFinished: return 18
        case .tasksCompleted: return 19
        case .shardReplicaRefused: return 20
        }
    }

    @Test func everyResultCaseHasAGoldenFile() {
        // Every case once (tasks_leased twice: with and without a provider), the failure last.
        #expect(Self.results.map { Self.resultCase($0.result) } == Array(0..<12) + [12, 13, 14, 3, 15, 16, 17, 18, 19, 20, 21])
    }

    @Test func resultBytesMatchTheirGoldenFiles() throws {
        for (name, result) in Self.results {
            let bytes = try Self.golden("result-\(name).v1", ClusterState.encodeResult(result))
            #expect(try ClusterState.decodeResult(bytes) == result, "golden result-\(name).v1.bin decodes to another value")
            #expect(ClusterState.encodeResult(result) == bytes, "result \(name) no longer encodes to its golden bytes: the result format changed")
        }
    }

    // MARK: Snapshot

    /// A registered graph; job A (idempotency key) with a leased task; job B whose task
    /// failed and is retrying; one worker.
    static func snapshotScenario() throws -> ClusterState {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        harness.addWorker("naksha-worker-1", capacity: 4)
        let first = try harness.submit("pipeline", input: ["question": "first"], key: "order-17")
        let second = try harness.submit("pipeline", input: ["question": "second"], priority: 2)
        let leased = try harness.lease("naksha-worker-1", max: 2)
        guard leased.count == 2, leased[0].task.job == second, leased[1].task.job == first else {
            throw HarnessError.unexpected("leases \(leased)")
        }
        harness.apply(.failTask(FailTask(task: leased[0].task, token: leased[0].token, reason: "HTTP 503", retryable: true)))
        return harness.state
    }

    @Test func snapshotBytesMatchTheGoldenFile() throws {
        let state = try Self.snapshotScenario()
        let bytes = try Self.golden("state-snapshot.v1", state.encoded())
        #expect(Array(bytes.prefix(3)) == [0x4E, 0x53, 1])
        let decoded = try ClusterState.decode(bytes)
        #expect(decoded == state, "golden state-snapshot.v1.bin decodes to another state")
        #expect(decoded.encoded() == bytes, "the decoded golden snapshot re-encodes to other bytes")
        #expect(state.encoded() == bytes, "the scenario's state no longer encodes to its golden bytes: the snapshot format changed")

        // What the file holds, spelled out (independently of the scenario).
        #expect(decoded.graphNames == ["pipeline"])
        #expect(decoded.graphVersions(named: "pipeline").map(\.version) == [1])
        #expect(decoded.workerList.map(\.id) == ["naksha-worker-1"])
        #expect(decoded.workerList.first?.capacity == 4)
        let first = try #require(decoded.job(forIdempotencyKey: "order-17"))
        let firstTask = try #require(decoded.job(first)?.tasks.first)
        #expect(firstTask.state == .leased)
        #expect(firstTask.lease?.worker == "naksha-worker-1")
        #expect(decoded.jobCount == 2)
        let second = try #require(decoded.jobs().jobs.first { $0.id != first })
        #expect(second.priority == 2)
        let retrying = try #require(decoded.job(second.id)?.tasks.first)
        #expect(retrying.state == .retrying)
        #expect(retrying.attempt == 2)
        #expect(retrying.error == "HTTP 503")
        #expect(decoded.taskCounts == TaskCounts(ready: 0, retrying: 1, leased: 1))
        #expect(decoded.idempotencyKeyCount == 1)
        #expect(decoded.lastAppliedIndex == 6)
    }

    /// The scheduling state added within format 1 (optional snapshot fields, left out when
    /// empty): a fairness key's concurrency limit, a round-robin cursor, a provider bucket
    /// with a rate and one that only holds a throttle.
    static func governorScenario() throws -> (state: ClusterState, now: UInt64) {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        try harness.register(Graphs.chat)
        harness.addWorker("naksha-worker-1", capacity: 8)
        harness.apply(.setKeyConcurrency(key: "tenant-a", maxLeasedTasks: 2))
        harness.apply(.setProviderRate(provider: "llm.chat:gpt-4o-mini", tokensPerSecond: 2.5, burst: 3))
        harness.apply(.throttleProvider(provider: "openai:text-embedding-3-small", untilMillis: harness.now + 60_000))
        for number in 1...3 { _ = try harness.submit("pipeline", input: ["question": .string("a\(number)")], fairnessKey: "tenant-a") }
        _ = try harness.submit("pipeline", input: ["question": "b1"], fairnessKey: "tenant-b")
        _ = try harness.submit("chat", input: ["question": "b2"], fairnessKey: "tenant-b")
        let first = try harness.lease("naksha-worker-1", max: 3)
        let second = try harness.lease("naksha-worker-1", max: 2)
        guard first.count == 3, second.map(\.provider) == ["llm.chat:gpt-4o-mini"] else { throw HarnessError.unexpected("leases \(first) \(second)") }
        return (harness.state, harness.now)
    }

    @Test func governorSnapshotBytesMatchTheGoldenFile() throws {
        let (state, now) = try Self.governorScenario()
        let bytes = try Self.golden("state-governor.v1", state.encoded())
        let decoded = try ClusterState.decode(bytes)
        #expect(decoded == state, "golden state-governor.v1.bin decodes to another state")
        #expect(decoded.encoded() == bytes, "the decoded golden snapshot re-encodes to other bytes")
        #expect(state.encoded() == bytes, "the scenario's state no longer encodes to its golden bytes: the snapshot format changed")

        #expect(decoded.keyConcurrencyLimit(of: "tenant-a") == 2)
        #expect(decoded.fairnessCursor == [0: "tenant-b"])
        #expect(decoded.providerNames == ["llm.chat:gpt-4o-mini", "openai:text-embedding-3-small"])
        #expect(
            decoded.providerStatus("llm.chat:gpt-4o-mini", atMillis: now)
                == ProviderStatus(provider: "llm.chat:gpt-4o-mini", tokensPerSecond: 2.5, burst: 3, availableTokens: 2, closedUntilMillis: nil))
        let throttle = try #require(decoded.providerStatus("openai:text-embedding-3-small", atMillis: now))
        #expect(throttle.tokensPerSecond == nil)
        #expect(throttle.closedUntilMillis != nil)
        #expect(decoded.taskCounts == TaskCounts(ready: 1, retrying: 0, leased: 4))
    }
}
