import NakshaCore
import NakshaGraph
import Testing

@testable import NakshaState

extension Harness {
    /// Leases after `millis` of leader time, for tests that watch the clock.
    mutating func lease(after millis: UInt64, max: Int = 10, worker: WorkerID = "w1") throws -> [TaskAssignment] {
        let result = apply(.leaseTasks(LeaseTasks(worker: worker, max: max, leaseDurationMillis: 30_000)), after: millis)
        guard case .success(.tasksLeased(let tasks)) = result else { throw HarnessError.unexpected("lease: \(result)") }
        return tasks
    }

    /// The fairness key of each assignment's job.
    func keys(of assignments: [TaskAssignment]) -> [String] {
        assignments.map { state.job($0.task.job)?.resolvedFairnessKey ?? "?" }
    }
}

@Suite struct FairnessTests {
    @Test func oneTenantsBurstDoesNotStarveAnothersSingleJob() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        harness.addWorker("w1", capacity: 1_000)
        for number in 0..<1_000 { _ = try harness.submit("pipeline", input: ["question": .string("a\(number)")], fairnessKey: "tenant-a") }
        let single = try harness.submit("pipeline", input: ["question": "b"], fairnessKey: "tenant-b")
        let first = try harness.lease(max: 1)
        let second = try harness.lease(max: 1)
        #expect(harness.keys(of: first) == ["tenant-a"])
        #expect(second.map(\.task.job) == [single], "the single job waits one turn, not a thousand")
    }

    @Test func keysAreServedRoundRobinAndFIFOWithinAKey() throws {
        // Keys submitted out of order, jobs within a key in order: a1 b1 a2 c1 a3 b2.
        let plan = [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("a", 3), ("b", 2)]
        var oneByOne = Harness()
        try oneByOne.register(Graphs.pipeline)
        oneByOne.addWorker("w1")
        var batched = oneByOne
        var names: [JobID: String] = [:]
        for (key, number) in plan {
            let id = try oneByOne.submit("pipeline", input: ["question": .string("\(key)\(number)")], fairnessKey: key)
            _ = try batched.submit("pipeline", input: ["question": .string("\(key)\(number)")], fairnessKey: key)
            names[id] = "\(key)\(number)"
        }
        var served: [String] = []
        for _ in plan { served += try oneByOne.lease(max: 1).map { names[$0.task.job] ?? "?" } }
        #expect(served == ["a1", "b1", "c1", "a2", "b2", "a3"])
        let batch = try batched.lease(max: 6).map { names[$0.task.job] ?? "?" }
        #expect(batch == served, "a batch takes the same turns as single leases")
    }

    @Test func theRotationResumesAfterTheKeyServedLastAcrossEntriesAndRestores() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        harness.addWorker("w1")
        for key in ["a", "b", "c"] {
            for number in 1...2 { _ = try harness.submit("pipeline", input: ["question": .string("\(key)\(number)")], fairnessKey: key) }
        }
        #expect(harness.keys(of: try harness.lease(max: 2)) == ["a", "b"])
        var restored = harness
        restored.state = try ClusterState.decode(harness.state.encoded())
        #expect(harness.keys(of: try harness.lease(max: 1)) == ["c"])
        #expect(restored.keys(of: try restored.lease(max: 1)) == ["c"], "the cursor travels in the snapshot")
        #expect(harness.keys(of: try harness.lease(max: 3)) == ["a", "b", "c"])
        #expect(harness.state.fairnessCursor.isEmpty, "a priority with nothing ready keeps no cursor")
    }

    @Test func aJobWithoutAFairnessKeyIsKeyedByItsGraphName() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        try harness.register(Graphs.approval)
        harness.addWorker("w1")
        for number in 0..<3 { _ = try harness.submit("pipeline", input: ["question": .string("q\(number)")]) }
        let approval = try harness.submit("approval")
        #expect(harness.state.job(approval)?.resolvedFairnessKey == "approval")
        let leased = try harness.lease(max: 2)
        #expect(harness.keys(of: leased) == ["approval", "pipeline"])
    }

    @Test func higherPriorityStillGoesFirstWhateverTheKeys() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        harness.addWorker("w1")
        let low = try harness.submit("pipeline", input: ["question": "low"], priority: 0, fairnessKey: "b")
        let high = try [1, 2].map { try harness.submit("pipeline", input: ["question": .string("h\($0)")], priority: 5, fairnessKey: "a") }
        #expect(try harness.lease(max: 2).map(\.task.job) == high)
        #expect(try harness.lease(max: 2).map(\.task.job) == [low])
    }

    @Test func aKeyWhoseTasksAreBackingOffDoesNotHoldUpTheOthers() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        harness.addWorker("w1")
        _ = try harness.submit("pipeline", input: ["question": "a"], fairnessKey: "a")
        let leased = try harness.lease(max: 1)
        harness.apply(.failTask(FailTask(task: leased[0].task, token: leased[0].token, reason: "503", retryable: true)))
        let other = try harness.submit("pipeline", input: ["question": "b"], fairnessKey: "b")
        #expect(try harness.lease(max: 5).map(\.task.job) == [other])
    }
}

