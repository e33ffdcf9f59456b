import Foundation
import Testing

@testable import NakshaGraph

@Suite struct PlannerEdgeTests {
    static let linear = """
        name: linear
        version: 1
        state:
          text: string
          out: string
        nodes:
          a: { type: template, params: { template: "a" }, writes: [text] }
          b: { type: template, params: { template: "{{ state.text }}b" }, writes: [out] }
        edges:
          - { from: START, to: a }
          - { from: a, to: b }
          - { from: b, to: END }
        """

    @Test func startSchedulesTheTargetsOfStartEdges() throws {
        let planner = GraphPlanner(graph: try loadGraph(Self.linear))
        let started = try planner.start(input: ["text": "x"])
        #expect(started.step.readyTasks == [GraphTask(id: GraphTaskID(step: 1, node: "a"))])
        #expect(started.state.values == ["text": "x", "out": .null])
        #expect(started.state.step == 1)
    }

    @Test func staticEdgesRunInSequenceAndEndFinishes() throws {
        var driver = try Driver(try loadGraph(Self.linear))
        try driver.run { task, _ in task.node == "a" ? ["text": "A"] : ["out": "AB"] }
        #expect(driver.state.status == .finished)
        #expect(driver.trace == [GraphTaskID(step: 1, node: "a"), GraphTaskID(step: 2, node: "b")])
        #expect(driver.state.values == ["text": "A", "out": "AB"])
    }

    @Test func completionReturnsTheAppliedUpdateAndNextTask() throws {
        let planner = GraphPlanner(graph: try loadGraph(Self.linear))
        var (state, _) = try planner.start(input: [:])
        let step = try planner.complete(&state, task: GraphTaskID(step: 1, node: "a"), output: ["text": "A"])
        #expect(step == PlannerStep(ready: [ReadyTask(task: GraphTask(id: GraphTaskID(step: 2, node: "b")))], stateUpdate: ["text": "A"], status: .running))
    }

