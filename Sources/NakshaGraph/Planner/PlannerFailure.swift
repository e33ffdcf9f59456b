/// Why a run failed, recorded in its checkpoint (deterministic: every replica that applies
/// the same inputs records the same failure).
public struct PlannerFailure: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// A stable failure code.
    public enum Code: String, Sendable, Hashable, Codable, CaseIterable {
        /// A node's output named a key outside its `writes`.
        case undeclaredWrite = "undeclared_write"
        /// A node's output value does not match the key's declared type.
        case outputTypeMismatch = "output_type_mismatch"
        /// A reducer could not combine the values (append to a non-list, int overflow …).
        case reducerFailed = "reducer_failed"
        /// Two tasks of one step wrote the same replace-key.
        case conflictingWrites = "conflicting_writes"
        /// A `when:` or `over:` expression failed to evaluate.
        case expressionFailed = "expression_failed"
        /// A fan-out produced more than `GraphPlanner.maxTasksPerStep` tasks.
        case tooManyTasks = "too_many_tasks"
        /// The run needed more than the graph's `maxSteps` steps.
        case stepLimitExceeded = "step_limit_exceeded"
        /// A node failed on its last allowed attempt.
        case nodeFailed = "node_failed"
    }

    public let code: Code
    /// The node involved, when there is one.
    public let node: String?
    public let message: String

    public init(code: Code, node: String?, message: String) {
        self.code = code
        self.node = node
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
