/// Why an expression could not be parsed or evaluated.
///
/// Invariant: evaluation never traps; every failure (a type mismatch, a missing operand, the
/// step budget) is reported as one of these. `offset` is the 0-based position (in Unicode
/// scalars) in the expression's source where the problem was found, when known.
public struct ExpressionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable error code.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case syntax
            case tooLong = "too_long"
            case tooDeep = "too_deep"
            case stepLimit = "step_limit"
            case typeMismatch = "type_mismatch"
            case unknownName = "unknown_name"
            case noItem = "no_item"
        }

        let base: Base

        /// The text is not a valid expression.
        public static let syntax = Code(base: .syntax)
        /// The source is longer than `Expression.maxSourceLength`.
        public static let tooLong = Code(base: .tooLong)
        /// Nesting is deeper than `Expression.maxDepth`.
        public static let tooDeep = Code(base: .tooDeep)
        /// Evaluation needed more than `Expression.maxEvaluationSteps` steps.
        public static let stepLimit = Code(base: .stepLimit)
        /// An operator or function got a value of the wrong kind.
        public static let typeMismatch = Code(base: .typeMismatch)
        /// A name that is not `state`, `item`, `len` or a keyword.
        public static let unknownName = Code(base: .unknownName)
        /// `item` was used where no fan-out item exists.
        public static let noItem = Code(base: .noItem)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// 0-based offset in the source, in Unicode scalars (nil when not tied to a position).
    public let offset: Int?
    public let message: String

    public init(code: Code, offset: Int?, message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    public var description: String {
        guard let offset else { return message }
        return "\(message) at offset \(offset)"
    }
}
