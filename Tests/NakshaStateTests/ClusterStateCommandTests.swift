import Foundation
import NakshaCore
import NakshaGraph
import Testing

@testable import NakshaState

@Suite struct GraphRegistryTests {
    @Test func registeringTheSameContentThreeTimesGivesOneVersion() throws {
        var harness = Harness()
        let register = ClusterCommand.registerGraph(RegisterGraph(name: "pipeline", yaml: Graphs.pipeline, contentHash: Graphs.hash(Graphs.pipeline)))
        let results = (0..<3).map { _ in harness.apply(register) }
        guard case .success(.graphRegistered(let first, let created)) = results[0] else { throw HarnessError.unexpected("\(results[0])") }
        #expect(created)
        for result in results.dropFirst() { #expect(result == .success(.graphRegistered(first, created: false))) }
        #expect(harness.state.graphVersions(named: "pipeline") == [first])
        #expect(first.version == 1)
    }

    @Test func otherContentUnderTheSameVersionConflicts() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        let changed = Graphs.pipeline.replacingOccurrences(of: "\"answer\"", with: "\"other\"")
        let result = harness.apply(.registerGraph(RegisterGraph(name: "pipeline", yaml: changed, contentHash: Graphs.hash(changed))))
        #expect(result.errorCode == .graphVersionConflict)
        let bumped = changed.replacingOccurrences(of: "version: 1", with: "version: 2")
        let second = try harness.register(bumped)
        #expect(second.version == 2)
        #expect(harness.state.graphVersions(named: "pipeline").map(\.version) == [1, 2])
    }

    @Test func invalidYAMLAndAWrongNameAreRefused() {
        var harness = Harness()
        #expect(harness.apply(.registerGraph(RegisterGraph(name: "x", yaml: "name: [", contentHash: "h"))).errorCode == .invalidGraph)
        #expect(harness.apply(.registerGraph(RegisterGraph(name: "other", yaml: Graphs.pipeline, contentHash: "h"))).errorCode == .invalidGraph)
        #expect(harness.state.graphNames.isEmpty)
    }

    @Test func aJobPinsTheVersionItStartedWith() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        let job = try harness.submit("pipeline")
        try harness.register(Graphs.pipeline.replacingOccurrences(of: "version: 1", with: "version: 2"))
        #expect(harness.state.job(job)?.graph == GraphReference(name: "pipeline", version: 1))
        let later = try harness.submit("pipeline")
        #expect(harness.state.job(later)?.graph == GraphReference(name: "pipeline", version: 2))
    }
}