@Suite struct KeyConcurrencyTests {
    @Test func aFairnessKeysLimitBoundsItsLeasedTasksAndClearingItLiftsIt() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        harness.addWorker("w1")
        #expect(harness.apply(.setKeyConcurrency(key: "a", maxLeasedTasks: 2)) == .success(.keyConcurrencySet(key: "a", maxLeasedTasks: 2)))
        for number in 0..<4 {
            _ = try harness.submit("pipeline", input: ["question": .string("a\(number)")], fairnessKey: "a")
            _ = try harness.submit("pipeline", input: ["question": .string("b\(number)")], fairnessKey: "b")
        }
        let first = try harness.lease(max: 10)
        #expect(harness.keys(of: first).sorted() == ["a", "a", "b", "b", "b", "b"])
        #expect(try harness.lease(max: 10).isEmpty)
        let done = try #require(first.first { harness.state.job($0.task.job)?.resolvedFairnessKey == "a" })
        harness.complete(done)
        #expect(harness.keys(of: try harness.lease(max: 10)) == ["a"], "a completion frees one place")
        harness.apply(.setKeyConcurrency(key: "a", maxLeasedTasks: nil))
        #expect(harness.state.keyConcurrencyLimit(of: "a") == nil)
        // What is left of "a": the fourth job's first task and the completed job's next one.
        #expect(harness.keys(of: try harness.lease(max: 10)) == ["a", "a"], "no limit any more")
    }

    @Test func aGraphNameIsTheKeyOfJobsWithoutOne() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        harness.addWorker("w1")
        harness.apply(.setKeyConcurrency(key: "pipeline", maxLeasedTasks: 1))
        for number in 0..<3 { _ = try harness.submit("pipeline", input: ["question": .string("q\(number)")]) }
        #expect(try harness.lease(max: 10).count == 1)
    }

    @Test(arguments: [("a", 0), ("a", -1), ("", 3)])
    func aLimitBelowOneOrAnEmptyKeyIsRefused(key: String, limit: Int) {
        var harness = Harness()
        #expect(harness.apply(.setKeyConcurrency(key: key, maxLeasedTasks: limit)).errorCode == .invalidCommand)
        #expect(harness.state.keyConcurrencyLimit(of: key) == nil)
    }
}

@Suite struct ProviderGovernorTests {
    static let provider = "llm.chat:gpt-4o-mini"

