import NakshaCore
/// A JSON-like value held in a job's state, in node outputs and in node parameters.
///
/// Invariants: a `GraphValue` is a plain tree (no references, no cycles), so equality,
/// hashing and `Codable` round trips are structural and deterministic. Map keys are
/// strings; iteration over a map for anything observable goes through `sortedKeys`
/// so results never depend on dictionary order.
public enum GraphValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([GraphValue])
    case map([String: GraphValue])

    /// The name of this value's kind as it appears in error messages (`"string"`, `"int"` …).
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "string"
        case .list: return "list"
        case .map: return "map"
        }
    }

    /// The value as a string if it is one.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The value as a list if it is one.
    public var listValue: [GraphValue]? {
        if case .list(let items) = self { return items }
        return nil
    }

    /// The value as a map if it is one.
    public var mapValue: [String: GraphValue]? {
        if case .map(let entries) = self { return entries }
        return nil
    }

    /// The value as a number (int or float) widened to `Double`, if it is one.
    public var numberValue: Double? {
        switch self {
        case .int(let number): return Double(number)
        case .double(let number): return number
        case .null, .bool, .string, .list, .map: return nil
        }
    }

    /// Whether this is `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

extension GraphValue {
    /// Equality used by expressions: like `==`, except that an int and a float compare by
    /// numeric value (`1 == 1.0`), recursively inside lists and maps.
    public func semanticallyEquals(_ other: GraphValue) -> Bool {
        if case .int(let left) = self, case .int(let right) = other { return left == right }
        if let left = numberValue, let right = other.numberValue { return left == right }
        if case .list(let left) = self, case .list(let right) = other {
            guard left.count == right.count else { return false }
            return zip(left, right).allSatisfy { $0.semanticallyEquals($1) }
        }
        if case .map(let left) = self, case .map(let right) = other {
            guard left.count == right.count else { return false }
            return left.allSatisfy { key, value in
                right[key].map { value.semanticallyEquals($0) } ?? false
            }
        }
        return self == other
    }

    /// A compact, deterministic, JSON-like rendering (map keys sorted), used for messages
    /// and for text templates.
    public var renderedText: String {
        switch self {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return String(number)
        case .double(let number): return String(number)
        case .string(let text): return text
        case .list(let items): return "[" + items.map(\.quotedText).joined(separator: ", ") + "]"
        case .map(let entries):
            let body = entries.keys.sorted().map { key in
                "\"\(key)\": " + (entries[key] ?? .null).quotedText
            }
            return "{" + body.joined(separator: ", ") + "}"
        }
    }

    /// Like `renderedText`, but strings are JSON string literals (used inside lists and maps,
    /// so that a rendered list or map of strings, numbers and flags is JSON).
    var quotedText: String {
        if case .string(let text) = self { return JSONText.quoted(text) }
        return renderedText
    }
}

extension GraphValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: GraphValue...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, GraphValue)...) {
        var entries: [String: GraphValue] = [:]
        for (key, value) in elements { entries[key] = value }
        self = .map(entries)
    }
}
