/// Why a run failed, recorded in its checkpoint (deterministic: every replica that applies
/// the same inputs records the same failure).
public struct PlannerFailure: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// A stable code (a struct over a private enum, so new codes can be added compatibly).
    public struct Code: Sendable, Hashable, Codable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable, Codable, CaseIterable {
            case undeclaredWrite = "undeclared_write"
            case outputTypeMismatch = "output_type_mismatch"
            case reducerFailed = "reducer_failed"
            case conflictingWrites = "conflicting_writes"
            case expressionFailed = "expression_failed"
            case tooManyTasks = "too_many_tasks"
            case stepLimitExceeded = "step_limit_exceeded"
            case nodeFailed = "node_failed"
        }

        let base: Base

        /// A node's output named a key outside its `writes`.
        public static let undeclaredWrite = Code(base: .undeclaredWrite)
        /// A node's output value does not match the key's declared type.
        public static let outputTypeMismatch = Code(base: .outputTypeMismatch)
        /// A reducer could not combine the values (append to a non-list, int overflow …).
        public static let reducerFailed = Code(base: .reducerFailed)
        /// Two tasks of one step wrote the same replace-key.
        public static let conflictingWrites = Code(base: .conflictingWrites)
        /// A `when:` or `over:` expression failed to evaluate.
        public static let expressionFailed = Code(base: .expressionFailed)
        /// A fan-out produced more than `GraphPlanner.maxTasksPerStep` tasks.
        public static let tooManyTasks = Code(base: .tooManyTasks)
        /// The run needed more than the graph's `maxSteps` steps.
        public static let stepLimitExceeded = Code(base: .stepLimitExceeded)
        /// A node failed on its last allowed attempt.
        public static let nodeFailed = Code(base: .nodeFailed)

        /// Every code, for documentation and exhaustive tests.
        public static var all: [Code] { Base.allCases.map { Code(base: $0) } }

        public var description: String { base.rawValue }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let raw = try container.decode(String.self)
            guard let base = Base(rawValue: raw) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown PlannerFailure code \(raw)")
            }
            self.base = base
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(base.rawValue)
        }

        init(base: Base) { self.base = base }
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

    public var description: String { "\(code): \(message)" }
}