    /// The chat graph registered, a worker, and `jobs` chat jobs plus one pipeline job (no provider).
    static func harness(chatJobs: Int) throws -> Harness {
        var harness = Harness()
        try harness.register(Graphs.chat)
        try harness.register(Graphs.pipeline)
        harness.addWorker("w1", capacity: 1_000)
        for number in 0..<chatJobs { _ = try harness.submit("chat", input: ["question": .string("q\(number)")]) }
        return harness
    }

    @Test func theProviderKeyIsTheProviderParameterOrTheTypeAndModel() throws {
        let yaml = """
            name: keys
            version: 1
            state: { text: string, vector: list, a: string, b: string, c: string }
            nodes:
              embed: { type: embed, params: { input: state.text, model: text-embedding-3-small }, writes: [vector] }
              chat: { type: llm.chat, params: { prompt: hi }, writes: [a] }
              shared: { type: llm.chat, params: { prompt: hi, model: gpt-4o, provider: "openai:main" }, writes: [b] }
              render: { type: template, params: { template: x }, writes: [c] }
            edges:
              - { from: START, to: embed }
              - { from: embed, to: chat }
              - { from: chat, to: shared }
              - { from: shared, to: render }
              - { from: render, to: END }
            """
        let graph = try GraphDefinition.load(yaml: yaml, fileName: "keys")
        let keys = graph.nodes.keys.sorted().map { ($0, graph.nodes[$0].flatMap(ClusterState.providerKey(of:))) }
        #expect(keys.map(\.0) == ["chat", "embed", "render", "shared"])
        #expect(keys.map(\.1) == ["llm.chat:default", "embed:text-embedding-3-small", nil, "openai:main"])
    }

    @Test func aThrottledProviderIsNotLeasedBeforeItsTimeAndIsAfter() throws {
        var harness = try Self.harness(chatJobs: 1)
        let until = harness.now + 5_000
        #expect(harness.apply(.throttleProvider(provider: Self.provider, untilMillis: until)) == .success(.providerThrottled(provider: Self.provider, untilMillis: until)))
        let pipeline = try harness.submit("pipeline", input: ["question": "q"])
        #expect(try harness.lease(after: 1).map(\.task.job) == [pipeline], "other providers are not held back")
        #expect(harness.now < until - 1)
        #expect(try harness.lease(after: until - 1 - harness.now).isEmpty, "no lease before T")
        #expect(harness.now == until - 1)
        let leased = try harness.lease(after: 1)
        #expect(harness.now == until)
        #expect(leased.map(\.provider) == [Self.provider], "leased at T")
        #expect(harness.state.providerNames.isEmpty, "a throttle that has passed is forgotten")
    }

    @Test func aLaterCloseWinsAndAnEarlierOneNeverReopensTheBucket() throws {
        var harness = try Self.harness(chatJobs: 1)
        let later = harness.now + 10_000
        harness.apply(.throttleProvider(provider: Self.provider, untilMillis: later))
        let result = harness.apply(.throttleProvider(provider: Self.provider, untilMillis: harness.now + 2_000))
        #expect(result == .success(.providerThrottled(provider: Self.provider, untilMillis: later)))
        #expect(try harness.lease(after: 5_000).isEmpty)
        #expect(try harness.lease(after: later - harness.now).count == 1)
    }

