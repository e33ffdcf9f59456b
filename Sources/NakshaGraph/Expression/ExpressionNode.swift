/// The parsed form of an expression (see `Expression` for the grammar).
indirect enum ExpressionNode: Sendable, Hashable {
    /// Where a path starts: the job state or the current fan-out item.
    enum Root: String, Sendable, Hashable {
        case state
        case item
    }

    /// One step of a path: `.name` or `[index]` / `["key"]`.
    enum PathComponent: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    /// A comparison operator.
    enum Comparison: String, Sendable, Hashable {
        case equal = "=="
        case notEqual = "!="
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="
    }

    case literal(GraphValue)
    case path(Root, [PathComponent], offset: Int)
    case list([ExpressionNode])
    case not(ExpressionNode, offset: Int)
    case and(ExpressionNode, ExpressionNode, offset: Int)
    case or(ExpressionNode, ExpressionNode, offset: Int)
    case compare(Comparison, ExpressionNode, ExpressionNode, offset: Int)
    case membership(negated: Bool, element: ExpressionNode, container: ExpressionNode, offset: Int)
    case length(ExpressionNode, offset: Int)
}
