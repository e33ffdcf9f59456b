import NakshaCore
import NakshaGraph
import Testing

@testable import NakshaState

/// Subgraphs as child jobs: a `subgraph` task waits on a child job of the referenced graph
/// and ends with it; ids stay unique and ordered; failures go through the node's retry
/// policy; a parent that ends cancels its children; snapshots keep all of it.
@Suite struct ChildJobTests {
    static let summarize = """
        name: summarize
        version: 1
        state:
          text: string
          summary: string
          extra: string
        nodes:
          sum: { type: transform, params: { set: { summary: "'sum'", extra: "'extra'" } } }
        edges:
          - { from: START, to: sum }
          - { from: sum, to: END }
        """

    static let caller = """
        name: caller
        version: 1
        state:
          text: string
          summary: string
          done: string
        nodes:
          call:
            type: subgraph
            params:
              graph: summarize@1
              input: { text: state.text }
            writes: [summary]
            retry: { maxAttempts: 2, backoff: fixed, initialDelay: 10ms }
          after: { type: template, params: { template: "ok" }, writes: [done] }
        edges:
          - { from: START, to: call }
          - { from: call, to: after }
          - { from: after, to: END }
        """

    /// Two subgraph calls in parallel: two children started by one entry.
    static let twice = """
        name: twice
        version: 1
        state:
          text: string
          summary: string
          other: string
        nodes:
          left:
            type: subgraph
            params: { graph: summarize@1, input: { text: state.text } }
            writes: [summary]
          right:
            type: subgraph
            params: { graph: summarize@1, input: { text: "'right'" } }
            writes: [other]
        edges:
          - { from: START, to: left }
          - { from: START, to: right }
          - { from: left, to: END }
          - { from: right, to: END }
        """

    static func harness() throws -> Harness {
        var harness = Harness()
        try harness.register(summarize)
        try harness.register(caller)
        try harness.register(twice)
        harness.addWorker("w1")
        return harness
    }

    static func children(of job: JobID, in state: ClusterState) -> [JobRecord] {
        state.jobOrder.compactMap { state.jobs[$0] }.filter { $0.parent?.job == job }
    }

    @Test func aSubgraphTaskWaitsOnItsChildAndTakesTheKeysItWrites() throws {
        var harness = try Self.harness()
        let parent = try harness.submit("caller", input: ["text": "the log"])
        let waiting = try #require(harness.state.job(parent)?.tasks.first)
        #expect(waiting.node == "call" && waiting.state == .waiting)
        let child = try #require(Self.children(of: parent, in: harness.state).first)
        #expect(waiting.child == child.id && child.parent == waiting.id)
        #expect(child.graph == GraphReference(name: "summarize", version: 1) && child.input == ["text": "the log"])
        #expect(child.priority == 0 && child.fairnessKey == "caller", "a child shares its parent's priority and fairness key")
        #expect(harness.state.job(parent)?.status == .running)

        let leased = try harness.lease()
        #expect(leased.map(\.node) == ["sum"], "workers get the child's tasks, never the subgraph task")
        harness.complete(leased[0], output: ["summary": "short", "extra": "not copied"])
        #expect(harness.state.job(child.id)?.status == .succeeded)
        let parentJob = try #require(harness.state.job(parent))
        #expect(parentJob.tasks[0].state == .succeeded)
        #expect(parentJob.tasks[0].output == ["summary": "short"], "only the keys the node writes come back")
        #expect(parentJob.values["summary"] == "short")
        let next = try harness.lease()
        #expect(next.map(\.node) == ["after"])
        harness.complete(next[0], output: ["done": "ok"])
        #expect(harness.state.job(parent)?.status == .succeeded)
    }

    @Test func childrenStartedByOneEntryGetDistinctOrderedIdsAndLaterSubmitsStayAbove() throws {
        var harness = try Self.harness()
        let parent = try harness.submit("twice", input: ["text": "x"])
        let children = Self.children(of: parent, in: harness.state).map(\.id)
        #expect(children.count == 2)
        #expect(children == children.sorted() && Set(children).count == 2 && children.allSatisfy { $0 > parent })
        #expect(harness.state.jobOrder == harness.state.jobOrder.sorted(), "listing order stays the id order")
        // The entry after the parent's has the index one of the children took: the next
        // submit's id must still be new.
        let next = try harness.submit("summarize", input: ["text": "y"])
        #expect(next > children.max()! && harness.state.jobOrder.last == next)
        #expect(harness.state.jobs(limit: 10).jobs.map(\.id) == harness.state.jobOrder)
        for assignment in try harness.lease() { harness.complete(assignment, output: ["summary": .string("s-\(assignment.task)"), "extra": "e"]) }
        let done = try #require(harness.state.job(parent))
        #expect(done.status == .succeeded)
        #expect(done.values["summary"] != nil && done.values["other"] != nil)
    }