    @Test func theBucketGrantsItsBurstThenRefillsByLeaderTime() throws {
        var harness = try Self.harness(chatJobs: 10)
        #expect(
            harness.apply(.setProviderRate(provider: Self.provider, tokensPerSecond: 2, burst: 3))
                == .success(.providerRateSet(provider: Self.provider, tokensPerSecond: 2, burst: 3)))
        #expect(try harness.lease(after: 1).count == 3, "a new bucket starts full")
        #expect(try harness.lease(after: 499).isEmpty, "2 tokens/s: 499 ms is not one token")
        #expect(try harness.lease(after: 1).count == 1, "500 ms is")
        #expect(try harness.lease(after: 60_000).count == 3, "the bucket holds at most its burst")
        #expect(harness.state.providerStatus(Self.provider, atMillis: harness.now)?.availableTokens == 0)
        #expect(harness.state.providerStatus(Self.provider, atMillis: harness.now + 1_000)?.availableTokens == 2)
    }

    @Test func aFractionalRateRefillsExactlyWhateverHowOftenLeasesAsk() throws {
        var harness = try Self.harness(chatJobs: 3)
        harness.apply(.setProviderRate(provider: Self.provider, tokensPerSecond: 0.3, burst: 1))
        #expect(try harness.lease(after: 1).count == 1)
        // 0.3 tokens/s: one token per 3,333.3 ms, however often a lease asks in between.
        for _ in 0..<33 { #expect(try harness.lease(after: 100).isEmpty) }
        #expect(try harness.lease(after: 33).isEmpty, "3,333 ms")
        #expect(try harness.lease(after: 1).count == 1, "3,334 ms")
    }

    @Test func aThrottleClosesARateLimitedBucketToo() throws {
        var harness = try Self.harness(chatJobs: 2)
        harness.apply(.setProviderRate(provider: Self.provider, tokensPerSecond: 100, burst: 10))
        let until = harness.now + 1_000
        harness.apply(.throttleProvider(provider: Self.provider, untilMillis: until))
        #expect(try harness.lease(after: 999 - 1).isEmpty)
        #expect(try harness.lease(after: 1).count == 2)
        #expect(harness.state.providerNames == [Self.provider], "a bucket with a rate is kept")
    }

    @Test func tasksPassedOverByOtherLimitsTakeNoToken() throws {
        var harness = try Self.harness(chatJobs: 3)
        harness.apply(.setProviderRate(provider: Self.provider, tokensPerSecond: 0.001, burst: 3))
        harness.apply(.setGraphConcurrency(graph: "chat", maxLeasedTasks: 1))
        #expect(try harness.lease(after: 1).count == 1)
        #expect(harness.state.providerStatus(Self.provider, atMillis: harness.now)?.availableTokens == 2)
    }

    @Test func infinityRemovesTheRateLimit() throws {
        var harness = try Self.harness(chatJobs: 4)
        harness.apply(.setProviderRate(provider: Self.provider, tokensPerSecond: 0.001, burst: 1))
        #expect(try harness.lease(after: 1).count == 1)
        #expect(
            harness.apply(.setProviderRate(provider: Self.provider, tokensPerSecond: .infinity, burst: 0))
                == .success(.providerRateSet(provider: Self.provider, tokensPerSecond: nil, burst: nil)))
        #expect(harness.state.providerNames.isEmpty)
        #expect(try harness.lease(after: 1).count == 3)
    }

    @Test(arguments: [(-1.0, 3), (0, 3), (0.0001, 3), (Double.nan, 3), (2_000_000, 3), (1, 0), (1, 1_000_001)])
    func anOutOfRangeRateOrBurstIsRefused(rate: Double, burst: Int) {
        var harness = Harness()
        #expect(harness.apply(.setProviderRate(provider: Self.provider, tokensPerSecond: rate, burst: burst)).errorCode == .invalidCommand)
        #expect(harness.state.providerNames.isEmpty)
        #expect(harness.apply(.throttleProvider(provider: "", untilMillis: 1)).errorCode == .invalidCommand)
    }

    @Test func governorStateSurvivesASnapshotRestore() throws {
        var harness = try Self.harness(chatJobs: 5)
        harness.apply(.setProviderRate(provider: Self.provider, tokensPerSecond: 1, burst: 2))
        harness.apply(.throttleProvider(provider: "embed:default", untilMillis: harness.now + 60_000))
        _ = try harness.lease(after: 1)
        var restored = harness
        restored.state = try ClusterState.decode(harness.state.encoded())
        #expect(restored.state == harness.state)
        #expect(try restored.lease(after: 1_000).map(\.task) == harness.lease(after: 1_000).map(\.task))
    }
}
