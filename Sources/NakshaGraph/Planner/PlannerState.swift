/// A run's durable checkpoint: everything the planner needs to continue, and nothing else.
///
/// Invariants: `running` is sorted by task id and holds the current step's unfinished tasks;
/// `outputs` holds the current step's finished outputs, applied to `values` (in task order)
/// only when `running` becomes empty; `held` is non-empty only while interrupted before a
/// node; `status == .finished` implies `running`, `outputs` and `held` are empty. The value
/// is plain data (`Codable`, `Equatable`), so a replica can persist it after every node and
/// two replicas that applied the same calls hold equal states.
public struct PlannerState: Sendable, Hashable, Codable {
    /// The job's state: every schema key, `null` when unset.
    public internal(set) var values: [String: GraphValue]
    /// The number of the current step (tasks of step n carry `GraphTaskID.step == n`).
    public internal(set) var step: Int
    public internal(set) var status: PlannerStatus
    /// The current step's tasks that have not completed yet, sorted by id.
    public internal(set) var running: [GraphTask]
    /// Outputs of the current step's completed tasks, waiting for the step to close.
    public internal(set) var outputs: [TaskOutput]
    /// Tasks chosen to run next but held by an interrupt before their node.
    public internal(set) var held: [GraphTask]
    /// Nodes whose outgoing edges are still to be followed when an interrupt after them is resumed.
    public internal(set) var pendingRoutes: [String]
    /// Partial arrivals at join edges (edges with several sources).
    public internal(set) var joins: [JoinProgress]

    init(values: [String: GraphValue]) {
        self.values = values
        self.step = 0
        self.status = .running
        self.running = []
        self.outputs = []
        self.held = []
        self.pendingRoutes = []
        self.joins = []
    }
}

/// A completed task's output, kept until its step closes.
public struct TaskOutput: Sendable, Hashable, Codable {
    public let task: GraphTaskID
    public let values: [String: GraphValue]
}

/// The sources of a join edge that have finished since the join last fired.
public struct JoinProgress: Sendable, Hashable, Codable {
    /// Index into `GraphDefinition.edges`.
    public let edgeIndex: Int
    /// Sorted source node names.
    public let arrived: [String]
}
