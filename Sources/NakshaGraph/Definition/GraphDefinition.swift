/// A validated workflow graph: state schema, nodes and edges.
///
/// Invariants (only `load` creates values, and only from YAML that passed validation):
/// node names are unique and are neither `START` nor `END`; every edge names existing nodes;
/// every node is reachable from START and has an outgoing edge; every cycle has a
/// conditional edge leaving it; no two nodes that may run in the same step write the same
/// `replace` key; every expression parsed and refers to declared state keys only.
public struct GraphDefinition: Sendable, Hashable {
    /// The name of the virtual entry node.
    public static let start = "START"
    /// The name of the virtual exit node.
    public static let end = "END"
    /// The default bound on the number of steps a run may take.
    public static let defaultMaxSteps = 100

    public let name: String
    public let version: Int
    public let description: String?
    /// A run that needs more steps fails with `stepLimitExceeded` (LangGraph's recursion limit).
    public let maxSteps: Int
    /// The state schema, by key.
    public let state: [String: StateKeyDefinition]
    /// The nodes, by name.
    public let nodes: [String: NodeDefinition]
    /// The edges in the order written.
    public let edges: [EdgeDefinition]
    /// For each source node (and START), the indices of its edges, ascending.
    private let outgoing: [String: [Int]]

    init(
        name: String, version: Int, description: String?, maxSteps: Int, state: [String: StateKeyDefinition],
        nodes: [String: NodeDefinition], edges: [EdgeDefinition]
    ) {
        self.name = name
        self.version = version
        self.description = description
        self.maxSteps = maxSteps
        self.state = state
        self.nodes = nodes
        self.edges = edges
        var outgoing: [String: [Int]] = [:]
        for (index, edge) in edges.enumerated() {
            for source in edge.sources { outgoing[source, default: []].append(index) }
        }
        self.outgoing = outgoing
    }

    /// This graph's `name@version`.
    public var reference: GraphReference { GraphReference(name: name, version: version) }

    /// The indices into `edges` of the edges that `node` (or START) is a source of.
    public func outgoingEdgeIndices(of node: String) -> [Int] {
        outgoing[node] ?? []
    }

    /// The declared type of every state key.
    var schemaTypes: [String: ValueType] { state.mapValues(\.type) }

    /// Every subgraph this graph references, sorted.
    public var subgraphReferences: [GraphReference] {
        Set(nodes.values.compactMap(\.subgraph)).sorted { ($0.name, $0.version) < ($1.name, $1.version) }
    }
}

extension GraphDefinition {
    /// Loads and validates a graph; throws the first error by position.
    ///
    /// - Parameters:
    ///   - yaml: the YAML text.
    ///   - fileName: used in errors when the graph's name cannot be read.
    ///   - knownGraphs: if given, every subgraph reference must be in it.
    public static func load(
        yaml: String, fileName: String, knownGraphs: Set<GraphReference>? = nil
    ) throws(GraphError) -> GraphDefinition {
        switch check(yaml: yaml, fileName: fileName, knownGraphs: knownGraphs) {
        case .success(let graph): return graph
        case .failure(let report):
            guard let first = report.errors.first else { preconditionFailure("a failed check carries errors") }
            throw first
        }
    }

    /// Loads and validates a graph, collecting every error found (sorted by position).
    public static func check(
        yaml: String, fileName: String, knownGraphs: Set<GraphReference>? = nil
    ) -> Result<GraphDefinition, GraphValidationReport> {
        var loader = GraphLoader(yaml: yaml, fileName: fileName)
        let loaded = loader.load()
        var errors = loader.errors
        if let loaded {
            var validator = GraphValidator(graph: loaded, loader: loader, knownGraphs: knownGraphs)
            validator.run(structural: errors.isEmpty)
            errors += validator.errors
        }
        errors = Set(errors).sorted { ($0.line, $0.column, $0.code.description) < ($1.line, $1.column, $1.code.description) }
        if let loaded, errors.isEmpty { return .success(loaded) }
        if errors.isEmpty {
            errors = [loader.makeError(.yamlSyntax, at: .init(line: 1, column: 1), "the file holds no graph")]
        }
        return .failure(GraphValidationReport(errors: errors))
    }

    /// The lines `naksha graph validate FILE` prints: one per error, empty when valid.
    public static func validationLines(yaml: String, fileName: String, knownGraphs: Set<GraphReference>? = nil) -> [String] {
        switch check(yaml: yaml, fileName: fileName, knownGraphs: knownGraphs) {
        case .success: return []
        case .failure(let report): return report.errors.map(\.renderedLine)
        }
    }
}
