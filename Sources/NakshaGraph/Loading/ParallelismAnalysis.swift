/// Which pairs of nodes may run in the same step.
///
/// Explores the planner's step structure abstractly: conditions are ignored (every branch
/// is possible), a fan-out may produce no task or some, joins are tracked as the planner
/// tracks them. Every pair of nodes active together in some explored step is reported, so
/// the result over-approximates every real run (sound for the parallel-write check). If
/// the exploration exceeds its budget it falls back to a coarser rule: nodes reachable from
/// two different edges of one fork may run together.
struct ParallelismAnalysis {
    /// Budget on explored abstract steps, and on the successors of one step.
    static let maxStates = 20_000
    static let maxSuccessorsPerState = 1_024
    /// Budget on successor steps generated in total.
    static let maxWork = 200_000

    private struct AbstractStep: Hashable {
        var active: [String]
        var joins: [Int: Set<String>]
    }

    let graph: GraphDefinition

    /// Unordered pairs (sorted two-element arrays) of distinct nodes that may share a step.
    func concurrentPairs() -> Set<[String]> {
        explore() ?? coarsePairs()
    }

    func explore() -> Set<[String]>? {
        var pairs: Set<[String]> = []
        var seen: Set<AbstractStep> = []
        var work = 0
        guard var frontier = successors(of: AbstractStep(active: [GraphDefinition.start], joins: [:])) else { return nil }
        while let step = frontier.popLast() {
            guard seen.insert(step).inserted else { continue }
            guard seen.count <= Self.maxStates else { return nil }
            for (index, first) in step.active.enumerated() {
                for second in step.active[(index + 1)...] { pairs.insert([first, second]) }
            }
            guard let next = successors(of: step) else { return nil }
            work += next.count
            guard work <= Self.maxWork else { return nil }
            frontier.append(contentsOf: next.filter { !seen.contains($0) })
        }
        return pairs
    }

    /// The possible next steps (nil when over budget). Steps with no active node are dropped.
    private func successors(of step: AbstractStep) -> [AbstractStep]? {
        var joins = step.joins
        var choices: [[Set<String>]] = []
        for node in step.active {
            for edgeIndex in graph.outgoingEdgeIndices(of: node) {
                let edge = graph.edges[edgeIndex]
                if edge.isJoin {
                    var arrived = joins[edgeIndex] ?? []
                    arrived.insert(node)
                    if arrived == Set(edge.sources) {
                        joins[edgeIndex] = nil
                    } else {
                        joins[edgeIndex] = arrived
                        continue
                    }
                }
                choices.append(options(of: edge))
            }
        }
        var combinations: [Set<String>] = [[]]
        for options in choices {
            combinations = Array(Set(combinations.flatMap { base in options.map { base.union($0) } }))
            guard combinations.count <= Self.maxSuccessorsPerState else { return nil }
        }
        return combinations.filter { !$0.isEmpty }.map { AbstractStep(active: $0.sorted(), joins: joins) }
    }

    /// The node sets one edge may start in the next step.
    private func options(of edge: EdgeDefinition) -> [Set<String>] {
        func only(_ target: String) -> Set<String> { target == GraphDefinition.end ? [] : [target] }
        switch edge.route {
        case .direct(let target): return [only(target)]
        case .fanOut(let target, _): return [[], only(target)]
        case .conditional(let branches, let defaultTarget):
            return Array(Set(branches.map { only($0.target) } + [only(defaultTarget)]))
        }
    }

    /// Fallback: for every node with several outgoing edges, nodes reachable through two
    /// different edges may run together.
    func coarsePairs() -> Set<[String]> {
        var adjacency: [String: [String]] = [:]
        for edge in graph.edges {
            for source in edge.sources { adjacency[source, default: []].append(contentsOf: edge.targets.map(\.name)) }
        }
        func reach(_ start: String) -> Set<String> {
            var seen: Set<String> = []
            var queue = [start]
            while let next = queue.popLast() {
                guard next != GraphDefinition.end, seen.insert(next).inserted else { continue }
                queue.append(contentsOf: adjacency[next] ?? [])
            }
            return seen
        }
        var pairs: Set<[String]> = []
        for fork in [GraphDefinition.start] + graph.nodes.keys.sorted() {
            let branches = graph.outgoingEdgeIndices(of: fork).map { index in
                graph.edges[index].targets.reduce(into: Set<String>()) { $0.formUnion(reach($1.name)) }
            }
            for (index, left) in branches.enumerated() {
                for right in branches[(index + 1)...] {
                    for a in left { for b in right where a != b { pairs.insert([a, b].sorted()) } }
                }
            }
        }
        return pairs
    }
}
