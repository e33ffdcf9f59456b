/// A problem found while loading or validating a graph definition, with its position.
///
/// Invariants: `line` and `column` are 1-based positions in the YAML text (columns count
/// Unicode scalars, as libyaml does); `code` is stable across releases and safe to match
/// on; `description` is the one line shown to users, for example
/// `graph "sample_rag" line 12 column 9: edge to unknown node "retreive" (did you mean "retrieve"?)`.
public struct GraphError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable error code (`unknown_node`, `cycle_without_exit` …).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable, CaseIterable {
            case yamlSyntax = "yaml_syntax"
            case duplicateName = "duplicate_name"
            case missingField = "missing_field"
            case invalidField = "invalid_field"
            case unknownField = "unknown_field"
            case unknownNode = "unknown_node"
            case unknownNodeType = "unknown_node_type"
            case unknownStateKey = "unknown_state_key"
            case unreachableNode = "unreachable_node"
            case deadEnd = "dead_end"
            case cycleWithoutExit = "cycle_without_exit"
            case parallelWrite = "parallel_write"
            case typeMismatch = "type_mismatch"
            case invalidReducer = "invalid_reducer"
            case invalidExpression = "invalid_expression"
            case invalidEdge = "invalid_edge"
            case invalidReference = "invalid_reference"
            case unknownSubgraph = "unknown_subgraph"
            case missingParam = "missing_param"
        }

        let base: Base

        init(_ base: Base) { self.base = base }

        /// The YAML text is not well-formed YAML.
        public static let yamlSyntax = Code(.yamlSyntax)
        /// A name (node, state key, mapping key) appears twice.
        public static let duplicateName = Code(.duplicateName)
        /// A required field is absent.
        public static let missingField = Code(.missingField)
        /// A field has the wrong kind of value (a list where a map is needed, a bad duration …).
        public static let invalidField = Code(.invalidField)
        /// A field that the format does not know (usually a typo).
        public static let unknownField = Code(.unknownField)
        /// An edge or a reference names a node that does not exist.
        public static let unknownNode = Code(.unknownNode)
        /// A node's `type` is not one of the known node types.
        public static let unknownNodeType = Code(.unknownNodeType)
        /// An expression or a `writes` list names a state key that the schema does not declare.
        public static let unknownStateKey = Code(.unknownStateKey)
        /// No path from START reaches the node.
        public static let unreachableNode = Code(.unreachableNode)
        /// A node has no outgoing edge (add one to END).
        public static let deadEnd = Code(.deadEnd)
        /// A cycle has no conditional edge leaving it, so a run could never end.
        public static let cycleWithoutExit = Code(.cycleWithoutExit)
        /// Two nodes that can run concurrently write the same key whose reducer is `replace`.
        public static let parallelWrite = Code(.parallelWrite)
        /// A default, a transform output or a fan-out source does not match the declared type.
        public static let typeMismatch = Code(.typeMismatch)
        /// A reducer is unknown or does not fit the key's type (`add` on a string …).
        public static let invalidReducer = Code(.invalidReducer)
        /// An expression does not parse, or uses `item` where there is no item.
        public static let invalidExpression = Code(.invalidExpression)
        /// An edge is malformed (from END, to START, branches without default …).
        public static let invalidEdge = Code(.invalidEdge)
        /// A subgraph reference is not of the form `name@version`.
        public static let invalidReference = Code(.invalidReference)
        /// A subgraph reference names a graph the registry does not know.
        public static let unknownSubgraph = Code(.unknownSubgraph)
        /// A node lacks a parameter its type requires.
        public static let missingParam = Code(.missingParam)

        /// Every code, for documentation and exhaustive tests.
        public static var all: [Code] { Base.allCases.map(Code.init) }

        public var description: String { base.rawValue }
    }

    /// What kind of problem this is.
    public let code: Code
    /// The graph's `name` if it could be read, otherwise the file name.
    public let graph: String
    /// The file the YAML came from, as given by the caller.
    public let fileName: String
    /// 1-based line of the offending YAML node.
    public let line: Int
    /// 1-based column of the offending YAML node (Unicode scalars).
    public let column: Int
    /// What is wrong and, where possible, what to do about it.
    public let message: String

    public init(code: Code, graph: String, fileName: String, line: Int, column: Int, message: String) {
        self.code = code
        self.graph = graph
        self.fileName = fileName
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        "graph \"\(graph)\" line \(line) column \(column): \(message)"
    }

    /// The line printed by `naksha graph validate`: the description followed by the code.
    public var renderedLine: String { "\(description) [\(code)]" }
}
