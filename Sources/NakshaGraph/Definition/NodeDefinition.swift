/// One node of a graph: what runs, with which parameters, and what it may write.
///
/// Invariants (established by the loader and validator): every key in `writes` is a state
/// key; `expressions`, `templates` and `expressionMaps` hold the parsed form of the
/// parameters that `kind` declares as such; `transform` nodes write exactly the keys of
/// their `set` map; single-result kinds write exactly one key.
public struct NodeDefinition: Sendable, Hashable {
    public let name: String
    public let kind: NodeKind
    /// The raw parameters as written (expressions and templates still as strings).
    public let params: [String: GraphValue]
    /// The state keys the node's output may contain, in the order written.
    public let writes: [String]
    public let retry: RetryPolicy
    public let timeoutMillis: Int?
    public let cache: CachePolicy?
    public let interruptBefore: Bool
    public let interruptAfter: Bool
    /// Parsed expression parameters, by parameter name.
    public let expressions: [String: Expression]
    /// Parsed template parameters, by parameter name (for `http` headers: `headers.<name>`).
    public let templates: [String: TextTemplate]
    /// Parsed maps of expressions (`transform.set`, `subgraph.input`), by parameter name.
    public let expressionMaps: [String: [String: Expression]]
    /// The referenced graph of a `subgraph` node.
    public let subgraph: GraphReference?
    public let position: SourcePosition
    /// Positions of the entries of `writes`, parallel to it.
    let writePositions: [SourcePosition]
    /// Positions of parameter values, by parameter name (map entries: `name.key`).
    let paramPositions: [String: SourcePosition]

    /// The output a `transform` node produces for `state` (and the fan-out `item`): each
    /// key of `set` mapped to its expression's value. Empty for other kinds.
    public func transformOutput(state: [String: GraphValue], item: GraphValue? = nil) throws(ExpressionError) -> [String: GraphValue] {
        var output: [String: GraphValue] = [:]
        for (key, expression) in (expressionMaps["set"] ?? [:]).sorted(by: { $0.key < $1.key }) {
            output[key] = try expression.evaluate(state: state, item: item)
        }
        return output
    }
}
