/// A parsed expression of Naksha's small condition language, used by conditional edges
/// (`when:`), fan-out sources (`over:`), `transform` nodes and `{{ … }}` in templates.
///
/// Grammar (keywords are lower case; whitespace is free):
///
///     expression := or
///     or         := and ( "or" and )*
///     and        := not ( "and" not )*
///     not        := "not" not | comparison
///     comparison := operand [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in" ) operand ]
///     operand    := literal | path | list | "len" "(" expression ")" | "(" expression ")"
///     path       := ( "state" | "item" ) ( "." name | "[" integer "]" | "[" string "]" )*
///     list       := "[" [ expression ( "," expression )* ] "]"
///     literal    := integer | float | string | "true" | "false" | "null"
///
/// Invariants: an expression is parsed once; evaluation is a pure function of the state and
/// the item, performs no I/O, never traps (type errors are `ExpressionError`s), and costs
/// at most `maxEvaluationSteps` steps. Sources are at most `maxSourceLength` scalars and
/// nest at most `maxDepth` levels.
public struct Expression: Sendable, Hashable, CustomStringConvertible {
    /// Longest accepted source, in Unicode scalars.
    public static let maxSourceLength = 2_000
    /// Deepest accepted nesting of operands.
    public static let maxDepth = 32
    /// Evaluation budget: one step per node visited and per element scanned by `in`.
    public static let maxEvaluationSteps = 100_000

    /// The text the expression was parsed from.
    public let source: String
    let root: ExpressionNode

    /// Parses `source`; throws a `syntax`, `tooLong`, `tooDeep` or `unknownName` error.
    public init(parsing source: String) throws(ExpressionError) {
        self.source = source
        self.root = try ExpressionParser.parse(source)
    }

    public var description: String { source }

    /// Evaluates against the state (and the fan-out item, if any).
    public func evaluate(state: [String: GraphValue], item: GraphValue? = nil) throws(ExpressionError) -> GraphValue {
        var evaluator = ExpressionEvaluator(state: state, item: item)
        return try evaluator.evaluate(root)
    }

    /// Evaluates a condition: the result must be a bool (there is no truthiness).
    public func evaluateCondition(state: [String: GraphValue], item: GraphValue? = nil) throws(ExpressionError) -> Bool {
        let value = try evaluate(state: state, item: item)
        guard case .bool(let flag) = value else {
            throw ExpressionError(
                code: .typeMismatch, offset: nil,
                message: "condition \"\(source)\" must be true or false but is \(value.kindName)")
        }
        return flag
    }
}

extension Expression {
    /// A state path the expression reads, with the offset of its `state` keyword.
    struct StateReference: Hashable {
        let key: String
        let offset: Int
    }

    /// Every `state.<key>` the expression reads (first path component only), in source order.
    var stateReferences: [StateReference] {
        var found: [StateReference] = []
        Self.visit(root) { node in
            if case .path(.state, let components, let offset) = node, case .key(let key)? = components.first {
                found.append(StateReference(key: key, offset: offset))
            }
        }
        return found
    }

    /// The offset of the first use of `item`, if any.
    var firstItemOffset: Int? {
        var offsets: [Int] = []
        Self.visit(root) { node in
            if case .path(.item, _, let offset) = node { offsets.append(offset) }
        }
        return offsets.min()
    }

    /// The type the expression is known to produce without evaluating it, or `.any`.
    /// `schema` gives the declared type of each state key.
    func staticType(schema: [String: ValueType]) -> ValueType {
        switch root {
        case .literal(let value): return Self.type(of: value)
        case .list: return .list
        case .not, .and, .or, .compare, .membership: return .bool
        case .length: return .int
        case .path(.state, let components, _):
            guard components.count == 1, case .key(let key)? = components.first else { return .any }
            return schema[key] ?? .any
        case .path(.item, _, _): return .any
        }
    }

    private static func type(of value: GraphValue) -> ValueType {
        switch value {
        case .null: return .any
        case .bool: return .bool
        case .int: return .int
        case .double: return .float
        case .string: return .string
        case .list: return .list
        case .map: return .map
        }
    }

    private static func visit(_ node: ExpressionNode, _ body: (ExpressionNode) -> Void) {
        body(node)
        switch node {
        case .literal, .path: return
        case .list(let elements): elements.forEach { visit($0, body) }
        case .not(let inner, _), .length(let inner, _): visit(inner, body)
        case .and(let left, let right, _), .or(let left, let right, _), .compare(_, let left, let right, _):
            visit(left, body)
            visit(right, body)
        case .membership(_, let element, let container, _):
            visit(element, body)
            visit(container, body)
        }
    }
}
