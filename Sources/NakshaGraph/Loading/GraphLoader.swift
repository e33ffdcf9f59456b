import Yams

/// Turns YAML text into a `GraphDefinition`, collecting every structural error with its
/// line and column instead of stopping at the first.
///
/// Invariant: `load()` returns a definition only if the top level could be read; the
/// definition may still be incomplete when `errors` is non-empty (entries with errors are
/// left out), which lets the validator report further problems in the same pass.
struct GraphLoader {
    static let topLevelFields = ["name", "version", "description", "maxSteps", "state", "nodes", "edges"]

    /// Where an expression was written, for the validator's checks.
    struct ExpressionSite {
        enum Context: Equatable {
            case nodeParam(node: String)
            case condition
            case fanOutSource
            case cacheKey(node: String)
        }

        let expression: Expression
        let node: Node
        let context: Context
        /// Offset added to the expression's own offsets (the hole's place inside a template).
        let baseOffset: Int
    }

    let yaml: String
    let fileName: String
    private(set) var graphName: String
    private(set) var errors: [GraphError] = []
    var expressionSites: [ExpressionSite] = []
    var stateTypes: [String: ValueType] = [:]
    /// Every name under `nodes:`, including nodes that failed to load (so that edges to
    /// them do not produce a second, misleading "unknown node" error).
    var declaredNodes: Set<String> = []
    /// The most YAML nodes converted to values in one file (see `value(of:)`).
    static let maxValueNodes = 100_000
    var valueNodesLeft = GraphLoader.maxValueNodes

    init(yaml: String, fileName: String, scanGraphName: Bool = true) {
        self.yaml = yaml
        self.fileName = fileName
        self.graphName = (scanGraphName ? Self.scanName(yaml) : nil) ?? fileName
    }

    func makeError(_ code: GraphError.Code, at position: SourcePosition, _ message: String) -> GraphError {
        GraphError(
            code: code, graph: graphName, fileName: fileName, line: position.line, column: position.column,
            message: message)
    }

    mutating func fail(_ code: GraphError.Code, at position: SourcePosition, _ message: String) {
        errors.append(makeError(code, at: position, message))
    }

    /// Parses the YAML and reads the graph.
    mutating func load() -> GraphDefinition? {
        guard let root = compose(what: "the file is empty; a graph needs name, version, nodes and edges") else { return nil }
        guard let entries = entries(of: root, what: "the graph") else { return nil }
        rejectUnknownFields(entries, allowed: Self.topLevelFields, what: "the graph")
        return readGraph(entries, rootPosition: position(of: root))
    }

    /// The YAML document's root node, or nil (and an error) when the text is not YAML or is empty.
    mutating func compose(what emptyMessage: String) -> Node? {
        do {
            guard let composed = try Yams.compose(yaml: yaml) else {
                fail(.missingField, at: SourcePosition(line: 1, column: 1), emptyMessage)
                return nil
            }
            return composed
        } catch let error as YamlError {
            reportYAML(error)
            return nil
        } catch {
            fail(.yamlSyntax, at: SourcePosition(line: 1, column: 1), "cannot read the YAML: \(error)")
            return nil
        }
    }

    private mutating func readGraph(_ entries: [YAMLEntry], rootPosition: SourcePosition) -> GraphDefinition? {
        func field(_ name: String) -> YAMLEntry? { entries.first { $0.key == name } }
        for required in ["name", "version", "nodes", "edges"] where field(required) == nil {
            fail(.missingField, at: rootPosition, "missing field \"\(required)\"")
        }
        var name = field("name").flatMap { string($0.value, what: "name") } ?? graphName
        if let nameField = field("name"), !Self.isValidName(name) || name.contains("@") {
            fail(.invalidField, at: position(of: nameField.value), "name \"\(name)\" must be letters, digits, _ and -")
            name = graphName
        }
        graphName = name
        let version = field("version").flatMap { integer($0.value, what: "version", range: 1...Int.max) } ?? 1
        let description = field("description").flatMap { string($0.value, what: "description") }
        let maxSteps = field("maxSteps").flatMap { integer($0.value, what: "maxSteps", range: 1...1_000_000) }
        let state = field("state").map { readState($0.value) } ?? [:]
        stateTypes = state.mapValues(\.type)
        let nodes = field("nodes").map { readNodes($0.value) } ?? [:]
        let edges = field("edges").map { readEdges($0.value) } ?? []
        return GraphDefinition(
            name: name, version: version, description: description,
            maxSteps: maxSteps ?? GraphDefinition.defaultMaxSteps, state: state, nodes: nodes, edges: edges)
    }

