import Foundation
import Testing

@testable import NakshaGraph

@Suite struct PlannerInterruptTests {
    static let approval = """
        name: approval
        version: 1
        state:
          draft: string
          approved: { type: bool, default: false }
          sent: { type: bool, default: false }
        nodes:
          write: { type: template, params: { template: draft }, writes: [draft] }
          send: { type: transform, params: { set: { sent: "true" } }, interrupt: before }
        edges:
          - { from: START, to: write }
          - { from: write, to: send }
          - { from: send, to: END }
        """

    @Test func interruptBeforeHoldsTheNodeUntilResume() throws {
        let graph = try loadGraph(Self.approval)
        let planner = GraphPlanner(graph: graph)
        var (state, _) = try planner.start(input: [:])
        let paused = try planner.complete(&state, task: GraphTaskID(step: 1, node: "write"), output: ["draft": "hello"])
        #expect(paused.status == .interrupted(GraphInterrupt(point: .before, nodes: ["send"])))
        #expect(paused.ready.isEmpty)
        #expect(paused.stateUpdate == ["draft": "hello"])
        #expect(state.held == [GraphTask(id: GraphTaskID(step: 2, node: "send"))])

        let resumed = try planner.resume(&state, input: ["approved": true])
        #expect(resumed.readyTasks == [GraphTask(id: GraphTaskID(step: 2, node: "send"))])
        #expect(resumed.stateUpdate == ["approved": true])
        #expect(state.values["approved"] == true)
        _ = try planner.complete(&state, task: GraphTaskID(step: 2, node: "send"), output: ["sent": true])
        #expect(state.status == .finished)
    }

    @Test func checkpointRoundTripsThroughCodableWhileInterrupted() throws {
        let planner = GraphPlanner(graph: try loadGraph(Self.approval))
        var (state, _) = try planner.start(input: [:])
        _ = try planner.complete(&state, task: GraphTaskID(step: 1, node: "write"), output: ["draft": "hello"])
        let decoded = try JSONDecoder().decode(PlannerState.self, from: JSONEncoder().encode(state))
        #expect(decoded == state)
    }