@Suite struct SubmitTests {
    @Test func submitMakesTheEntryNodesReadyWithTheIndexAsID() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        let job = try harness.submit("pipeline", input: ["question": "q"])
        #expect(job == JobID(rawValue: harness.index))
        let record = try #require(harness.state.job(job))
        #expect(record.status == .queued)
        #expect(record.tasks.map(\.node) == ["retrieve"])
        #expect(record.tasks[0].state == .ready)
        #expect(record.values["question"] == "q")
        #expect(harness.state.taskCounts == TaskCounts(ready: 1, retrying: 0, leased: 0))
    }

    @Test func unknownGraphAndBadInputWriteNothing() throws {
        var harness = Harness()
        let before = harness.state.encoded()
        #expect(harness.apply(.submitJob(SubmitJob(graph: .named("nope", version: nil)))).errorCode == .unknownGraph)
        try harness.register(Graphs.pipeline)
        let registered = harness.state
        #expect(harness.apply(.submitJob(SubmitJob(graph: .named("pipeline", version: nil), input: ["questoin": "q"]))).errorCode == .invalidInput)
        #expect(harness.apply(.submitJob(SubmitJob(graph: .named("pipeline", version: 7)))).errorCode == .unknownGraph)
        #expect(harness.state.jobCount == 0)
        var comparable = harness.state
        comparable.lastAppliedIndex = registered.lastAppliedIndex
        #expect(comparable == registered)
        #expect(before.count > 0)
    }

    @Test func inlineDefinitionIsRegisteredOnlyWhenTheSubmitIsAccepted() throws {
        var harness = Harness()
        let bad = harness.apply(.submitJob(SubmitJob(graph: .inline(yaml: Graphs.pipeline, contentHash: "h1"), input: ["nope": 1])))
        #expect(bad.errorCode == .invalidInput)
        #expect(harness.state.graphNames.isEmpty)
        let good = harness.apply(.submitJob(SubmitJob(graph: .inline(yaml: Graphs.pipeline, contentHash: "h1"))))
        guard case .success(.jobSubmitted(_, .queued, false)) = good else { throw HarnessError.unexpected("\(good)") }
        #expect(harness.state.graphNames == ["pipeline"])
    }

    @Test func sameKeySameBodyGivesOneJobEvenWhenDuplicatedAndRetried() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        let submit = ClusterCommand.submitJob(SubmitJob(graph: .named("pipeline", version: nil), input: ["question": "q"], idempotencyKey: "k1"))
        let first = harness.apply(submit)
        guard case .success(.jobSubmitted(let job, _, false)) = first else { throw HarnessError.unexpected("\(first)") }
        for _ in 0..<3 {
            #expect(harness.apply(submit) == .success(.jobSubmitted(job, status: .queued, existing: true)))
        }
        #expect(harness.state.jobCount == 1)
    }

    @Test func sameKeyWithADifferentBodyConflicts() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        _ = try harness.submit("pipeline", input: ["question": "q"], key: "k1")
        let other = harness.apply(.submitJob(SubmitJob(graph: .named("pipeline", version: nil), input: ["question": "other"], idempotencyKey: "k1")))
        #expect(other.errorCode == .idempotencyConflict)
        let priority = harness.apply(.submitJob(SubmitJob(graph: .named("pipeline", version: nil), input: ["question": "q"], idempotencyKey: "k1", priority: 5)))
        #expect(priority.errorCode == .idempotencyConflict)
        #expect(harness.state.jobCount == 1)
    }

    @Test func keysOutliveEvictionAndExpireAfterTheirTTL() throws {
        var harness = Harness(limits: ClusterLimits(idempotencyTTLMillis: 10_000))
        try harness.register(Graphs.pipeline)
        let job = try harness.submit("pipeline", key: "k")
        harness.apply(.cancelJob(job))
        #expect(harness.apply(.evictJobs([job])) == .success(.jobsEvicted([job])))
        let again = harness.apply(.submitJob(SubmitJob(graph: .named("pipeline", version: nil), idempotencyKey: "k")))
        #expect(again == .success(.jobSubmitted(job, status: nil, existing: true)))
        harness.now += 10_000
        let fresh = try harness.submit("pipeline", key: "k")
        #expect(fresh != job)
        #expect(harness.state.idempotencyKeyCount == 1)
    }
}

@Suite struct LeaseTests {
    @Test func leasesGoHigherPriorityFirstAndFIFOWithinAPriority() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        let low1 = try harness.submit("pipeline", priority: 0)
        let high1 = try harness.submit("pipeline", priority: 5)
        let low2 = try harness.submit("pipeline", priority: 0)
        let high2 = try harness.submit("pipeline", priority: 5)
        harness.addWorker("w1")
        let leased = try harness.lease(max: 3)
        #expect(leased.map(\.task.job) == [high1, high2, low1])
        #expect(try harness.lease(max: 3).map(\.task.job) == [low2])
    }

    @Test func tokenIsTheIndexAndExpiryIsTheTimestampPlusTheDuration() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        _ = try harness.submit("pipeline")
        harness.addWorker("w1")
        let context = harness.nextContext
        let leased = try harness.lease(durationMillis: 5_000)
        #expect(leased.count == 1)
        #expect(leased[0].token == LeaseToken(rawValue: context.index))
        #expect(leased[0].expiresMillis == context.timestampMillis + 1 + 5_000)
        #expect(harness.state.job(leased[0].task.job)?.status == .running)
    }

    @Test func unknownWorkersCannotLeaseAndCapacityBoundsTheBatch() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        for _ in 0..<5 { _ = try harness.submit("pipeline") }
        #expect(harness.apply(.leaseTasks(LeaseTasks(worker: "ghost", max: 1, leaseDurationMillis: 10))).errorCode == .unknownWorker)
        harness.addWorker("w1", capacity: 2)
        #expect(try harness.lease(max: 10).count == 2)
        #expect(try harness.lease(max: 10).isEmpty)
    }

    @Test func perGraphConcurrencyLimitIsHonoured() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        for _ in 0..<4 { _ = try harness.submit("pipeline") }
        harness.apply(.setGraphConcurrency(graph: "pipeline", maxLeasedTasks: 1))
        harness.addWorker("w1")
        #expect(try harness.lease(max: 10).count == 1)
        #expect(try harness.lease(max: 10).isEmpty)
    }
}

