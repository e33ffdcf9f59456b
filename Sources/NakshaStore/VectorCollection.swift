/// A vector collection's fixed shape (`naksha_collections`).
///
/// Invariants: `dimension > 0`, `shardCount > 0`; both never change after creation (a
/// different shape needs a new collection). Shard numbers are `0..<shardCount`; which shard
/// a vector belongs to (hash of its id) is decided by the caller, not the store.
public struct VectorCollection: Sendable, Equatable {
    public var name: String
    public var dimension: Int
    /// The distance metric's stable name (e.g. `"cosine"`, `"l2"`, `"dot"`); opaque here.
    public var metric: String
    public var shardCount: Int

    public init(name: String, dimension: Int, metric: String, shardCount: Int) {
        self.name = name
        self.dimension = dimension
        self.metric = metric
        self.shardCount = shardCount
    }
}
