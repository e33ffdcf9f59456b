/// Where a run pauses for human approval around a node.
public enum InterruptPoint: String, Sendable, Hashable, Codable, CaseIterable {
    /// Pause when the node is about to run; `resume` lets it run.
    case before
    /// Pause after the node's step has been applied, before the next nodes are chosen.
    case after
}
