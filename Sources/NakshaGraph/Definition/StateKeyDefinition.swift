/// One key of a graph's state schema.
///
/// Invariants (checked by the loader): `reducer.allows(type)`; `defaultValue` is accepted
/// by `type` and already normalized (ints widened for float keys).
public struct StateKeyDefinition: Sendable, Hashable {
    public let name: String
    public let type: ValueType
    public let reducer: Reducer
    /// The value the key has when a job starts, before the job's input is applied.
    public let defaultValue: GraphValue
    public let position: SourcePosition

    public init(
        name: String, type: ValueType, reducer: Reducer = .replace, defaultValue: GraphValue = .null,
        position: SourcePosition = .unknown
    ) {
        self.name = name
        self.type = type
        self.reducer = reducer
        self.defaultValue = defaultValue
        self.position = position
    }
}