    @Test func aFailedChildIsRetriedAsANewChildThenDeadLettersItsParentTask() throws {
        var harness = try Self.harness()
        let parent = try harness.submit("caller", input: ["text": "t"])
        for attempt in 1...2 {
            let leased = try harness.lease()
            #expect(leased.count == 1, "attempt \(attempt): the child's task")
            harness.apply(.failTask(FailTask(task: leased[0].task, token: leased[0].token, reason: "boom \(attempt)", retryable: false)))
        }
        let job = try #require(harness.state.job(parent))
        let children = Self.children(of: parent, in: harness.state)
        #expect(children.count == 2 && children.allSatisfy { $0.status == .failed }, "each attempt had its own child job")
        #expect(job.tasks[0].state == .deadLettered && job.tasks[0].attempt == 2)
        #expect(job.status == .failed)
        #expect(job.tasks[0].error?.contains("boom 2") == true, "\(job.tasks[0].error ?? "")")
    }

    @Test func cancellingTheParentCancelsItsRunningChild() throws {
        var harness = try Self.harness()
        let parent = try harness.submit("caller", input: ["text": "t"])
        let child = try #require(Self.children(of: parent, in: harness.state).first?.id)
        let leased = try harness.lease()
        #expect(harness.apply(.cancelJob(parent)).errorCode == nil)
        #expect(harness.state.job(child)?.status == .cancelled)
        #expect(harness.state.job(child)?.error?.code == "parent_ended")
        #expect(harness.state.job(parent)?.tasks[0].state == .cancelled)
        // The child's worker reporting late is refused: nothing is recorded twice.
        #expect(harness.complete(leased[0], output: ["summary": "late", "extra": "e"]).errorCode != nil)
        #expect(harness.state.job(parent)?.values["summary"] != "late")
    }

    @Test func cancellingAChildFailsThenRetriesItsParentTask() throws {
        var harness = try Self.harness()
        let parent = try harness.submit("caller", input: ["text": "t"])
        let first = try #require(Self.children(of: parent, in: harness.state).first?.id)
        harness.apply(.cancelJob(first))
        let children = Self.children(of: parent, in: harness.state)
        #expect(children.count == 2, "the retry policy started a second child")
        #expect(harness.state.job(parent)?.tasks[0].state == .waiting && harness.state.job(parent)?.tasks[0].child == children.last?.id)
    }

    @Test func aSnapshotMidFlightRestoresEverythingIncludingTheNextId() throws {
        var harness = try Self.harness()
        let parent = try harness.submit("twice", input: ["text": "x"])
        let bytes = harness.state.encoded()
        let restored = try ClusterState.decode(bytes)
        #expect(restored == harness.state)
        #expect(restored.encoded() == bytes)
        var replica = harness
        replica.state = restored
        let original = try harness.submit("summarize", input: ["text": "y"])
        let fromSnapshot = try replica.submit("summarize", input: ["text": "y"])
        #expect(original == fromSnapshot, "the restored replica gives the same id")
        #expect(Self.children(of: parent, in: restored).allSatisfy { $0.id < original })
        #expect(replica.state.encoded() == harness.state.encoded())
    }

    @Test func aGraphIsRefusedUntilTheGraphItCallsIsRegistered() throws {
        var harness = Harness()
        let early = harness.apply(.registerGraph(RegisterGraph(name: "caller", yaml: Self.caller, contentHash: Graphs.hash(Self.caller))))
        guard case .failure(let error) = early else {
            Issue.record("registered a graph whose subgraph is unknown: \(early)")
            return
        }
        #expect(error.code == .invalidGraph && error.message.contains("unknown_subgraph") && error.message.contains("summarize@1"), "\(error)")
        try harness.register(Self.summarize)
        try harness.register(Self.caller)
    }

    @Test func withoutChildJobsIdsAreStillTheSubmitIndexes() throws {
        var harness = try Self.harness()
        let first = try harness.submit("summarize", input: ["text": "a"])
        #expect(first.rawValue == harness.index)
        harness.apply(.setGraphConcurrency(graph: "x", maxLeasedTasks: 3))
        let second = try harness.submit("summarize", input: ["text": "b"])
        #expect(second.rawValue == harness.index)
        #expect(harness.state.lastJobID == 0, "canonical: nothing to remember when ids are indexes")
    }
}
