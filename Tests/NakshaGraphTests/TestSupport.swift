import Foundation
import Testing

@testable import NakshaGraph

/// Loads a graph from YAML written in a test, failing the test with the rendered errors.
func loadGraph(_ yaml: String, knownGraphs: Set<GraphReference>? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> GraphDefinition {
    switch GraphDefinition.check(yaml: yaml, fileName: "test.yaml", knownGraphs: knownGraphs) {
    case .success(let graph):
        return graph
    case .failure(let report):
        Issue.record("graph did not load:\n\(report)", sourceLocation: sourceLocation)
        throw report
    }
}

/// The errors a YAML text produces (empty when it is valid).
func errors(of yaml: String, knownGraphs: Set<GraphReference>? = nil) -> [GraphError] {
    switch GraphDefinition.check(yaml: yaml, fileName: "test.yaml", knownGraphs: knownGraphs) {
    case .success: return []
    case .failure(let report): return report.errors
    }
}

/// A file from the test corpus.
func corpusFile(_ folder: String, _ name: String) throws -> String {
    let url = try #require(Bundle.module.url(forResource: "Corpus/\(folder)/\(name)", withExtension: nil))
    return try String(contentsOf: url, encoding: .utf8)
}

/// The files of a corpus folder, sorted.
func corpusFiles(_ folder: String) -> [String] {
    guard let url = Bundle.module.url(forResource: "Corpus/\(folder)", withExtension: nil),
        let names = try? FileManager.default.contentsOfDirectory(atPath: url.path)
    else { return [] }
    return names.filter { $0.hasSuffix(".yaml") }.sorted()
}

/// Drives a run to its end: picks which running task completes next with `choose`
/// (first by default) and produces its output with `respond`.
struct Driver {
    let planner: GraphPlanner
    var state: PlannerState
    var trace: [GraphTaskID] = []
    var ready: [GraphTask] = []

    init(_ graph: GraphDefinition, input: [String: GraphValue] = [:]) throws {
        planner = GraphPlanner(graph: graph)
        let started = try planner.start(input: input)
        state = started.state
        ready = started.step.readyTasks
    }

    /// Completes tasks until the run is no longer running or `limit` completions happened.
    mutating func run(
        limit: Int = 1_000,
        choose: (inout [GraphTask]) -> GraphTask = { $0.removeFirst() },
        respond: (GraphTask, [String: GraphValue]) -> [String: GraphValue]
    ) throws {
        var completions = 0
        while case .running = state.status, completions < limit {
            var pending = state.running
            guard !pending.isEmpty else { return }
            let task = choose(&pending)
            trace.append(task.id)
            let step = try planner.complete(&state, task: task.id, output: respond(task, state.values))
            ready = step.readyTasks
            completions += 1
        }
    }
}

/// A responder that runs `transform` nodes the way a worker would (other kinds: no output).
func transforms(_ graph: GraphDefinition) -> (GraphTask, [String: GraphValue]) -> [String: GraphValue] {
    { task, state in
        guard let node = graph.nodes[task.node] else { return [:] }
        do {
            return try node.transformOutput(state: state, item: task.item)
        } catch {
            Issue.record("transform \(task) failed: \(error)")
            return [:]
        }
    }
}
