/// Semantic checks on a loaded graph: names, expressions, types, reachability, cycles and
/// parallel writes. Every check reports at the position of the YAML that causes it.
///
/// Invariant: the structural checks (reachability, cycles, parallel writes) run only on a
/// graph whose edges all name existing nodes, so their graph walks never meet a dangling name.
struct GraphValidator {
    let graph: GraphDefinition
    let loader: GraphLoader
    let knownGraphs: Set<GraphReference>?
    private(set) var errors: [GraphError] = []
    /// Successors of each node (and START) over all edges; END is left out.
    private(set) var adjacency: [String: [String]] = [:]

    init(graph: GraphDefinition, loader: GraphLoader, knownGraphs: Set<GraphReference>?) {
        self.graph = graph
        self.loader = loader
        self.knownGraphs = knownGraphs
        for edge in graph.edges {
            let targets = edge.targets.map(\.name).filter { $0 != GraphDefinition.end }
            for source in edge.sources {
                adjacency[source, default: []].append(contentsOf: targets)
            }
        }
    }

    mutating func report(_ code: GraphError.Code, at position: SourcePosition, _ message: String) {
        errors.append(loader.makeError(code, at: position, message))
    }

    /// Runs every check; `structural` is false when loading already failed somewhere.
    mutating func run(structural: Bool) {
        let namesAreValid = checkEdgeNames()
        checkExpressions()
        checkTypes()
        checkSubgraphs()
        guard structural, namesAreValid else { return }
        checkStartAndDeadEnds()
        checkReachability()
        checkCycles()
        checkParallelWrites()
    }

    /// Unknown node names in edges; returns whether all names are known.
    private mutating func checkEdgeNames() -> Bool {
        var valid = true
        let candidates = Array(graph.nodes.keys) + [GraphDefinition.start, GraphDefinition.end]
        let declared = loader.declaredNodes
        for edge in graph.edges {
            for source in edge.sources where source != GraphDefinition.start && graph.nodes[source] == nil {
                valid = false
                guard !declared.contains(source) else { continue }
                report(
                    .unknownNode, at: edge.sourcePosition,
                    "edge from unknown node \"\(source)\"\(Spelling.hint(for: source, among: candidates))")
            }
            for target in edge.targets where target.name != GraphDefinition.end && graph.nodes[target.name] == nil {
                valid = false
                guard !declared.contains(target.name) else { continue }
                report(
                    .unknownNode, at: target.position,
                    "edge to unknown node \"\(target.name)\"\(Spelling.hint(for: target.name, among: candidates))")
            }
        }
        return valid
    }

    /// Nodes that are the target of a fan-out edge (only they may use `item`).
    private var fanOutTargets: Set<String> {
        var targets: Set<String> = []
        for edge in graph.edges {
            if case .fanOut(let target, _) = edge.route { targets.insert(target) }
        }
        return targets
    }

    private mutating func checkExpressions() {
        let keys = Array(graph.state.keys)
        let itemNodes = fanOutTargets
        for site in loader.expressionSites {
            for reference in site.expression.stateReferences where graph.state[reference.key] == nil {
                report(
                    .unknownStateKey, at: loader.position(of: site.node, offset: site.baseOffset + reference.offset),
                    "expression reads unknown state key \"\(reference.key)\"\(Spelling.hint(for: reference.key, among: keys))")
            }
            guard let offset = site.expression.firstItemOffset else { continue }
            let allowed: Bool
            switch site.context {
            case .nodeParam(let node), .cacheKey(let node): allowed = itemNodes.contains(node)
            case .condition, .fanOutSource: allowed = false
            }
            if !allowed {
                report(
                    .invalidExpression, at: loader.position(of: site.node, offset: site.baseOffset + offset),
                    "\"item\" is only set in nodes that are fan-out targets (an edge with over: leads to them)")
            }
        }
    }

    private mutating func checkTypes() {
        let schema = graph.schemaTypes
        for site in loader.expressionSites {
            let type = site.expression.staticType(schema: schema)
            switch site.context {
            case .condition where !ValueType.bool.isCompatible(with: type):
                report(.typeMismatch, at: loader.position(of: site.node), "when must be true or false but \"\(site.expression)\" is \(type.rawValue)")
            case .fanOutSource where !ValueType.list.isCompatible(with: type):
                report(.typeMismatch, at: loader.position(of: site.node), "over must be a list but \"\(site.expression)\" is \(type.rawValue)")
            case .condition, .fanOutSource, .nodeParam, .cacheKey:
                break
            }
        }
        for name in graph.nodes.keys.sorted() {
            guard let node = graph.nodes[name], node.kind == .transform, let set = node.expressionMaps["set"] else { continue }
            for (key, expression) in set.sorted(by: { $0.key < $1.key }) {
                guard let declared = schema[key] else { continue }
                let produced = expression.staticType(schema: schema)
                guard !declared.isCompatible(with: produced) else { continue }
                let site = loader.expressionSites.first { $0.expression == expression && $0.context == .nodeParam(node: name) }
                report(
                    .typeMismatch, at: site.map { loader.position(of: $0.node) } ?? node.position,
                    "transform \"\(name)\" sets \"\(key)\" (\(declared.rawValue)) to \"\(expression)\", which is \(produced.rawValue)")
            }
        }
    }

    private mutating func checkSubgraphs() {
        for name in graph.nodes.keys.sorted() {
            guard let node = graph.nodes[name], let reference = node.subgraph else { continue }
            let position = node.paramPositions["graph"] ?? node.position
            if reference.name == graph.name {
                report(.invalidReference, at: position, "graph \"\(graph.name)\" cannot run itself as a subgraph")
            } else if let knownGraphs, !knownGraphs.contains(reference) {
                let names = knownGraphs.map(\.description)
                report(
                    .unknownSubgraph, at: position,
                    "subgraph \(reference) is not registered\(Spelling.hint(for: reference.description, among: names))")
            }
        }
    }
}
