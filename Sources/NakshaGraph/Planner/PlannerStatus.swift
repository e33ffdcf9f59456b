/// Where a run stands.
public enum PlannerStatus: Sendable, Hashable, Codable {
    /// Tasks are running (or waiting for a retry).
    case running
    /// Paused for human approval; `GraphPlanner.resume` continues.
    case interrupted(GraphInterrupt)
    /// No task is left: the run is done and `values` is its result.
    case finished
    /// The run stopped for good.
    case failed(PlannerFailure)
}

/// Why a run paused: the interrupt point and the nodes that triggered it (sorted).
public struct GraphInterrupt: Sendable, Hashable, Codable {
    public let point: InterruptPoint
    public let nodes: [String]

    public init(point: InterruptPoint, nodes: [String]) {
        self.point = point
        self.nodes = nodes
    }
}