    /// Records an expression error at the right column of the YAML scalar.
    mutating func failExpression(_ error: ExpressionError, in node: Node, baseOffset: Int = 0, what: String) {
        let offset = error.offset.map { $0 + baseOffset }
        fail(.invalidExpression, at: position(of: node, offset: offset), "invalid expression in \(what): \(error.message)")
    }

    /// Parses an expression written as a scalar, recording it for validation.
    mutating func expression(_ node: Node, context: ExpressionSite.Context, what: String) -> Expression? {
        guard case .scalar(let scalar) = node, !isNull(node) else {
            fail(.invalidField, at: position(of: node), "\(what) must be an expression written as a string")
            return nil
        }
        do {
            let parsed = try Expression(parsing: scalar.string)
            expressionSites.append(ExpressionSite(expression: parsed, node: node, context: context, baseOffset: 0))
            return parsed
        } catch {
            failExpression(error, in: node, what: what)
            return nil
        }
    }

    private mutating func reportYAML(_ error: YamlError) {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            fail(.yamlSyntax, at: SourcePosition(line: mark.line, column: mark.column), "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            let first = SourcePosition(line: context.mark.line, column: context.mark.column)
            let repeated = Self.findRepeatedKey(key, after: first, in: yaml) ?? first
            fail(
                .duplicateName, at: repeated,
                "\"\(key)\" is defined twice in the same mapping (first at line \(first.line)); names must be unique")
        case .no, .memory, .reader, .writer, .emitter, .representer, .dataCouldNotBeDecoded:
            fail(.yamlSyntax, at: SourcePosition(line: 1, column: 1), "cannot read the YAML: \(error)")
        }
    }

    /// The position of the second `key:` at the same column as the first, if found.
    static func findRepeatedKey(_ key: String, after first: SourcePosition, in yaml: String) -> SourcePosition? {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line >= 1, first.line <= lines.count else { return nil }
        for index in first.line..<lines.count {
            let line = Array(lines[index].unicodeScalars)
            let start = first.column - 1
            guard start >= 0, start < line.count, line[..<start].allSatisfy({ $0 == " " || $0 == "-" }) else { continue }
            let rest = String(String.UnicodeScalarView(line[start...]))
            for spelling in [key, "\"\(key)\"", "'\(key)'"] where rest.hasPrefix(spelling + ":") {
                return SourcePosition(line: index + 1, column: first.column)
            }
        }
        return nil
    }

    /// The value of a top-level `name:` line, read without YAML so that even a file that
    /// does not parse gets its graph's name in errors.
    static func scanName(_ yaml: String) -> String? {
        for line in yaml.split(separator: "\n") where line.hasPrefix("name:") {
            let value = line.dropFirst(5).trimmingPrefix(while: { $0 == " " })
            let cut = value.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = cut.reversed().drop(while: { $0 == " " || $0 == "\r" }).reversed()
            let name = String(trimmed).trimmingQuotes
            return name.isEmpty ? nil : name
        }
        return nil
    }
}

extension String {
    fileprivate var trimmingQuotes: String {
        guard count >= 2, let first, let last, first == last, first == "\"" || first == "'" else { return self }
        return String(dropFirst().dropLast())
    }
}
