extension GraphValidator {
    /// Nodes reachable from `start` by one or more steps over `adjacency`.
    func reachable(from start: String, over adjacency: [String: [String]]) -> Set<String> {
        var seen: Set<String> = []
        var queue = adjacency[start] ?? []
        while let next = queue.popLast() {
            guard seen.insert(next).inserted else { continue }
            queue.append(contentsOf: adjacency[next] ?? [])
        }
        return seen
    }

    mutating func checkStartAndDeadEnds() {
        if graph.outgoingEdgeIndices(of: GraphDefinition.start).isEmpty {
            let position = graph.edges.first?.position ?? SourcePosition(line: 1, column: 1)
            report(.deadEnd, at: position, "no edge leaves START; add one such as {from: START, to: <first node>}")
        }
        for name in graph.nodes.keys.sorted() where graph.outgoingEdgeIndices(of: name).isEmpty {
            guard let node = graph.nodes[name] else { continue }
            report(.deadEnd, at: node.position, "node \"\(name)\" has no outgoing edge; add one (to END if the run should stop there)")
        }
    }

    mutating func checkReachability() {
        let reached = reachable(from: GraphDefinition.start, over: adjacency)
        for name in graph.nodes.keys.sorted() where !reached.contains(name) {
            guard let node = graph.nodes[name] else { continue }
            report(.unreachableNode, at: node.position, "node \"\(name)\" is unreachable: no path from START leads to it")
        }
    }

    /// Reports every strongly connected set of nodes that no conditional edge leaves.
    mutating func checkCycles() {
        let names = graph.nodes.keys.sorted()
        var reach: [String: Set<String>] = [:]
        for name in names { reach[name] = reachable(from: name, over: adjacency) }
        var reported: Set<String> = []
        for name in names where reach[name]?.contains(name) == true && !reported.contains(name) {
            let component = Set(names.filter { reach[name]?.contains($0) == true && reach[$0]?.contains(name) == true })
            reported.formUnion(component)
            let exits = graph.edges.contains { edge in
                edge.isConditional && edge.sources.contains(where: component.contains)
                    && edge.targets.contains { !component.contains($0.name) }
            }
            guard !exits else { continue }
            let inner = graph.edges.filter { edge in
                edge.sources.contains(where: component.contains) && edge.targets.contains { component.contains($0.name) }
            }
            let position = inner.map(\.position).min { ($0.line, $0.column) < ($1.line, $1.column) } ?? .unknown
            let list = component.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            report(
                .cycleWithoutExit, at: position,
                "nodes \(list) form a cycle with no conditional edge leaving it, so a run could never end; add branches with a when: that leads out of the cycle")
        }
    }

    /// Reports pairs of nodes that may run in the same step and write the same replace-key.
    mutating func checkParallelWrites() {
        var reported: Set<[String]> = []
        for edge in graph.edges {
            guard case .fanOut(let target, _) = edge.route, let node = graph.nodes[target] else { continue }
            for (index, key) in node.writes.enumerated() where graph.state[key]?.reducer == .replace {
                guard reported.insert([target, target, key]).inserted else { continue }
                report(
                    .parallelWrite, at: node.writePositions[index],
                    "node \"\(target)\" runs once per item of a fan-out and writes \"\(key)\", whose reducer is replace; give \"\(key)\" a reducer such as append or merge")
            }
        }
        for pair in ParallelismAnalysis(graph: graph).concurrentPairs().sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            reportConflicts(pair[0], pair[1], reported: &reported)
        }
    }

    private mutating func reportConflicts(_ a: String, _ b: String, reported: inout Set<[String]>) {
        guard let nodeA = graph.nodes[a], let nodeB = graph.nodes[b] else { return }
        let (earlier, later) = (nodeA.position.line, nodeA.position.column) <= (nodeB.position.line, nodeB.position.column) ? (nodeA, nodeB) : (nodeB, nodeA)
        for (index, key) in later.writes.enumerated()
        where earlier.writes.contains(key) && graph.state[key]?.reducer == .replace {
            let names = [earlier.name, later.name].sorted()
            guard reported.insert(names + [key]).inserted else { continue }
            report(
                .parallelWrite, at: later.writePositions[index],
                "nodes \"\(names[0])\" and \"\(names[1])\" can run in parallel and both write \"\(key)\", whose reducer is replace; give \"\(key)\" a reducer (append, merge, add) or make the nodes run in sequence")
        }
    }
}