@Suite struct CompletionTests {
    @Test func completingRunsTheJobToSuccess() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        let job = try harness.submit("pipeline", input: ["question": "q"])
        harness.addWorker("w1")
        let first = try harness.lease()
        #expect(harness.complete(first[0]) == .success(.taskCompleted(first[0].task, jobStatus: .running)))
        let second = try harness.lease()
        #expect(second.map(\.node) == ["generate"])
        #expect(second[0].state["docs"] == "d")
        #expect(harness.complete(second[0]) == .success(.taskCompleted(second[0].task, jobStatus: .succeeded)))
        let record = try #require(harness.state.job(job))
        #expect(record.status == .succeeded)
        #expect(record.values["answer"] == "a")
        #expect(record.tasks.map(\.state) == [.succeeded, .succeeded])
        #expect(record.tasks[0].output == ["docs": "d"])
        #expect(record.finishedMillis == harness.now)
        #expect(harness.state.taskCounts == TaskCounts(ready: 0, retrying: 0, leased: 0))
    }

    @Test func aStaleTokenIsRejectedSoTheOutputIsRecordedOnce() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        _ = try harness.submit("pipeline")
        harness.addWorker("w1")
        let first = try harness.lease(durationMillis: 100)
        harness.now += 1_000
        #expect(harness.apply(.expireLeases(nil)) == .success(.leasesExpired([first[0].task])))
        harness.now += 60_000
        let second = try harness.lease()
        #expect(second.map(\.task) == [first[0].task])
        #expect(second[0].attempt == 2)
        #expect(harness.complete(first[0]).errorCode == .staleLease)
        #expect(harness.complete(second[0]) == .success(.taskCompleted(second[0].task, jobStatus: .running)))
        #expect(harness.complete(second[0]).errorCode == .staleLease)
        #expect(harness.state.task(second[0].task)?.output == ["docs": "d"])
    }

    @Test func anOversizedOutputFailsTheTaskWithATypedError() throws {
        var harness = Harness(limits: ClusterLimits(maxTaskOutputBytes: 64))
        try harness.register(Graphs.pipeline)
        let job = try harness.submit("pipeline")
        harness.addWorker("w1")
        let leased = try harness.lease()
        let result = harness.complete(leased[0], output: ["docs": .string(String(repeating: "x", count: 100))])
        #expect(result.errorCode == .outputTooLarge)
        #expect(harness.state.job(job)?.status == .failed)
        #expect(harness.state.job(job)?.error?.code == "output_too_large")
        #expect(harness.state.task(leased[0].task)?.state == .failed)
    }

    @Test func anOutputOutsideTheNodesWritesFailsTheJob() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        let job = try harness.submit("pipeline")
        harness.addWorker("w1")
        let leased = try harness.lease()
        #expect(harness.complete(leased[0], output: ["answer": "sneaky"]) == .success(.taskCompleted(leased[0].task, jobStatus: .failed)))
        #expect(harness.state.job(job)?.error?.code == "undeclared_write")
        #expect(harness.state.task(leased[0].task)?.output == nil)
    }
}

