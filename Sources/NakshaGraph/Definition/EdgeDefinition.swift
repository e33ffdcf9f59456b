/// An edge: when its sources have finished, where the run goes next.
///
/// Invariants: `sources` is non-empty and sorted, never contains `END`; a multi-source edge
/// (a join) fires once every source has finished since it last fired; targets are node
/// names or `END`, never `START`.
public struct EdgeDefinition: Sendable, Hashable {
    /// One `when:` branch of a conditional edge.
    public struct Branch: Sendable, Hashable {
        public let condition: Expression
        public let target: String
        public let position: SourcePosition
        let targetPosition: SourcePosition
    }

    /// Where the edge leads.
    public enum Route: Sendable, Hashable {
        /// Always to `target`.
        case direct(target: String)
        /// To `target` once per element of the list `over` evaluates to (LangGraph's Send);
        /// each task sees its element as `item`.
        case fanOut(target: String, over: Expression)
        /// To the target of the first branch whose condition holds, else to `defaultTarget`.
        case conditional(branches: [Branch], defaultTarget: String)
    }

    public let sources: [String]
    public let route: Route
    public let position: SourcePosition
    /// Position of the `to`/`default` value (or, for a join, of the sources).
    let targetPosition: SourcePosition
    let sourcePosition: SourcePosition

    /// Whether this edge waits for several sources.
    public var isJoin: Bool { sources.count > 1 }

    /// Every node (or END) the edge can lead to, with the position where it is named.
    var targets: [(name: String, position: SourcePosition)] {
        switch route {
        case .direct(let target), .fanOut(let target, _):
            return [(target, targetPosition)]
        case .conditional(let branches, let defaultTarget):
            return branches.map { ($0.target, $0.targetPosition) } + [(defaultTarget, targetPosition)]
        }
    }

    /// Whether the edge chooses between targets (a way out of a cycle).
    var isConditional: Bool {
        switch route {
        case .conditional: return true
        case .direct, .fanOut: return false
        }
    }
}
