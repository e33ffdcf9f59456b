/// All the errors found in one graph file, sorted by line and column.
///
/// Invariant: `errors` is non-empty and free of duplicates.
public struct GraphValidationReport: Error, Sendable, Hashable, CustomStringConvertible {
    public let errors: [GraphError]

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
