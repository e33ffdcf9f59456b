/// What one planner call decided: the state update it applied, the tasks that are now
/// ready, and the run's status. Plain data, so tests compare it with `==`.
public struct PlannerStep: Sendable, Hashable {
    /// Tasks to hand to workers now (after `delayMillis` for retries), sorted by id.
    public var ready: [ReadyTask]
    /// The new values of the keys this call changed (empty while a step is still open).
    public var stateUpdate: [String: GraphValue]
    public var status: PlannerStatus

    public init(ready: [ReadyTask] = [], stateUpdate: [String: GraphValue] = [:], status: PlannerStatus) {
        self.ready = ready
        self.stateUpdate = stateUpdate
        self.status = status
    }

    /// The ready tasks without their delays.
    public var readyTasks: [GraphTask] { ready.map(\.task) }
}
