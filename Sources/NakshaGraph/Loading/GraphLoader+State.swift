import Yams

extension GraphLoader {
    static let stateKeyFields = ["type", "reducer", "default", "description"]

    /// Reads `state:`: each key is either `key: <type>` or `key: {type, reducer, default}`.
    mutating func readState(_ node: Node) -> [String: StateKeyDefinition] {
        if isNull(node) { return [:] }
        guard let entries = entries(of: node, what: "state") else { return [:] }
        var keys: [String: StateKeyDefinition] = [:]
        for entry in entries {
            guard Self.isValidName(entry.key) else {
                fail(.invalidField, at: entry.keyPosition, "state key \"\(entry.key)\" must be a name of letters, digits and _")
                continue
            }
            if let key = readStateKey(entry) { keys[entry.key] = key }
        }
        return keys
    }

    private mutating func readStateKey(_ entry: YAMLEntry) -> StateKeyDefinition? {
        let what = "state key \"\(entry.key)\""
        if case .scalar = entry.value {
            guard let type = valueType(entry.value, what: what) else { return nil }
            return StateKeyDefinition(name: entry.key, type: type, position: entry.keyPosition)
        }
        guard let fields = entries(of: entry.value, what: what) else { return nil }
        rejectUnknownFields(fields, allowed: Self.stateKeyFields, what: what)
        guard let typeField = fields.first(where: { $0.key == "type" }) else {
            fail(.missingField, at: entry.keyPosition, "\(what) needs a type (one of \(Self.typeNames))")
            return nil
        }
        guard let type = valueType(typeField.value, what: what) else { return nil }
        var reducer = Reducer.replace
        if let reducerField = fields.first(where: { $0.key == "reducer" }) {
            guard let parsed = self.reducer(reducerField.value, type: type, what: what) else { return nil }
            reducer = parsed
        }
        var defaultValue = GraphValue.null
        if let defaultField = fields.first(where: { $0.key == "default" }) {
            let value = value(of: defaultField.value)
            guard type.accepts(value) else {
                fail(
                    .typeMismatch, at: position(of: defaultField.value),
                    "default of \(what) is \(value.kindName) but the key's type is \(type.rawValue)")
                return nil
            }
            defaultValue = type.normalized(value)
        }
        return StateKeyDefinition(
            name: entry.key, type: type, reducer: reducer, defaultValue: defaultValue, position: entry.keyPosition)
    }

    private static var typeNames: String { ValueType.allCases.map(\.rawValue).joined(separator: ", ") }

    private mutating func valueType(_ node: Node, what: String) -> ValueType? {
        let text = node.string ?? ""
        if let type = ValueType(rawValue: text) { return type }
        let hint = Spelling.hint(for: text, among: ValueType.allCases.map(\.rawValue))
        fail(.invalidField, at: position(of: node), "unknown type \"\(text)\" for \(what)\(hint); use one of \(Self.typeNames)")
        return nil
    }

    private mutating func reducer(_ node: Node, type: ValueType, what: String) -> Reducer? {
        let text = node.string ?? ""
        guard let reducer = Reducer(rawValue: text) else {
            let names = Reducer.allCases.map(\.rawValue)
            let hint = Spelling.hint(for: text, among: names)
            fail(
                .invalidReducer, at: position(of: node),
                "unknown reducer \"\(text)\" for \(what)\(hint); use one of \(names.joined(separator: ", "))")
            return nil
        }
        guard reducer.allows(type) else {
            fail(
                .invalidReducer, at: position(of: node),
                "reducer \(reducer.rawValue) does not fit \(what) of type \(type.rawValue) (append needs list, merge needs map, add needs int or float)")
            return nil
        }
        return reducer
    }

    /// Whether `name` is a plain identifier (letters, digits, `_`, `-`; not starting with a digit).
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "_" || scalar == "-"
        }
    }
}
