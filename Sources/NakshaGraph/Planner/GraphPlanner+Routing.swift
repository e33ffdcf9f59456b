extension GraphPlanner {
    /// The tasks of step `step`: the targets of the edges leaving `finished` (sorted),
    /// evaluated on the current state. Join edges fire once all their sources have arrived.
    func route(_ state: inout PlannerState, from finished: [String], step: Int) -> Result<[GraphTask], PlannerFailure> {
        var direct: Set<String> = []
        var fanOut: [String: [GraphValue]] = [:]
        for node in finished {
            for edgeIndex in graph.outgoingEdgeIndices(of: node) {
                let edge = graph.edges[edgeIndex]
                if edge.isJoin, !arrive(&state, at: edgeIndex, from: node, sources: edge.sources) { continue }
                switch follow(edge, state: state.values) {
                case .success(.node(let target)): direct.insert(target)
                case .success(.items(let target, let items)): fanOut[target, default: []].append(contentsOf: items)
                case .success(.end): continue
                case .failure(let failure): return .failure(failure)
                }
            }
        }
        var tasks = direct.sorted().map { GraphTask(id: GraphTaskID(step: step, node: $0)) }
        for target in fanOut.keys.sorted() {
            for (index, item) in (fanOut[target] ?? []).enumerated() {
                tasks.append(GraphTask(id: GraphTaskID(step: step, node: target, index: index), item: item))
            }
        }
        guard tasks.count <= Self.maxTasksPerStep else {
            return .failure(
                PlannerFailure(
                    code: .tooManyTasks, node: nil,
                    message: "step \(step) would run \(tasks.count) tasks; the limit is \(Self.maxTasksPerStep)"))
        }
        return .success(tasks.sorted { $0.id < $1.id })
    }

    /// Where one edge leads.
    enum Destination {
        case node(String)
        case items(String, [GraphValue])
        case end
    }

    private func follow(_ edge: EdgeDefinition, state values: [String: GraphValue]) -> Result<Destination, PlannerFailure> {
        func destination(_ target: String) -> Destination {
            target == GraphDefinition.end ? .end : .node(target)
        }
        switch edge.route {
        case .direct(let target):
            return .success(destination(target))
        case .fanOut(let target, let over):
            do {
                let value = try over.evaluate(state: values)
                guard case .list(let items) = value else {
                    return .failure(
                        PlannerFailure(
                            code: .expressionFailed, node: target,
                            message: "over \"\(over)\" must give a list but gave \(value.kindName)"))
                }
                return .success(target == GraphDefinition.end ? .end : .items(target, items))
            } catch {
                return .failure(PlannerFailure(code: .expressionFailed, node: target, message: "over \"\(over)\": \(error)"))
            }
        case .conditional(let branches, let defaultTarget):
            for branch in branches {
                do {
                    if try branch.condition.evaluateCondition(state: values) { return .success(destination(branch.target)) }
                } catch {
                    return .failure(
                        PlannerFailure(
                            code: .expressionFailed, node: edge.sources.first,
                            message: "when \"\(branch.condition)\": \(error)"))
                }
            }
            return .success(destination(defaultTarget))
        }
    }

    /// Records `node`'s arrival at a join; returns true (and resets it) when every source is in.
    private func arrive(_ state: inout PlannerState, at edgeIndex: Int, from node: String, sources: [String]) -> Bool {
        let existing = state.joins.firstIndex { $0.edgeIndex == edgeIndex }
        var arrived = Set(existing.map { state.joins[$0].arrived } ?? [])
        arrived.insert(node)
        if let existing { state.joins.remove(at: existing) }
        if arrived == Set(sources) { return true }
        state.joins.append(JoinProgress(edgeIndex: edgeIndex, arrived: arrived.sorted()))
        state.joins.sort { $0.edgeIndex < $1.edgeIndex }
        return false
    }
}
