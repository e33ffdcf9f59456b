/// One scalar metadata value attached to a vector under a key (`"lang": "en"`,
/// `"year": 2024`, `"score": 0.7`, `"public": true`).
///
/// Ordering (used by range filters): two numbers (`int` or `double`) compare numerically,
/// two strings compare by Unicode scalar order, two bools with `false < true`; values of
/// different kinds are *unordered* — a range or equality filter never matches across kinds
/// (an `int(1)` equals a `double(1.0)`, a `string("1")` equals neither).
public enum MetadataValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)

    public var description: String {
        switch self {
        case .string(let s): "\"\(s)\""
        case .int(let i): "\(i)"
        case .double(let d): "\(d)"
        case .bool(let b): "\(b)"
        }
    }

    /// Three-way comparison; `nil` when the kinds are unordered (see the type's doc).
    func compare(_ other: MetadataValue) -> Int? {
        switch (self, other) {
        case (.string(let a), .string(let b)):
            return a == b ? 0 : (a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) ? -1 : 1)
        case (.int(let a), .int(let b)):
            return a == b ? 0 : (a < b ? -1 : 1)
        case (.bool(let a), .bool(let b)):
            return a == b ? 0 : (!a ? -1 : 1)
        case (.int(let a), .double(let b)):
            return Self.compareNumbers(Double(a), b)
        case (.double(let a), .int(let b)):
            return Self.compareNumbers(a, Double(b))
        case (.double(let a), .double(let b)):
            return Self.compareNumbers(a, b)
        case (.string, _), (.int, _), (.double, _), (.bool, _):
            return nil
        }
    }

    private static func compareNumbers(_ a: Double, _ b: Double) -> Int? {
        if a.isNaN || b.isNaN { return nil }
        return a == b ? 0 : (a < b ? -1 : 1)
    }
}

/// A predicate over a vector's metadata. A vector without the key never matches a
/// condition on that key (so `not(equals(k, v))` matches vectors lacking `k`).
public indirect enum MetadataFilter: Sendable, Hashable {
    /// The value under `key` equals `value` (numbers compare numerically across int/double).
    case equals(String, MetadataValue)
    /// The value under `key` lies in `[min, max]`, both inclusive; a `nil` bound is open.
    case range(String, min: MetadataValue?, max: MetadataValue?)
    /// The value under `key` equals one of `values`.
    case isIn(String, [MetadataValue])
    /// Every sub-filter matches (an empty `and` matches everything).
    case and([MetadataFilter])
    /// At least one sub-filter matches (an empty `or` matches nothing).
    case or([MetadataFilter])
    /// The sub-filter does not match.
    case not(MetadataFilter)

    /// Evaluates the filter against one row of values.
    func matches(_ lookup: (String) -> MetadataValue?) -> Bool {
        switch self {
        case .equals(let key, let value):
            guard let v = lookup(key) else { return false }
            return v.compare(value) == 0
        case .range(let key, let lower, let upper):
            guard let v = lookup(key) else { return false }
            if let lower {
                guard let c = v.compare(lower), c >= 0 else { return false }
            }
            if let upper {
                guard let c = v.compare(upper), c <= 0 else { return false }
            }
            return true
        case .isIn(let key, let values):
            guard let v = lookup(key) else { return false }
            return values.contains { v.compare($0) == 0 }
        case .and(let filters):
            return filters.allSatisfy { $0.matches(lookup) }
        case .or(let filters):
            return filters.contains { $0.matches(lookup) }
        case .not(let filter):
            return !filter.matches(lookup)
        }
    }
}
