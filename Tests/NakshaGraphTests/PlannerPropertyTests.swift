import NakshaCore
import Testing

@testable import NakshaGraph

/// Properties of the planner on random valid graphs. Every case prints its seed on failure
/// (it is the test argument); rerun one seed with `--filter` to replay it.
@Suite struct PlannerPropertyTests {
    static let seeds: [UInt64] = Array(1...300)
    static let items: GraphValue = [["k": 1], ["k": 2], ["k": 3]]

    struct Outcome: Equatable {
        var status: PlannerStatus
        var values: [String: GraphValue]
        var stepsTaken: Int
        var resumes: Int
    }

    /// Runs to completion, choosing which running task completes next with `random`,
    /// failing some tasks once (they retry), and resuming every interrupt.
    static func run(_ graph: GraphDefinition, random: inout SeededGenerator) throws -> Outcome {
        let planner = GraphPlanner(graph: graph)
        var (state, _) = try planner.start(input: ["items": items])
        var resumes = 0
        var completions = 0
        let bound = (graph.maxSteps + 1) * graph.nodes.count * 4
        while completions <= bound {
            switch state.status {
            case .running:
                let task = state.running[random.below(state.running.count)]
                completions += 1
                let node = graph.nodes[task.node]
                if task.attempt < (node?.retry.maxAttempts ?? 1), random.chance(20) {
                    _ = try planner.failTask(&state, task: task.id, reason: "injected")
                    continue
                }
                _ = try planner.complete(&state, task: task.id, output: RandomGraph.output(for: task, writes: node?.writes ?? []))
            case .interrupted:
                resumes += 1
                _ = try planner.resume(&state)
            case .finished, .failed:
                return Outcome(status: state.status, values: state.values, stepsTaken: state.step, resumes: resumes)
            }
        }
        Issue.record("run did not end within \(bound) completions")
        return Outcome(status: state.status, values: state.values, stepsTaken: state.step, resumes: resumes)
    }

    static func validGraph(seed: UInt64) -> GraphDefinition? {
        try? GraphDefinition.load(yaml: RandomGraph.yaml(seed: seed), fileName: "random.yaml")
    }

    @Test func enoughRandomGraphsAreValid() {
        let valid = Self.seeds.filter { Self.validGraph(seed: $0) != nil }
        #expect(valid.count >= Self.seeds.count / 3, "only \(valid.count) of \(Self.seeds.count) random graphs were valid")
    }

    @Test(arguments: seeds)
    func everyRunEndsWithinTheStepBoundAndNeverConflicts(seed: UInt64) throws {
        guard let graph = Self.validGraph(seed: seed) else { return }
        var random = SeededGenerator(seed: seed ^ 0xA5A5)
        let outcome = try Self.run(graph, random: &random)
        #expect(outcome.stepsTaken <= graph.maxSteps)
        #expect(outcome.resumes <= graph.maxSteps + 1)
        switch outcome.status {
        case .finished:
            break
        case .failed(let failure):
            // The only way a valid graph fails here is by looping past maxSteps: the validator
            // must have excluded every write conflict.
            #expect(failure.code == .stepLimitExceeded, "seed \(seed): \(failure)")
        case .running, .interrupted:
            Issue.record("seed \(seed) stopped while \(outcome.status)")
        }
    }

    @Test(arguments: seeds)
    func finalStateIsIndependentOfCompletionOrder(seed: UInt64) throws {
        guard let graph = Self.validGraph(seed: seed) else { return }
        var first = SeededGenerator(seed: seed &* 31)
        var second = SeededGenerator(seed: seed &* 131 &+ 7)
        let a = try Self.run(graph, random: &first)
        let b = try Self.run(graph, random: &second)
        #expect(a.status == b.status, "seed \(seed)")
        #expect(a.values == b.values, "seed \(seed)")
        #expect(a.stepsTaken == b.stepsTaken, "seed \(seed)")
    }

    @Test(arguments: Array(seeds.prefix(60)))
    func checkpointsRoundTripAtEveryStep(seed: UInt64) throws {
        guard let graph = Self.validGraph(seed: seed) else { return }
        let planner = GraphPlanner(graph: graph)
        var (state, _) = try planner.start(input: ["items": Self.items])
        var random = SeededGenerator(seed: seed)
        for _ in 0..<200 {
            #expect(try JSONEncoderLike.roundTrip(state) == state)
            switch state.status {
            case .running:
                let task = state.running[random.below(state.running.count)]
                let writes = graph.nodes[task.node]?.writes ?? []
                _ = try planner.complete(&state, task: task.id, output: RandomGraph.output(for: task, writes: writes))
            case .interrupted:
                _ = try planner.resume(&state)
            case .finished, .failed:
                return
            }
        }
    }
}
