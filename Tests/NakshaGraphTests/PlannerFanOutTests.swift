import Foundation
import Testing

@testable import NakshaGraph

@Suite struct PlannerFanOutTests {
    static let mapReduce = """
        name: map_reduce
        version: 1
        state:
          docs: { type: list, default: [] }
          lengths: { type: list, reducer: append, default: [] }
          total: { type: int, reducer: add, default: 0 }
          meta: { type: map, reducer: merge, default: {} }
          done: { type: bool }
        nodes:
          measure:
            type: transform
            params:
              set:
                lengths: "[len(item.text)]"
                total: len(item.text)
                meta: item.meta
          finish: { type: transform, params: { set: { done: "true" } } }
        edges:
          - { from: START, to: measure, over: state.docs }
          - { from: measure, to: finish }
          - { from: finish, to: END }
        """

    static let docs: GraphValue = [["text": "a"], ["text": "bbb"], ["text": "cc"]]

    @Test func fanOutIssuesOneTaskPerItemWithTheItem() throws {
        let planner = GraphPlanner(graph: try loadGraph(Self.mapReduce))
        let started = try planner.start(input: ["docs": Self.docs])
        #expect(
            started.step.readyTasks == [
                GraphTask(id: GraphTaskID(step: 1, node: "measure", index: 0), item: ["text": "a"]),
                GraphTask(id: GraphTaskID(step: 1, node: "measure", index: 1), item: ["text": "bbb"]),
                GraphTask(id: GraphTaskID(step: 1, node: "measure", index: 2), item: ["text": "cc"]),
            ])
    }

    @Test(arguments: [[0, 1, 2], [2, 1, 0], [1, 2, 0]])
    func fanInThroughReducersIsIndependentOfCompletionOrder(order: [Int]) throws {
        let graph = try loadGraph(Self.mapReduce)
        var driver = try Driver(graph, input: ["docs": Self.docs])
        var remaining = order
        try driver.run(
            choose: { pending in
                let wanted = remaining.isEmpty ? nil : remaining.removeFirst()
                let position = pending.firstIndex { $0.id.index == wanted } ?? 0
                return pending.remove(at: position)
            }, respond: transforms(graph))
        #expect(driver.state.status == .finished)
        #expect(driver.state.values["lengths"] == [1, 3, 2])
        #expect(driver.state.values["total"] == 6)
        #expect(driver.state.values["done"] == true)
        #expect(driver.trace.filter { $0.node == "finish" } == [GraphTaskID(step: 2, node: "finish")])
    }

    @Test func fanOutOverAnEmptyListSchedulesNothing() throws {
        var driver = try Driver(try loadGraph(Self.mapReduce), input: ["docs": []])
        #expect(driver.ready.isEmpty)
        #expect(driver.state.status == .finished)
        try driver.run { _, _ in [:] }
        #expect(driver.trace.isEmpty)
    }

    @Test func fanOutOverANonListFailsTheRun() throws {
        let yaml = Self.mapReduce.replacingFirst("docs: { type: list, default: [] }", with: "docs: any")
        let planner = GraphPlanner(graph: try loadGraph(yaml))
        let started = try planner.start(input: ["docs": "oops"])
        guard case .failed(let failure) = started.step.status else {
            Issue.record("expected failure, got \(started.step.status)")
            return
        }
        #expect(failure.code == .expressionFailed)
    }

    @Test func mergeReducerMergesMapsAcrossFanOutTasks() throws {
        let graph = try loadGraph(Self.mapReduce)
        let docs: GraphValue = [["text": "a", "meta": ["x": 1]], ["text": "b", "meta": ["y": 2, "x": 3]]]
        var driver = try Driver(graph, input: ["docs": docs, "meta": ["z": 0]])
        try driver.run(choose: { $0.removeLast() }, respond: transforms(graph))
        #expect(driver.state.values["meta"] == ["x": 3, "y": 2, "z": 0])
    }

    @Test func twoTasksWritingOneReplaceKeyInAStepConflict() throws {
        let yaml = """
            name: conflict
            version: 1
            state:
              out: any
            nodes:
              a: { type: template, params: { template: a }, writes: [out] }
            edges:
              - { from: START, to: a }
              - { from: a, to: END }
            """
        // The validator forbids this shape; the planner still refuses it at run time, so a
        // graph built by other means cannot silently lose a write.
        let graph = try loadGraph(yaml)
        let planner = GraphPlanner(graph: graph)
        var (state, _) = try planner.start(input: [:])
        state.running = [GraphTask(id: GraphTaskID(step: 1, node: "a", index: 0)), GraphTask(id: GraphTaskID(step: 1, node: "a", index: 1))]
        _ = try planner.complete(&state, task: GraphTaskID(step: 1, node: "a", index: 1), output: ["out": 1])
        let step = try planner.complete(&state, task: GraphTaskID(step: 1, node: "a", index: 0), output: ["out": 2])
        guard case .failed(let failure) = step.status else {
            Issue.record("expected a conflict")
            return
        }
        #expect(failure.code == .conflictingWrites)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
