import Yams

extension GraphLoader {
    static let edgeFields = ["from", "to", "over", "branches", "default"]
    static let branchFields = ["when", "to"]

    /// Reads `edges:`, a list of edges.
    mutating func readEdges(_ node: Node) -> [EdgeDefinition] {
        guard case .sequence(let sequence) = node else {
            fail(.invalidField, at: position(of: node), "edges must be a list (lines starting with -)")
            return []
        }
        return sequence.compactMap { readEdge($0) }
    }

    private mutating func readEdge(_ node: Node) -> EdgeDefinition? {
        guard let fields = entries(of: node, what: "an edge") else { return nil }
        rejectUnknownFields(fields, allowed: Self.edgeFields, what: "an edge")
        func field(_ name: String) -> Node? { fields.first { $0.key == name }?.value }
        let edgePosition = position(of: node)
        guard let fromNode = field("from") else {
            fail(.missingField, at: edgePosition, "an edge needs from")
            return nil
        }
        guard let sources = readSources(fromNode) else { return nil }
        let toNode = field("to")
        let branchesNode = field("branches")
        switch (toNode, branchesNode) {
        case (let toNode?, nil):
            if field("default") != nil {
                fail(.invalidEdge, at: edgePosition, "default belongs to an edge with branches; this edge has to")
            }
            guard let target = readTarget(toNode) else { return nil }
            let route: EdgeDefinition.Route
            if let overNode = field("over") {
                guard let over = expression(overNode, context: .fanOutSource, what: "over") else { return nil }
                route = .fanOut(target: target, over: over)
            } else {
                route = .direct(target: target)
            }
            return EdgeDefinition(
                sources: sources, route: route, position: edgePosition, targetPosition: position(of: toNode),
                sourcePosition: position(of: fromNode))
        case (nil, let branchesNode?):
            if let overNode = field("over") {
                fail(.invalidEdge, at: position(of: overNode), "over (fan-out) needs a to, not branches")
            }
            return readConditional(branchesNode, default: field("default"), sources: sources, at: edgePosition, from: fromNode)
        case (.some, .some):
            fail(.invalidEdge, at: edgePosition, "an edge has either to or branches, not both")
            return nil
        case (nil, nil):
            fail(.missingField, at: edgePosition, "an edge needs to (or branches with a default)")
            return nil
        }
    }

    private mutating func readSources(_ node: Node) -> [String]? {
        let items: [Node]
        if case .sequence(let sequence) = node { items = Array(sequence) } else { items = [node] }
        var sources: [String] = []
        for item in items {
            guard let name = string(item, what: "from") else { return nil }
            guard name != GraphDefinition.end else {
                fail(.invalidEdge, at: position(of: item), "an edge cannot start at END; END has no successors")
                return nil
            }
            if name == GraphDefinition.start, items.count > 1 {
                fail(.invalidEdge, at: position(of: item), "START cannot be part of a join")
                return nil
            }
            if !sources.contains(name) { sources.append(name) }
        }
        guard !sources.isEmpty else {
            fail(.invalidEdge, at: position(of: node), "from must name at least one node")
            return nil
        }
        return sources.sorted()
    }

    private mutating func readTarget(_ node: Node) -> String? {
        guard let name = string(node, what: "to") else { return nil }
        guard name != GraphDefinition.start else {
            fail(.invalidEdge, at: position(of: node), "an edge cannot lead to START")
            return nil
        }
        return name
    }

    private mutating func readConditional(
        _ node: Node, default defaultNode: Node?, sources: [String], at edgePosition: SourcePosition, from fromNode: Node
    ) -> EdgeDefinition? {
        guard case .sequence(let sequence) = node, !sequence.isEmpty else {
            fail(.invalidEdge, at: position(of: node), "branches must be a non-empty list of {when, to}")
            return nil
        }
        var branches: [EdgeDefinition.Branch] = []
        for branchNode in sequence {
            guard let fields = entries(of: branchNode, what: "a branch") else { continue }
            rejectUnknownFields(fields, allowed: Self.branchFields, what: "a branch")
            guard let whenNode = fields.first(where: { $0.key == "when" })?.value,
                let toNode = fields.first(where: { $0.key == "to" })?.value
            else {
                fail(.missingField, at: position(of: branchNode), "a branch needs when and to")
                continue
            }
            guard let condition = expression(whenNode, context: .condition, what: "when"),
                let target = readTarget(toNode)
            else { continue }
            branches.append(
                EdgeDefinition.Branch(
                    condition: condition, target: target, position: position(of: whenNode), targetPosition: position(of: toNode)))
        }
        guard let defaultNode else {
            fail(.invalidEdge, at: edgePosition, "a conditional edge needs a default target (use END to stop)")
            return nil
        }
        guard let defaultTarget = readTarget(defaultNode), branches.count == sequence.count else { return nil }
        return EdgeDefinition(
            sources: sources, route: .conditional(branches: branches, defaultTarget: defaultTarget), position: edgePosition,
            targetPosition: position(of: defaultNode), sourcePosition: position(of: fromNode))
    }
}
