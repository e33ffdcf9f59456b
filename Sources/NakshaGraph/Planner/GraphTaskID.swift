/// Identifies one task of a run: the step it belongs to, its node, and its fan-out index.
///
/// Invariant: unique within a run. Ordering is (step, node, index) with a non-fan-out task
/// before the fan-out tasks of the same node; the planner applies a step's outputs in this
/// order, which is what makes the state independent of completion order.
public struct GraphTaskID: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let step: Int
    public let node: String
    /// The position of the task's item among the step's fan-out tasks for `node`; nil for a
    /// task that is not part of a fan-out.
    public let index: Int?

    public init(step: Int, node: String, index: Int? = nil) {
        self.step = step
        self.node = node
        self.index = index
    }

    public static func < (lhs: GraphTaskID, rhs: GraphTaskID) -> Bool {
        (lhs.step, lhs.node, lhs.index ?? -1) < (rhs.step, rhs.node, rhs.index ?? -1)
    }

    /// `3:retrieve` or `3:summarize#2`.
    public var description: String {
        guard let index else { return "\(step):\(node)" }
        return "\(step):\(node)#\(index)"
    }
}