    @Test func completingAndResumingInTheWrongStatusThrows() throws {
        let planner = GraphPlanner(graph: try loadGraph(Self.approval))
        var (state, _) = try planner.start(input: [:])
        #expect(throws: PlannerError.self) { try planner.resume(&state) }
        _ = try planner.complete(&state, task: GraphTaskID(step: 1, node: "write"), output: ["draft": "x"])
        #expect(throws: PlannerError.self) {
            try planner.complete(&state, task: GraphTaskID(step: 2, node: "send"), output: [:])
        }
        let before = state
        #expect(throws: PlannerError.self) { try planner.resume(&state, input: ["approved": "yes"]) }
        #expect(state == before)
    }

    static let review = """
        name: review
        version: 1
        state:
          draft: string
          approved: { type: bool, default: false }
        nodes:
          write: { type: template, params: { template: draft }, writes: [draft], interrupt: after }
          publish: { type: template, params: { template: ok }, writes: [draft] }
        edges:
          - { from: START, to: write }
          - from: write
            branches:
              - { when: state.approved, to: publish }
            default: END
          - { from: publish, to: END }
        """

    @Test(arguments: [(true, ["write", "publish"]), (false, ["write"])])
    func interruptAfterRoutesOnTheResumedState(approved: Bool, expected: [String]) throws {
        let graph = try loadGraph(Self.review)
        let planner = GraphPlanner(graph: graph)
        var (state, _) = try planner.start(input: [:])
        let paused = try planner.complete(&state, task: GraphTaskID(step: 1, node: "write"), output: ["draft": "v1"])
        #expect(paused.status == .interrupted(GraphInterrupt(point: .after, nodes: ["write"])))
        let resumed = try planner.resume(&state, input: ["approved": .bool(approved)])
        var ran = ["write"]
        for task in resumed.readyTasks {
            ran.append(task.node)
            _ = try planner.complete(&state, task: task.id, output: [:])
        }
        #expect(ran == expected)
        #expect(state.status == .finished)
    }

    static let flaky = """
        name: flaky
        version: 1
        state:
          out: string
        nodes:
          call:
            type: http
            params: { url: "https://example.com" }
            writes: [out]
            retry: { maxAttempts: 3, backoff: exponential, initialDelay: 100ms, maxDelay: 150ms }
        edges:
          - { from: START, to: call }
          - { from: call, to: END }
        """

    @Test func failedTaskIsRetriedWithBackoffThenFailsTheRun() throws {
        let planner = GraphPlanner(graph: try loadGraph(Self.flaky))
        var (state, _) = try planner.start(input: [:])
        let id = GraphTaskID(step: 1, node: "call")
        let first = try planner.failTask(&state, task: id, reason: "timeout")
        #expect(first.ready == [ReadyTask(task: GraphTask(id: id, attempt: 2), delayMillis: 100)])
        let second = try planner.failTask(&state, task: id, reason: "timeout")
        #expect(second.ready == [ReadyTask(task: GraphTask(id: id, attempt: 3), delayMillis: 150)])
        let last = try planner.failTask(&state, task: id, reason: "HTTP 503")
        #expect(
            last.status
                == .failed(PlannerFailure(code: .nodeFailed, node: "call", message: "node \"call\" failed on attempt 3 of 3: HTTP 503")))
    }

    @Test func retriedTaskCanStillComplete() throws {
        let planner = GraphPlanner(graph: try loadGraph(Self.flaky))
        var (state, _) = try planner.start(input: [:])
        let id = GraphTaskID(step: 1, node: "call")
        _ = try planner.failTask(&state, task: id, reason: "timeout")
        _ = try planner.complete(&state, task: id, output: ["out": "body"])
        #expect(state.status == .finished)
        #expect(state.values["out"] == "body")
    }

    @Test(arguments: [(1, 100), (2, 200), (3, 400), (10, 1_000), (Int.max, 1_000)])
    func exponentialBackoffDoublesUpToTheCap(failedAttempt: Int, expected: Int) {
        let policy = RetryPolicy(maxAttempts: 5, backoff: .exponential, initialDelayMillis: 100, maxDelayMillis: 1_000)
        #expect(policy.delayMillis(afterFailedAttempt: failedAttempt) == expected)
    }

    static let parent = """
        name: parent
        version: 1
        state:
          texts: { type: list, default: [] }
          summaries: { type: list, reducer: append, default: [] }
        nodes:
          each:
            type: subgraph
            params:
              graph: summarize@1
              input: { text: item }
            writes: [summaries]
        edges:
          - { from: START, to: each, over: state.texts }
          - { from: each, to: END }
        """

    @Test func subgraphTaskNamesTheChildGraphAndItsInput() throws {
        let graph = try loadGraph(Self.parent, knownGraphs: [GraphReference(name: "summarize", version: 1)])
        #expect(graph.subgraphReferences == [GraphReference(name: "summarize", version: 1)])
        let planner = GraphPlanner(graph: graph)
        var (state, step) = try planner.start(input: ["texts": ["one", "two"]])
        let calls = try step.readyTasks.map { try planner.subgraphCall(for: $0, state: state) }
        #expect(
            calls == [
                SubgraphCall(graph: GraphReference(name: "summarize", version: 1), input: ["text": "one"]),
                SubgraphCall(graph: GraphReference(name: "summarize", version: 1), input: ["text": "two"]),
            ])
        for task in step.readyTasks.reversed() {
            let childValues: [String: GraphValue] = ["text": task.item ?? .null, "summaries": [.string("S")]]
            _ = try planner.complete(&state, task: task.id, output: planner.subgraphOutput(for: task, childValues: childValues))
        }
        #expect(state.status == .finished)
        #expect(state.values["summaries"] == ["S", "S"])
    }

    @Test func unknownSubgraphIsReportedWhenARegistryIsGiven() {
        let found = errors(of: Self.parent, knownGraphs: [GraphReference(name: "summarise", version: 1)])
        #expect(found.map(\.code) == [.unknownSubgraph])
        #expect(found.first?.message.contains("did you mean \"summarise@1\"") == true)
    }
}
