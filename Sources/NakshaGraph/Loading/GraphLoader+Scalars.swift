import Yams

/// A mapping entry with a string key: the key, where it is written, and its value node.
struct YAMLEntry {
    let key: String
    let keyPosition: SourcePosition
    let value: Node
}

extension GraphLoader {
    /// The position of `node` (1:1 when libyaml gave none).
    func position(of node: Node) -> SourcePosition {
        guard let mark = node.mark else { return SourcePosition(line: 1, column: 1) }
        return SourcePosition(line: mark.line, column: mark.column)
    }

    /// The entries of a mapping with scalar keys, or nil (and an error) if `node` is not one.
    mutating func entries(of node: Node, what: String) -> [YAMLEntry]? {
        guard case .mapping(let mapping) = node else {
            fail(.invalidField, at: position(of: node), "\(what) must be a mapping (key: value lines)")
            return nil
        }
        var result: [YAMLEntry] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                fail(.invalidField, at: position(of: key), "keys in \(what) must be plain names")
                continue
            }
            result.append(YAMLEntry(key: scalar.string, keyPosition: position(of: key), value: value))
        }
        return result
    }

    /// Reports every entry whose key is not in `allowed` (with a spelling suggestion).
    mutating func rejectUnknownFields(_ entries: [YAMLEntry], allowed: [String], what: String) {
        for entry in entries where !allowed.contains(entry.key) {
            let hint = Spelling.hint(for: entry.key, among: allowed)
            fail(
                .unknownField, at: entry.keyPosition,
                "unknown field \"\(entry.key)\" in \(what)\(hint); known fields: \(allowed.joined(separator: ", "))")
        }
    }

    /// The text of a scalar node, or nil (and an error) if it is not a non-empty scalar.
    mutating func string(_ node: Node, what: String) -> String? {
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty, !isNull(node) else {
            fail(.invalidField, at: position(of: node), "\(what) must be a non-empty string")
            return nil
        }
        return scalar.string
    }

    /// A whole number in `range`, or nil (and an error).
    mutating func integer(_ node: Node, what: String, range: ClosedRange<Int>) -> Int? {
        guard case .int(let number) = value(of: node), range.contains(number) else {
            let upper = range.upperBound == Int.max ? "" : " and \(range.upperBound)"
            let bound = range.upperBound == Int.max ? "at least \(range.lowerBound)" : "between \(range.lowerBound)\(upper)"
            fail(.invalidField, at: position(of: node), "\(what) must be a whole number \(bound)")
            return nil
        }
        return number
    }

    /// A duration such as `500ms`, `30s`, `5m` or `1h`, in milliseconds, or nil (and an error).
    mutating func durationMillis(_ node: Node, what: String) -> Int? {
        if case .scalar(let scalar) = node, let millis = Self.parseDurationMillis(scalar.string) { return millis }
        fail(.invalidField, at: position(of: node), "\(what) must be a duration such as 500ms, 30s, 5m or 1h")
        return nil
    }

    /// Parses `<digits><unit>` with unit ms, s, m or h; nil when malformed or too large.
    static func parseDurationMillis(_ text: String) -> Int? {
        let units: [(suffix: String, millis: Int)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)]
        for unit in units where text.hasSuffix(unit.suffix) {
            let digits = text.dropLast(unit.suffix.count)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let number = Int(digits), number >= 0 else {
                continue
            }
            let (millis, overflow) = number.multipliedReportingOverflow(by: unit.millis)
            return overflow ? nil : millis
        }
        return nil
    }

    /// Whether the node is a YAML null (`~`, `null` or empty).
    func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node else { return false }
        return scalar.style == .plain && Resolver.default.resolveTag(of: node) == .null
    }

    /// The node converted to a `GraphValue` (quoted scalars are always strings).
    ///
    /// Bounded: YAML aliases can make a short file expand exponentially ("billion laughs"),
    /// so conversion stops with an error after `GraphLoader.maxValueNodes` nodes in total.
    mutating func value(of node: Node) -> GraphValue {
        valueNodesLeft -= 1
        if valueNodesLeft == 0 {
            fail(
                .invalidField, at: position(of: node),
                "the file expands to more than \(Self.maxValueNodes) values (through YAML aliases?); make it smaller")
        }
        guard valueNodesLeft > 0 else { return .null }
        switch node {
        case .scalar(let scalar):
            guard scalar.style == .plain || scalar.style == .any else { return .string(scalar.string) }
            if Self.isPlainWord(scalar.string) { return .string(scalar.string) }
            switch Resolver.default.resolveTag(of: node) {
            case .null: return .null
            case .bool: return node.bool.map(GraphValue.bool) ?? .string(scalar.string)
            case .int: return node.int.map(GraphValue.int) ?? .string(scalar.string)
            case .float: return node.float.map(GraphValue.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            var items: [GraphValue] = []
            for item in sequence { items.append(value(of: item)) }
            return .list(items)
        case .mapping(let mapping):
            var entries: [String: GraphValue] = [:]
            for (key, item) in mapping { entries[key.string ?? ""] = value(of: item) }
            return .map(entries)
        case .alias:
            return .null
        }
    }

    /// Whether a plain scalar is certainly a string without running the YAML resolver's
    /// regular expressions (slow): it starts with a letter and is not a YAML 1.1 bool or null
    /// word. Numbers, timestamps, `.inf` and `~` never start with a letter.
    static func isPlainWord(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first.properties.isAlphabetic else { return false }
        return !["true", "false", "yes", "no", "on", "off", "null"].contains(text.lowercased())
    }

    /// The position of `offset` (scalars) inside a one-line scalar's text, so that an
    /// expression error points at the offending character.
    func position(of node: Node, offset: Int?) -> SourcePosition {
        let base = position(of: node)
        guard let offset, case .scalar(let scalar) = node, !scalar.string.contains("\n") else { return base }
        switch scalar.style {
        case .plain, .any: return SourcePosition(line: base.line, column: base.column + offset)
        case .singleQuoted, .doubleQuoted: return SourcePosition(line: base.line, column: base.column + 1 + offset)
        case .literal, .folded: return base
        }
    }
}
