extension GraphPlanner {
    /// Checks a task's output against the node's `writes` and the schema's types.
    func checkOutput(_ output: [String: GraphValue], of id: GraphTaskID) -> PlannerFailure? {
        let writes = graph.nodes[id.node]?.writes ?? []
        for key in output.keys.sorted() {
            guard writes.contains(key) else {
                return PlannerFailure(
                    code: .undeclaredWrite, node: id.node,
                    message: "task \(id) wrote \"\(key)\", which node \"\(id.node)\" does not list in writes")
            }
            if let value = output[key], let type = graph.state[key]?.type, !type.accepts(value) {
                return PlannerFailure(
                    code: .outputTypeMismatch, node: id.node,
                    message: "task \(id) wrote \(value.kindName) to \"\(key)\", whose type is \(type.rawValue)")
            }
        }
        return nil
    }

    /// Applies `outputs` in task order through the reducers; returns the changed keys' new
    /// values. Two outputs writing one replace-key is a conflict. On failure `state` is
    /// left partly updated; callers then fail the run or discard the copy.
    func apply(_ outputs: [TaskOutput], to state: inout PlannerState) -> Result<[String: GraphValue], PlannerFailure> {
        var changed: [String: GraphValue] = [:]
        var replacedBy: [String: GraphTaskID] = [:]
        for output in outputs.sorted(by: { $0.task < $1.task }) {
            for key in output.values.keys.sorted() {
                guard let definition = graph.state[key], let update = output.values[key] else { continue }
                if definition.reducer == .replace {
                    if let earlier = replacedBy[key] {
                        return .failure(
                            PlannerFailure(
                                code: .conflictingWrites, node: output.task.node,
                                message: "tasks \(earlier) and \(output.task) both wrote \"\(key)\" in one step, and its reducer is replace"))
                    }
                    replacedBy[key] = output.task
                }
                let current = state.values[key] ?? .null
                switch definition.reducer.apply(current: current, update: definition.type.normalized(update)) {
                case .success(let combined):
                    state.values[key] = combined
                    changed[key] = combined
                case .failure(let failure):
                    return .failure(
                        PlannerFailure(code: .reducerFailed, node: output.task.node, message: "\"\(key)\": \(failure.message)"))
                }
            }
        }
        return .success(changed)
    }

    /// Applies the step's outputs, then pauses (interrupt after) or plans the next step.
    func closeStep(_ state: inout PlannerState) -> PlannerStep {
        let outputs = state.outputs
        state.outputs = []
        let update: [String: GraphValue]
        switch apply(outputs, to: &state) {
        case .success(let changed): update = changed
        case .failure(let failure): return fail(&state, failure)
        }
        let finishedNodes = Array(Set(outputs.map(\.task.node))).sorted()
        let pausing = finishedNodes.filter { graph.nodes[$0]?.interruptAfter == true }
        var step: PlannerStep
        if pausing.isEmpty {
            step = advance(&state, from: finishedNodes)
        } else {
            state.pendingRoutes = finishedNodes
            state.status = .interrupted(GraphInterrupt(point: .after, nodes: pausing))
            step = PlannerStep(status: state.status)
        }
        step.stateUpdate.merge(update) { _, routed in routed }
        return step
    }

    /// Follows the edges of `finished` nodes and starts the next step (or finishes, fails
    /// on the step limit, or pauses before an interrupting node).
    func advance(_ state: inout PlannerState, from finished: [String]) -> PlannerStep {
        let nextStep = state.step + 1
        let tasks: [GraphTask]
        switch route(&state, from: finished, step: nextStep) {
        case .success(let planned): tasks = planned
        case .failure(let failure): return fail(&state, failure)
        }
        guard !tasks.isEmpty else {
            state.status = .finished
            state.joins = []
            return PlannerStep(status: .finished)
        }
        guard nextStep <= graph.maxSteps else {
            return fail(
                &state,
                PlannerFailure(
                    code: .stepLimitExceeded, node: nil,
                    message: "the run needed more than \(graph.maxSteps) steps (maxSteps); check the exit conditions of its cycles"))
        }
        state.step = nextStep
        let pausing = Array(Set(tasks.map(\.node).filter { graph.nodes[$0]?.interruptBefore == true })).sorted()
        if !pausing.isEmpty {
            state.held = tasks
            state.status = .interrupted(GraphInterrupt(point: .before, nodes: pausing))
            return PlannerStep(status: state.status)
        }
        state.running = tasks
        return PlannerStep(ready: tasks.map { ReadyTask(task: $0) }, status: .running)
    }
}
