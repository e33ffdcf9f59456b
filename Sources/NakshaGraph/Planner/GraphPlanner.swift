/// The pure planner: given a graph, a run's checkpoint and an event (start, a task's output,
/// a task's failure, a resume), it returns the next checkpoint and the tasks to run.
///
/// Execution model (as LangGraph's Pregel loop): a run proceeds in steps. All tasks of a step
/// may run concurrently; their outputs are buffered and, when the last one completes, applied
/// to the state through the keys' reducers in task-id order. Then the outgoing edges of the
/// step's nodes are followed (conditions see the updated state) and the targets form the next
/// step, each node once (fan-out targets once per item). No targets left: the run finishes.
///
/// Invariants: every method is a pure function of its arguments (no clock, no randomness, no
/// I/O); a method that throws leaves the state unchanged; a run takes at most
/// `graph.maxSteps` steps, so every run ends, fails or pauses at an interrupt.
public struct GraphPlanner: Sendable {
    /// Upper bound on the tasks of one step (fan-out included).
    public static let maxTasksPerStep = 10_000

    public let graph: GraphDefinition

    public init(graph: GraphDefinition) {
        self.graph = graph
    }

    /// Starts a run: every key gets its default, then `input` is applied (replacing the
    /// defaults), then the edges from START are followed.
    public func start(input: [String: GraphValue]) throws(PlannerError) -> (state: PlannerState, step: PlannerStep) {
        var values = graph.state.mapValues(\.defaultValue)
        try checkInput(input)
        for (key, value) in input {
            values[key] = graph.state[key]?.type.normalized(value) ?? value
        }
        var state = PlannerState(values: values)
        let step = advance(&state, from: [GraphDefinition.start])
        return (state, step)
    }

    /// Records a task's output. When it was the step's last running task, the step's outputs
    /// are applied and the next step is planned.
    ///
    /// An output that names keys outside the node's `writes`, or values of the wrong type,
    /// fails the run (`PlannerFailure`); a completion for a task that is not running throws.
    public func complete(_ state: inout PlannerState, task id: GraphTaskID, output: [String: GraphValue]) throws(PlannerError) -> PlannerStep {
        let position = try runningIndex(of: id, in: state)
        if let failure = checkOutput(output, of: id) {
            return fail(&state, failure)
        }
        state.running.remove(at: position)
        state.outputs.append(TaskOutput(task: id, values: output))
        guard state.running.isEmpty else { return PlannerStep(status: state.status) }
        return closeStep(&state)
    }

    /// Records that a task failed (an error, a timeout or an expired lease). The task is
    /// issued again with `attempt + 1` after the node's backoff, or, when its attempts are
    /// used up, the run fails with `nodeFailed`.
    public func failTask(_ state: inout PlannerState, task id: GraphTaskID, reason: String) throws(PlannerError) -> PlannerStep {
        let position = try runningIndex(of: id, in: state)
        let task = state.running[position]
        let policy = graph.nodes[task.node]?.retry ?? .none
        guard task.attempt < policy.maxAttempts else {
            return fail(
                &state,
                PlannerFailure(
                    code: .nodeFailed, node: task.node,
                    message: "node \"\(task.node)\" failed on attempt \(task.attempt) of \(policy.maxAttempts): \(reason)"))
        }
        let retry = GraphTask(id: task.id, item: task.item, attempt: task.attempt + 1)
        state.running[position] = retry
        let delay = policy.delayMillis(afterFailedAttempt: task.attempt)
        return PlannerStep(ready: [ReadyTask(task: retry, delayMillis: delay)], status: state.status)
    }

    /// Continues an interrupted run. `input` (for example `{"approved": true}`) is applied
    /// through the keys' reducers first, so conditions after the interrupt can see it.
    public func resume(_ state: inout PlannerState, input: [String: GraphValue] = [:]) throws(PlannerError) -> PlannerStep {
        guard case .interrupted(let interrupt) = state.status else {
            throw PlannerError(code: .notInterrupted, message: "the run is not interrupted; there is nothing to resume")
        }
        try checkInput(input)
        var next = state
        let update: [String: GraphValue]
        switch apply([TaskOutput(task: GraphTaskID(step: state.step, node: "resume"), values: input)], to: &next) {
        case .success(let changed): update = changed
        case .failure(let failure): throw PlannerError(code: .invalidInput, message: failure.message)
        }
        next.status = .running
        var step: PlannerStep
        switch interrupt.point {
        case .before:
            next.running = next.held
            next.held = []
            step = PlannerStep(ready: next.running.map { ReadyTask(task: $0) }, status: .running)
        case .after:
            let routes = next.pendingRoutes
            next.pendingRoutes = []
            step = advance(&next, from: routes)
        }
        state = next
        step.stateUpdate.merge(update) { _, routed in routed }
        return step
    }

    private func runningIndex(of id: GraphTaskID, in state: PlannerState) throws(PlannerError) -> Int {
        guard case .running = state.status else {
            throw PlannerError(code: .notRunning, message: "the run is not running; task \(id) cannot change it")
        }
        guard let position = state.running.firstIndex(where: { $0.id == id }) else {
            throw PlannerError(code: .unknownTask, message: "task \(id) is not running (completed already, or never issued)")
        }
        return position
    }

    /// Ends the run with `failure`, dropping every pending task.
    func fail(_ state: inout PlannerState, _ failure: PlannerFailure) -> PlannerStep {
        state.status = .failed(failure)
        state.running = []
        state.outputs = []
        state.held = []
        state.pendingRoutes = []
        return PlannerStep(status: state.status)
    }

    /// Input keys must be declared and values must fit their types.
    private func checkInput(_ input: [String: GraphValue]) throws(PlannerError) {
        for key in input.keys.sorted() {
            guard let definition = graph.state[key] else {
                let hint = Spelling.hint(for: key, among: graph.state.keys)
                throw PlannerError(code: .invalidInput, message: "input key \"\(key)\" is not in the state schema\(hint)")
            }
            if let value = input[key], !definition.type.accepts(value) {
                throw PlannerError(
                    code: .invalidInput,
                    message: "input \"\(key)\" is \(value.kindName) but the key's type is \(definition.type.rawValue)")
            }
        }
    }
}
