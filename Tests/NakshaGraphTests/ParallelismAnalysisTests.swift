import Testing

@testable import NakshaGraph

@Suite struct ParallelismAnalysisTests {
    /// The exact exploration never finds a pair the coarse fallback would miss, so falling
    /// back when the budget runs out never makes the parallel-write check unsound.
    @Test(arguments: Array(PlannerPropertyTests.seeds.prefix(150)))
    func coarseFallbackCoversTheExploredPairs(seed: UInt64) throws {
        var loader = GraphLoader(yaml: RandomGraph.yaml(seed: seed), fileName: "random.yaml")
        let loaded = loader.load()
        let graph = try #require(loaded)
        let analysis = ParallelismAnalysis(graph: graph)
        let explored = try #require(analysis.explore())
        #expect(explored.isSubset(of: analysis.coarsePairs()), "seed \(seed): \(explored.subtracting(analysis.coarsePairs()))")
    }

    /// Pairs the planner actually ran together are among the explored pairs.
    @Test(arguments: Array(PlannerPropertyTests.seeds.prefix(150)))
    func observedConcurrencyIsPredicted(seed: UInt64) throws {
        guard let graph = PlannerPropertyTests.validGraph(seed: seed) else { return }
        let predicted = try #require(ParallelismAnalysis(graph: graph).explore())
        let planner = GraphPlanner(graph: graph)
        var (state, _) = try planner.start(input: ["items": PlannerPropertyTests.items])
        for _ in 0..<500 {
            let nodes = Set(state.running.map(\.node) + state.held.map(\.node)).sorted()
            for (index, first) in nodes.enumerated() {
                for second in nodes[(index + 1)...] {
                    #expect(predicted.contains([first, second]), "seed \(seed): \(first) and \(second) ran together")
                }
            }
            switch state.status {
            case .running:
                let task = state.running[0]
                _ = try planner.complete(&state, task: task.id, output: RandomGraph.output(for: task, writes: graph.nodes[task.node]?.writes ?? []))
            case .interrupted: _ = try planner.resume(&state)
            case .finished, .failed: return
            }
        }
    }
}
