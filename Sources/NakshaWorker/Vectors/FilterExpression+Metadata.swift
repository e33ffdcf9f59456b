import NakshaClusterAPI
import NakshaVector

extension MetadataValue {
    init(_ scalar: FilterScalar) {
        switch scalar {
        case .string(let text): self = .string(text)
        case .int(let number): self = .int(number)
        case .double(let number): self = .double(number)
        case .bool(let flag): self = .bool(flag)
        }
    }
}

extension MetadataFilter {
    /// The index's filter for a parsed query filter: the same cases, one to one.
    init(_ expression: FilterExpression) {
        switch expression {
        case .equals(let key, let value): self = .equals(key, MetadataValue(value))
        case .range(let key, let lower, let upper): self = .range(key, min: lower.map(MetadataValue.init), max: upper.map(MetadataValue.init))
        case .isIn(let key, let values): self = .isIn(key, values.map(MetadataValue.init))
        case .and(let parts): self = .and(parts.map(MetadataFilter.init))
        case .or(let parts): self = .or(parts.map(MetadataFilter.init))
        case .not(let part): self = .not(MetadataFilter(part))
        }
    }
}
