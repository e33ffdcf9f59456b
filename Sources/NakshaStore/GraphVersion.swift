/// One immutable version of a workflow graph definition (`naksha_graph_versions`).
///
/// Invariant: `(name, version)` identifies one definition forever. Storing the same
/// definition again is a no-op; storing a different one under an existing version is
/// rejected with `uniqueViolation`.
public struct GraphVersion: Sendable, Equatable {
    public var name: String
    public var version: Int
    /// The definition text (YAML as submitted).
    public var definition: String

    public init(name: String, version: Int, definition: String) {
        self.name = name
        self.version = version
        self.definition = definition
    }
}