    @Test func duplicateCompletionIsRejectedAndLeavesStateUnchanged() throws {
        let planner = GraphPlanner(graph: try loadGraph(Self.linear))
        var (state, _) = try planner.start(input: [:])
        _ = try planner.complete(&state, task: GraphTaskID(step: 1, node: "a"), output: ["text": "A"])
        let before = state
        #expect(throws: PlannerError.self) {
            try planner.complete(&state, task: GraphTaskID(step: 1, node: "a"), output: ["text": "B"])
        }
        #expect(state == before)
    }

    @Test func outputOutsideWritesFailsTheRun() throws {
        let planner = GraphPlanner(graph: try loadGraph(Self.linear))
        var (state, _) = try planner.start(input: [:])
        let step = try planner.complete(&state, task: GraphTaskID(step: 1, node: "a"), output: ["out": "sneaky"])
        guard case .failed(let failure) = step.status else {
            Issue.record("expected failure, got \(step.status)")
            return
        }
        #expect(failure.code == .undeclaredWrite)
        #expect(state.running.isEmpty)
    }

    @Test func outputOfTheWrongTypeFailsTheRun() throws {
        let planner = GraphPlanner(graph: try loadGraph(Self.linear))
        var (state, _) = try planner.start(input: [:])
        let step = try planner.complete(&state, task: GraphTaskID(step: 1, node: "a"), output: ["text": 42])
        #expect(step.status == .failed(PlannerFailure(code: .outputTypeMismatch, node: "a", message: "task 1:a wrote int to \"text\", whose type is string")))
    }

    @Test func inputWithUnknownKeyIsRejectedWithSuggestion() throws {
        let planner = GraphPlanner(graph: try loadGraph(Self.linear))
        #expect(throws: PlannerError(code: .invalidInput, message: "input key \"txt\" is not in the state schema (did you mean \"text\"?)")) {
            try planner.start(input: ["txt": "x"])
        }
    }

    static let conditional = """
        name: conditional
        version: 1
        state:
          score: int
          route: string
        nodes:
          judge: { type: transform, params: { set: { score: "state.score" } } }
          high: { type: transform, params: { set: { route: "'high'" } } }
          mid: { type: transform, params: { set: { route: "'mid'" } } }
          low: { type: transform, params: { set: { route: "'low'" } } }
        edges:
          - { from: START, to: judge }
          - from: judge
            branches:
              - { when: "state.score >= 80", to: high }
              - { when: "state.score >= 50", to: mid }
              - { when: "state.score < 0", to: END }
            default: low
          - { from: high, to: END }
          - { from: mid, to: END }
          - { from: low, to: END }
        """

    @Test(arguments: [(90, "high"), (80, "high"), (79, "mid"), (50, "mid"), (10, "low"), (0, "low")])
    func conditionalEdgeTakesTheFirstMatchingBranchElseDefault(score: Int, expected: String) throws {
        var driver = try Driver(try loadGraph(Self.conditional), input: ["score": .int(score)])
        let graph = driver.planner.graph
        try driver.run(respond: transforms(graph))
        #expect(driver.state.status == .finished)
        #expect(driver.state.values["route"] == .string(expected))
    }

    @Test func conditionalBranchToEndFinishesTheRun() throws {
        var driver = try Driver(try loadGraph(Self.conditional), input: ["score": -5])
        try driver.run { _, _ in ["score": -5] }
        #expect(driver.state.status == .finished)
        #expect(driver.trace.map(\.node) == ["judge"])
    }

    @Test func conditionThatFailsToEvaluateFailsTheRun() throws {
        let yaml = Self.conditional.replacingOccurrences(of: "score: int", with: "score: any")
        var driver = try Driver(try loadGraph(yaml))
        try driver.run { _, _ in ["score": "not a number"] }
        guard case .failed(let failure) = driver.state.status else {
            Issue.record("expected failure")
            return
        }
        #expect(failure.code == .expressionFailed)
    }

    static let parallel = """
        name: parallel
        version: 1
        state:
          log: { type: list, reducer: append }
          total: { type: int, reducer: add }
        nodes:
          left: { type: transform, params: { set: { log: "['left']", total: "1" } } }
          right: { type: transform, params: { set: { log: "['right']", total: "2" } } }
          slow: { type: transform, params: { set: { log: "['slow']", total: "4" } } }
          join: { type: transform, params: { set: { log: "['join']", total: "8" } } }
        edges:
          - { from: START, to: left }
          - { from: START, to: right }
          - { from: right, to: slow }
          - { from: [left, slow], to: join }
          - { from: join, to: END }
        """

    @Test func joinEdgeWaitsForAllSources() throws {
        var driver = try Driver(try loadGraph(Self.parallel))
        let graph = driver.planner.graph
        try driver.run(respond: transforms(graph))
        #expect(driver.state.status == .finished)
        #expect(driver.trace.map(\.description) == ["1:left", "1:right", "2:slow", "3:join"])
        #expect(driver.state.values == ["log": ["left", "right", "slow", "join"], "total": 15])
    }

    @Test func parallelOutputsApplyInTaskOrderWhateverTheCompletionOrder() throws {
        var driver = try Driver(try loadGraph(Self.parallel))
        let graph = driver.planner.graph
        try driver.run(choose: { $0.removeLast() }, respond: transforms(graph))
        #expect(driver.trace.map(\.description) == ["1:right", "1:left", "2:slow", "3:join"])
        #expect(driver.state.values == ["log": ["left", "right", "slow", "join"], "total": 15])
    }

    @Test func stepThatStaysOpenReportsNoReadyTasks() throws {
        let planner = GraphPlanner(graph: try loadGraph(Self.parallel))
        var (state, _) = try planner.start(input: [:])
        let step = try planner.complete(&state, task: GraphTaskID(step: 1, node: "left"), output: ["total": 1])
        #expect(step == PlannerStep(status: .running))
        #expect(state.values["total"] == .null)
        #expect(state.outputs.count == 1)
    }

    @Test func loopWithExitConditionEndsAndStepLimitBoundsTheRun() throws {
        let yaml = """
            name: loop
            version: 1
            maxSteps: 10
            state:
              n: { type: int, reducer: add, default: 0 }
            nodes:
              inc: { type: transform, params: { set: { n: "1" } } }
            edges:
              - { from: START, to: inc }
              - from: inc
                branches:
                  - { when: "state.n < 3", to: inc }
                default: END
            """
        var driver = try Driver(try loadGraph(yaml))
        try driver.run { _, _ in ["n": 1] }
        #expect(driver.state.status == .finished)
        #expect(driver.state.values["n"] == 3)

        var endless = try Driver(try loadGraph(yaml.replacingOccurrences(of: "state.n < 3", with: "state.n < 1000")))
        try endless.run { _, _ in ["n": 1] }
        guard case .failed(let failure) = endless.state.status else {
            Issue.record("expected the step limit to stop the run")
            return
        }
        #expect(failure.code == .stepLimitExceeded)
        #expect(endless.trace.count == 10)
    }
}