@Suite struct RetryTests {
    @Test func retryableFailuresBackOffThenDeadLetter() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        let job = try harness.submit("pipeline")
        harness.addWorker("w1")
        var delays: [UInt64] = []
        for attempt in 1...2 {
            let leased = try harness.lease()
            #expect(leased.count == 1)
            #expect(leased[0].attempt == attempt)
            let failedAt = harness.now + 1
            let result = harness.apply(.failTask(FailTask(task: leased[0].task, token: leased[0].token, reason: "503", retryable: true)))
            guard case .success(.taskFailed(_, .retrying, let retryAt?, .running)) = result else { throw HarnessError.unexpected("\(result)") }
            delays.append(retryAt - failedAt)
            #expect(try harness.lease().isEmpty)  // still backing off
            harness.now = retryAt
        }
        // Exponential (1 s, then 2 s) with equal jitter: in [base/2, base].
        #expect((500...1_000).contains(delays[0]))
        #expect((1_000...2_000).contains(delays[1]))
        let last = try harness.lease()
        #expect(last[0].attempt == 3)
        let result = harness.apply(.failTask(FailTask(task: last[0].task, token: last[0].token, reason: "503", retryable: true)))
        #expect(result == .success(.taskFailed(last[0].task, state: .deadLettered, retryAtMillis: nil, jobStatus: .failed)))
        #expect(harness.state.job(job)?.error?.code == "node_failed")
    }

    @Test func jitterIsDeterministicForTheSameIndex() throws {
        func retryAt() throws -> UInt64 {
            var harness = Harness()
            try harness.register(Graphs.pipeline)
            _ = try harness.submit("pipeline")
            harness.addWorker("w1")
            let leased = try harness.lease()
            guard case .success(.taskFailed(_, _, let at?, _)) = harness.apply(.failTask(FailTask(task: leased[0].task, token: leased[0].token, reason: "x", retryable: true))) else {
                throw HarnessError.unexpected("no retry")
            }
            return at
        }
        #expect(try retryAt() == retryAt())
        let spread = Set((0..<64).map { ClusterState.jitteredDelay(1_000, seed: $0, job: JobID(rawValue: 1), graphTask: GraphTaskID(step: 1, node: "a")) })
        #expect(spread.count > 10)
        #expect(spread.allSatisfy { (500...1_000).contains($0) })
    }

    @Test func aNonRetryableFailureFailsTheJob() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        let job = try harness.submit("pipeline")
        harness.addWorker("w1")
        let leased = try harness.lease()
        let result = harness.apply(.failTask(FailTask(task: leased[0].task, token: leased[0].token, reason: "400", retryable: false)))
        #expect(result == .success(.taskFailed(leased[0].task, state: .failed, retryAtMillis: nil, jobStatus: .failed)))
        #expect(harness.state.job(job)?.error?.code == "task_failed")
    }

    @Test func aDeregisteredWorkersLeasesAreRetried() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        _ = try harness.submit("pipeline")
        harness.addWorker("w1")
        let leased = try harness.lease()
        #expect(harness.apply(.deregisterWorker("w1")) == .success(.workersRemoved(["w1"], releasedTasks: [leased[0].task])))
        #expect(harness.state.task(leased[0].task)?.state == .retrying)
        #expect(harness.state.task(leased[0].task)?.attempt == 2)
        #expect(harness.apply(.expireWorkers(["w1"])) == .success(.workersRemoved([], releasedTasks: [])))
    }
}

