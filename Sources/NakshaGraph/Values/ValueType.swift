/// The declared type of a state key.
///
/// Invariant: `null` conforms to every type (it means "not set yet"); an `int` conforms to
/// `float` (and is widened to a float when stored under a float key).
public enum ValueType: String, Sendable, Hashable, Codable, CaseIterable {
    case string
    case int
    case float
    case bool
    case list
    case map
    case any

    /// Whether `value` may be stored under a key of this type.
    public func accepts(_ value: GraphValue) -> Bool {
        switch (self, value) {
        case (_, .null), (.any, _): return true
        case (.string, .string), (.int, .int), (.float, .double), (.float, .int),
            (.bool, .bool), (.list, .list), (.map, .map):
            return true
        case (.string, _), (.int, _), (.float, _), (.bool, _), (.list, _), (.map, _):
            return false
        }
    }

    /// Whether a value statically known to be of type `other` may be stored under this type
    /// (`any` on either side is compatible: the check is then left to run time).
    func isCompatible(with other: ValueType) -> Bool {
        switch (self, other) {
        case (.any, _), (_, .any): return true
        case (.float, .int): return true
        case (.string, _), (.int, _), (.float, _), (.bool, _), (.list, _), (.map, _):
            return self == other
        }
    }

    /// `value` converted to this type's canonical representation (ints widened for float).
    func normalized(_ value: GraphValue) -> GraphValue {
        if self == .float, case .int(let number) = value { return .double(Double(number)) }
        return value
    }
}
