/// One vector to upsert, or (as `VectorChange`) one change read back by sequence.
///
/// Storage: `vector` is kept as `bytea` holding little-endian IEEE-754 binary32 values, so
/// every bit pattern (NaN payloads, -0, subnormals) comes back exactly.
public struct VectorRecord: Sendable, Equatable {
    public var id: String
    public var shard: Int
    public var vector: [Float]
    /// JSON text stored as `jsonb`, or nil.
    public var metadataJSON: String?

    public init(id: String, shard: Int, vector: [Float], metadataJSON: String? = nil) {
        self.id = id
        self.shard = shard
        self.vector = vector
        self.metadataJSON = metadataJSON
    }
}

/// The current state of one vector that changed after a given sequence number.
///
/// Invariant: within a shard, `sequence` is strictly increasing in commit order, so a
/// replica that applied everything up to `s` and then reads changes after `s` misses nothing.
/// A deleted vector is a tombstone: `isDeleted`, empty `vector`, nil metadata.
public struct VectorChange: Sendable, Equatable {
    public var id: String
    public var shard: Int
    public var sequence: Int64
    public var vector: [Float]
    public var metadataJSON: String?
    public var isDeleted: Bool

    public init(id: String, shard: Int, sequence: Int64, vector: [Float], metadataJSON: String?, isDeleted: Bool) {
        self.id = id
        self.shard = shard
        self.sequence = sequence
        self.vector = vector
        self.metadataJSON = metadataJSON
        self.isDeleted = isDeleted
    }
}
