import NakshaGraph

/// A scalar a filter compares with.
public enum FilterScalar: Sendable, Hashable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
}

/// A parsed filter; workers evaluate it as the vector index's `MetadataFilter` (same cases,
/// same meaning).
public indirect enum FilterExpression: Sendable, Hashable {
    case equals(String, FilterScalar)
    /// Both bounds inclusive; nil is open.
    case range(String, min: FilterScalar?, max: FilterScalar?)
    case isIn(String, [FilterScalar])
    case and([FilterExpression])
    case or([FilterExpression])
    case not(FilterExpression)
}

/// A query's metadata filter, written as JSON, and its reading into a `FilterExpression`.
///
/// The form (docs/vectors.md#filters):
/// - `{"lang": "en"}` — the value under `lang` equals `"en"`; several keys must all match;
/// - `{"year": {"gte": 2020, "lte": 2024}}` — a range, both bounds inclusive and optional;
/// - `{"tag": {"in": ["a", "b"]}}` — one of the values; `{"tag": {"ne": "a"}}` — not equal;
/// - `{"$or": [F, F, …]}`, `{"$and": [F, …]}`, `{"$not": F}` — combinations.
///
/// Values are strings, numbers and booleans; a vector whose metadata lacks the key never
/// matches a condition on it.
public enum VectorFilter {
    /// Reads a filter; throws `ClusterAPIError.invalidFilter` saying what is wrong and where.
    public static func parse(json: String) throws(ClusterAPIError) -> FilterExpression {
        let value: GraphValue
        do {
            value = try GraphValue(parsingJSON: json, name: "filter")
        } catch {
            throw ClusterAPIError(code: ClusterAPIError.invalidFilter, message: "filter is not JSON: \(error)")
        }
        return try parse(value, path: "filter")
    }

    public static func parse(_ value: GraphValue, path: String) throws(ClusterAPIError) -> FilterExpression {
        guard case .map(let fields) = value else {
            throw invalid(path, "must be an object such as {\"lang\": \"en\"}")
        }
        var conditions: [FilterExpression] = []
        for key in fields.keys.sorted() {
            guard let field = fields[key] else { continue }
            switch key {
            case "$or", "$and":
                guard case .list(let items) = field else { throw invalid("\(path).\(key)", "must be a list of filters") }
                var parts: [FilterExpression] = []
                for (position, item) in items.enumerated() { parts.append(try parse(item, path: "\(path).\(key)[\(position)]")) }
                conditions.append(key == "$or" ? .or(parts) : .and(parts))
            case "$not":
                conditions.append(.not(try parse(field, path: "\(path).$not")))
            default:
                guard !key.hasPrefix("$") else { throw invalid(path, "unknown operator \"\(key)\" (use $and, $or, $not)") }
                conditions.append(try condition(key, field, path: "\(path).\(key)"))
            }
        }
        return conditions.count == 1 ? conditions[0] : .and(conditions)
    }

    private static func condition(_ key: String, _ field: GraphValue, path: String) throws(ClusterAPIError) -> FilterExpression {
        if let scalar = metadataValue(field) { return .equals(key, scalar) }
        guard case .map(let operators) = field, !operators.isEmpty else {
            throw invalid(path, "must be a string, number or boolean, or an object of gte, lte, in, ne")
        }
        var lower: FilterScalar?
        var upper: FilterScalar?
        var parts: [FilterExpression] = []
        for name in operators.keys.sorted() {
            guard let operand = operators[name] else { continue }
            switch name {
            case "gte", "lte":
                guard let bound = metadataValue(operand) else { throw invalid("\(path).\(name)", "must be a string, number or boolean") }
                if name == "gte" { lower = bound } else { upper = bound }
            case "in":
                guard case .list(let items) = operand else { throw invalid("\(path).in", "must be a list of values") }
                var values: [FilterScalar] = []
                for item in items {
                    guard let scalar = metadataValue(item) else { throw invalid("\(path).in", "holds a value that is not a string, number or boolean") }
                    values.append(scalar)
                }
                parts.append(.isIn(key, values))
            case "ne":
                guard let scalar = metadataValue(operand) else { throw invalid("\(path).ne", "must be a string, number or boolean") }
                parts.append(.not(.equals(key, scalar)))
            default:
                throw invalid(path, "unknown operator \"\(name)\" (use gte, lte, in, ne)")
            }
        }
        if lower != nil || upper != nil { parts.insert(.range(key, min: lower, max: upper), at: 0) }
        return parts.count == 1 ? parts[0] : .and(parts)
    }

    /// A scalar as a metadata value; nil for null, lists and objects (they are not indexed).
    public static func metadataValue(_ value: GraphValue) -> FilterScalar? {
        switch value {
        case .string(let text): return .string(text)
        case .int(let number): return .int(Int64(number))
        case .double(let number): return .double(number)
        case .bool(let flag): return .bool(flag)
        case .null, .list, .map: return nil
        }
    }

    /// The scalar fields of a metadata object, the ones filters can match.
    public static func indexedValues(of metadata: GraphValue?) -> [String: FilterScalar] {
        guard case .map(let fields)? = metadata else { return [:] }
        var values: [String: FilterScalar] = [:]
        for (key, field) in fields { if let scalar = metadataValue(field) { values[key] = scalar } }
        return values
    }

    private static func invalid(_ path: String, _ message: String) -> ClusterAPIError {
        ClusterAPIError(code: ClusterAPIError.invalidFilter, message: "\(path) \(message)")
    }
}
