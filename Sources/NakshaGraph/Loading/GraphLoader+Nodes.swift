import Yams

extension GraphLoader {
    static let nodeFields = ["type", "description", "params", "writes", "retry", "timeout", "cache", "interrupt"]
    static let retryFields = ["maxAttempts", "backoff", "initialDelay", "maxDelay"]
    static let cacheFields = ["ttl", "key"]

    /// Reads `nodes:`, a mapping from node name to its definition.
    mutating func readNodes(_ node: Node) -> [String: NodeDefinition] {
        guard let entries = entries(of: node, what: "nodes") else { return [:] }
        if entries.isEmpty { fail(.missingField, at: position(of: node), "a graph needs at least one node") }
        var nodes: [String: NodeDefinition] = [:]
        for entry in entries {
            declaredNodes.insert(entry.key)
            if entry.key == GraphDefinition.start || entry.key == GraphDefinition.end {
                fail(.invalidField, at: entry.keyPosition, "\"\(entry.key)\" is reserved; choose another node name")
                continue
            }
            guard Self.isValidName(entry.key) else {
                fail(.invalidField, at: entry.keyPosition, "node name \"\(entry.key)\" must be letters, digits, _ and -")
                continue
            }
            if let definition = readNode(entry) { nodes[entry.key] = definition }
        }
        return nodes
    }

    private mutating func readNode(_ entry: YAMLEntry) -> NodeDefinition? {
        let what = "node \"\(entry.key)\""
        guard let fields = entries(of: entry.value, what: what) else { return nil }
        rejectUnknownFields(fields, allowed: Self.nodeFields, what: what)
        func field(_ name: String) -> Node? { fields.first { $0.key == name }?.value }
        guard let typeNode = field("type") else {
            fail(.missingField, at: entry.keyPosition, "\(what) needs a type")
            return nil
        }
        let typeName = typeNode.string ?? ""
        guard let kind = NodeKind(rawValue: typeName) else {
            let names = NodeKind.allCases.map(\.rawValue)
            fail(
                .unknownNodeType, at: position(of: typeNode),
                "unknown node type \"\(typeName)\" for \(what)\(Spelling.hint(for: typeName, among: names)); known types: \(names.joined(separator: ", "))")
            return nil
        }
        var parts = NodeParts(name: entry.key, kind: kind)
        if let paramsNode = field("params") { readParams(paramsNode, into: &parts) }
        for required in kind.requiredParams where parts.params[required] == nil {
            fail(.missingParam, at: entry.keyPosition, "\(what) of type \(kind.rawValue) needs the parameter \"\(required)\"")
        }
        if let writesNode = field("writes") { readWrites(writesNode, into: &parts) }
        deriveTransformWrites(&parts, at: field("writes").map { position(of: $0) } ?? entry.keyPosition)
        if kind.producesSingleResult, parts.writes.count > 1 {
            fail(.invalidField, at: parts.writePositions[1], "\(what) of type \(kind.rawValue) produces one result; list one key in writes")
        }
        let retry = field("retry").flatMap { readRetry($0, what: what) } ?? .none
        let timeout = field("timeout").flatMap { durationMillis($0, what: "timeout of \(what)") }
        let cache = field("cache").flatMap { readCache($0, node: entry.key) }
        let interrupt = field("interrupt").map { readInterrupt($0, what: what) } ?? []
        return NodeDefinition(
            name: entry.key, kind: kind, params: parts.params, writes: parts.writes, retry: retry,
            timeoutMillis: timeout, cache: cache, interruptBefore: interrupt.contains(.before),
            interruptAfter: interrupt.contains(.after), expressions: parts.expressions, templates: parts.templates,
            expressionMaps: parts.expressionMaps, subgraph: parts.subgraph, position: entry.keyPosition,
            writePositions: parts.writePositions, paramPositions: parts.paramPositions)
    }

    /// The pieces of a node collected while reading it.
    struct NodeParts {
        let name: String
        let kind: NodeKind
        var params: [String: GraphValue] = [:]
        var paramPositions: [String: SourcePosition] = [:]
        var writes: [String] = []
        var writePositions: [SourcePosition] = []
        var expressions: [String: Expression] = [:]
        var templates: [String: TextTemplate] = [:]
        var expressionMaps: [String: [String: Expression]] = [:]
        var subgraph: GraphReference?
    }

    private mutating func readParams(_ node: Node, into parts: inout NodeParts) {
        let what = "params of node \"\(parts.name)\""
        guard let entries = entries(of: node, what: what) else { return }
        for entry in entries {
            parts.params[entry.key] = value(of: entry.value)
            parts.paramPositions[entry.key] = position(of: entry.value)
            let label = "parameter \"\(entry.key)\" of node \"\(parts.name)\""
            let context = GraphLoader.ExpressionSite.Context.nodeParam(node: parts.name)
            if parts.kind.expressionParams.contains(entry.key) {
                parts.expressions[entry.key] = expression(entry.value, context: context, what: label)
            } else if parts.kind.templateParams.contains(entry.key) {
                parts.templates[entry.key] = template(entry.value, node: parts.name, what: label)
            } else if parts.kind.expressionMapParams.contains(entry.key) {
                parts.expressionMaps[entry.key] = expressionMap(entry.value, node: parts.name, what: label)
            } else if parts.kind == .http, entry.key == "headers", let headers = self.entries(of: entry.value, what: label) {
                for header in headers {
                    parts.templates["headers.\(header.key)"] = template(header.value, node: parts.name, what: "header \"\(header.key)\"")
                }
            } else if parts.kind == .subgraph, entry.key == "graph" {
                parts.subgraph = reference(entry.value)
            }
        }
    }

    private mutating func template(_ node: Node, node name: String, what: String) -> TextTemplate? {
        guard case .scalar(let scalar) = node, !isNull(node) else {
            fail(.invalidField, at: position(of: node), "\(what) must be a text (it may contain {{ expressions }})")
            return nil
        }
        do {
            let parsed = try TextTemplate(parsing: scalar.string)
            for hole in parsed.holes {
                expressionSites.append(
                    ExpressionSite(expression: hole.expression, node: node, context: .nodeParam(node: name), baseOffset: hole.offset))
            }
            return parsed
        } catch {
            failExpression(error, in: node, what: what)
            return nil
        }
    }

    private mutating func expressionMap(_ node: Node, node name: String, what: String) -> [String: Expression]? {
        guard let entries = entries(of: node, what: what) else { return nil }
        var result: [String: Expression] = [:]
        for entry in entries {
            let parsed = expression(entry.value, context: .nodeParam(node: name), what: "\(what), key \"\(entry.key)\"")
            if let parsed { result[entry.key] = parsed }
        }
        return result
    }

    private mutating func reference(_ node: Node) -> GraphReference? {
        let text = node.string ?? ""
        guard let reference = GraphReference(parsing: text) else {
            fail(.invalidReference, at: position(of: node), "subgraph reference \"\(text)\" must be name@version, e.g. summarize@1")
            return nil
        }
        return reference
    }
}
