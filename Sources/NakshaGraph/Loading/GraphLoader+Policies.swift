import Yams

extension GraphLoader {
    /// Reads `writes:` (a key or a list of keys); every key must be declared in `state`.
    mutating func readWrites(_ node: Node, into parts: inout NodeParts) {
        let items: [Node]
        switch node {
        case .scalar: items = [node]
        case .sequence(let sequence): items = Array(sequence)
        case .mapping, .alias:
            fail(.invalidField, at: position(of: node), "writes of node \"\(parts.name)\" must be a list of state keys")
            return
        }
        for item in items {
            guard let key = string(item, what: "an entry of writes") else { continue }
            guard stateTypes[key] != nil else {
                fail(
                    .unknownStateKey, at: position(of: item),
                    "node \"\(parts.name)\" writes unknown state key \"\(key)\"\(Spelling.hint(for: key, among: stateTypes.keys)); declare it under state")
                continue
            }
            if !parts.writes.contains(key) {
                parts.writes.append(key)
                parts.writePositions.append(position(of: item))
            }
        }
    }

    /// A transform writes exactly the keys of `set`: they become `writes` when none are given.
    mutating func deriveTransformWrites(_ parts: inout NodeParts, at position: SourcePosition) {
        guard parts.kind == .transform, let set = parts.expressionMaps["set"] else { return }
        let keys = set.keys.sorted()
        if parts.writes.isEmpty {
            for key in keys {
                guard stateTypes[key] != nil else {
                    let hint = Spelling.hint(for: key, among: stateTypes.keys)
                    fail(.unknownStateKey, at: parts.paramPositions["set"] ?? position, "transform \"\(parts.name)\" sets unknown state key \"\(key)\"\(hint)")
                    continue
                }
                parts.writes.append(key)
                parts.writePositions.append(parts.paramPositions["set"] ?? position)
            }
        } else if Set(parts.writes) != Set(keys) {
            fail(.invalidField, at: position, "transform \"\(parts.name)\" must list exactly the keys of set in writes (or omit writes)")
        }
    }

    mutating func readRetry(_ node: Node, what: String) -> RetryPolicy? {
        guard let fields = entries(of: node, what: "retry of \(what)") else { return nil }
        rejectUnknownFields(fields, allowed: Self.retryFields, what: "retry of \(what)")
        func field(_ name: String) -> Node? { fields.first { $0.key == name }?.value }
        let attempts = field("maxAttempts").flatMap { integer($0, what: "maxAttempts", range: 1...100) } ?? 3
        var backoff = RetryPolicy.Backoff.exponential
        if let backoffNode = field("backoff") {
            let text = backoffNode.string ?? ""
            if let parsed = RetryPolicy.Backoff(rawValue: text) {
                backoff = parsed
            } else {
                let names = RetryPolicy.Backoff.allCases.map(\.rawValue)
                fail(.invalidField, at: position(of: backoffNode), "backoff must be one of \(names.joined(separator: ", "))\(Spelling.hint(for: text, among: names))")
            }
        }
        let initial = field("initialDelay").flatMap { durationMillis($0, what: "initialDelay") } ?? 1_000
        let maximum = field("maxDelay").flatMap { durationMillis($0, what: "maxDelay") } ?? max(60_000, initial)
        guard maximum >= initial else {
            fail(.invalidField, at: position(of: node), "maxDelay of \(what) must not be shorter than initialDelay")
            return nil
        }
        return RetryPolicy(maxAttempts: attempts, backoff: backoff, initialDelayMillis: initial, maxDelayMillis: maximum)
    }

    mutating func readCache(_ node: Node, node name: String) -> CachePolicy? {
        let what = "cache of node \"\(name)\""
        guard let fields = entries(of: node, what: what) else { return nil }
        rejectUnknownFields(fields, allowed: Self.cacheFields, what: what)
        guard let ttlNode = fields.first(where: { $0.key == "ttl" })?.value else {
            fail(.missingField, at: position(of: node), "\(what) needs a ttl such as 10m")
            return nil
        }
        guard let ttl = durationMillis(ttlNode, what: "ttl"), ttl > 0 else { return nil }
        let key = fields.first(where: { $0.key == "key" }).flatMap {
            expression($0.value, context: .cacheKey(node: name), what: "cache key of node \"\(name)\"")
        }
        return CachePolicy(ttlMillis: ttl, key: key)
    }

    mutating func readInterrupt(_ node: Node, what: String) -> Set<InterruptPoint> {
        let items: [Node]
        if case .sequence(let sequence) = node { items = Array(sequence) } else { items = [node] }
        var points: Set<InterruptPoint> = []
        for item in items {
            let text = item.string ?? ""
            guard let point = InterruptPoint(rawValue: text) else {
                fail(.invalidField, at: position(of: item), "interrupt of \(what) must be before, after or [before, after]")
                continue
            }
            points.insert(point)
        }
        return points
    }
}