@Suite struct CancelAndResumeTests {
    @Test func cancelDropsReadyTasksAndRevokesLeases() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        let leasedJob = try harness.submit("pipeline")
        harness.addWorker("w1")
        let leased = try harness.lease()
        let queuedJob = try harness.submit("pipeline")
        #expect(harness.state.taskCounts == TaskCounts(ready: 1, retrying: 0, leased: 1))
        #expect(harness.apply(.cancelJob(queuedJob)) == .success(.jobCancelled(queuedJob)))
        #expect(harness.apply(.cancelJob(leasedJob)) == .success(.jobCancelled(leasedJob)))
        #expect(harness.state.taskCounts == TaskCounts(ready: 0, retrying: 0, leased: 0))
        #expect(!harness.state.isCurrent(leased[0].lease))
        #expect(harness.complete(leased[0]).errorCode == .staleLease)
        #expect(harness.state.job(queuedJob)?.tasks.map(\.state) == [.cancelled])
        #expect(harness.apply(.cancelJob(queuedJob)).errorCode == .notCancellable)
        #expect(harness.apply(.cancelJob(JobID(rawValue: 999))).errorCode == .unknownJob)
    }

    @Test func interruptThenResumeWithInput() throws {
        var harness = Harness()
        try harness.register(Graphs.approval)
        let job = try harness.submit("approval")
        harness.addWorker("w1")
        let write = try harness.lease()
        #expect(harness.complete(write[0]) == .success(.taskCompleted(write[0].task, jobStatus: .interrupted)))
        #expect(harness.state.job(job)?.tasks.map(\.state) == [.succeeded, .interrupted])
        #expect(try harness.lease().isEmpty)
        #expect(harness.apply(.resumeJob(ResumeJob(job: job, input: ["approved": "yes"]))).errorCode == .invalidInput)
        #expect(harness.apply(.resumeJob(ResumeJob(job: job, input: ["approved": true]))) == .success(.jobResumed(job, status: .running)))
        #expect(harness.state.job(job)?.values["approved"] == true)
        let send = try harness.lease()
        #expect(send.map(\.node) == ["send"])
        #expect(send[0].task == TaskID(job: job, number: 2))
        #expect(harness.complete(send[0]) == .success(.taskCompleted(send[0].task, jobStatus: .succeeded)))
        #expect(harness.apply(.resumeJob(ResumeJob(job: job))).errorCode == .notInterrupted)
    }
}

@Suite struct QueryTests {
    @Test func jobsArePagedInIDOrderWithFilters() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        try harness.register(Graphs.approval)
        var ids: [JobID] = []
        for number in 0..<5 { ids.append(try harness.submit(number % 2 == 0 ? "pipeline" : "approval")) }
        let first = harness.state.jobs(limit: 2)
        #expect(first.jobs.map(\.id) == Array(ids[0..<2]))
        let second = harness.state.jobs(limit: 2, after: first.nextCursor)
        #expect(second.jobs.map(\.id) == Array(ids[2..<4]))
        let third = harness.state.jobs(limit: 2, after: second.nextCursor)
        #expect(third.jobs.map(\.id) == [ids[4]])
        #expect(third.nextCursor == nil)
        #expect(harness.state.jobs(graph: "approval").jobs.map(\.id) == [ids[1], ids[3]])
        harness.apply(.cancelJob(ids[2]))
        #expect(harness.state.jobs(status: .cancelled).jobs.map(\.id) == [ids[2]])
    }

    @Test func eventsCarryTheEntryIndexAndResumeWithoutGaps() throws {
        var harness = Harness(limits: ClusterLimits(maxEventsPerJob: 3))
        try harness.register(Graphs.pipeline)
        let job = try harness.submit("pipeline")
        let submitIndex = harness.index
        harness.addWorker("w1")
        let leased = try harness.lease()
        let leaseIndex = harness.index
        let all = try #require(harness.state.events(of: job))
        #expect(all.events.map(\.index) == [submitIndex, leaseIndex])
        #expect(all.events[0].changes == [.status(.queued), .task(TaskID(job: job, number: 1), state: .ready, attempt: 1)])
        #expect(harness.state.events(of: job, after: submitIndex)?.events.map(\.index) == [leaseIndex])
        harness.complete(leased[0])
        _ = try harness.lease()
        let fromStart = try #require(harness.state.events(of: job))
        #expect(fromStart.events.count == 3)
        #expect(fromStart.missedSome)
        let resumed = try #require(harness.state.events(of: job, after: submitIndex))
        #expect(resumed.events.first?.index == leaseIndex)
        #expect(!resumed.missedSome)
    }
}
