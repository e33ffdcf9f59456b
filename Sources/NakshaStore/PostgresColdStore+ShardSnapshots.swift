/// A saved replica of one shard (`naksha_shard_snapshots`): the bytes a worker wrote after
/// building it, and the shard sequence they include. A replica loaded from it applies only
/// the changes after `sequence`.
public struct ShardSnapshot: Sendable, Equatable {
    public let collection: String
    public let shard: Int
    /// Every change of the shard at or below this sequence is in `bytes`, none above.
    public let sequence: Int64
    /// Which creation of the collection it belongs to (the shard map's `createdMillis`): a
    /// snapshot written late for a collection since dropped and created again is not the new
    /// one's, whatever its sequence.
    public let generation: UInt64
    /// What wrote the bytes (the worker's format name and version), so a reader that does not
    /// know it builds from the vectors instead.
    public let format: String
    public let bytes: [UInt8]

    public init(collection: String, shard: Int, sequence: Int64, generation: UInt64 = 0, format: String, bytes: [UInt8]) {
        self.collection = collection
        self.shard = shard
        self.sequence = sequence
        self.generation = generation
        self.format = format
        self.bytes = bytes
    }
}

extension PostgresColdStore {
    /// Bytes per `bytea` chunk row: well under Postgres's 1 GiB field limit and small enough
    /// that one row never dominates a connection's memory.
    static let snapshotChunkBytes = 16 << 20

    /// Saves `snapshot` unless one of the same generation at the same or a higher sequence is
    /// already saved (two replicas of a shard may both save; the newest wins and equal ones are
    /// not rewritten). One of another generation is always replaced.
    /// Header and chunks are replaced in one transaction, so a reader sees the old snapshot
    /// or the new one, never a mix. Returns whether it was written. Idempotent.
    @discardableResult
    public func saveShardSnapshot(_ snapshot: ShardSnapshot) async throws(StoreError) -> Bool {
        try await saveShardSnapshot(snapshot, chunkBytes: Self.snapshotChunkBytes)
    }

    /// `saveShardSnapshot` in chunks of `chunkBytes` (tests use small ones).
    @discardableResult
    func saveShardSnapshot(_ snapshot: ShardSnapshot, chunkBytes: Int) async throws(StoreError) -> Bool {
        precondition(chunkBytes > 0, "chunkBytes must be positive")
        let op = "save_shard_snapshot"
        return try await withConnection(op, idempotent: true) { connection throws(StoreError) in
            try connection.transaction(operation: op) { () throws(StoreError) in
                // Locks the collection row so a concurrent drop waits (or has already removed it).
                let collection = try connection.execute(
                    "SELECT 1 FROM naksha_collections WHERE name = $1 FOR SHARE", [.text(snapshot.collection)], operation: op)
                guard !collection.rows.isEmpty else { throw Self.unknownCollection(snapshot.collection, operation: op) }
                let claimed = try connection.execute(
                    """
                    INSERT INTO naksha_shard_snapshots (collection, shard, sequence, generation, format, byte_count) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (collection, shard) DO UPDATE
                        SET sequence = excluded.sequence, generation = excluded.generation, format = excluded.format,
                            byte_count = excluded.byte_count, saved_at = now()
                        WHERE naksha_shard_snapshots.sequence < excluded.sequence OR naksha_shard_snapshots.generation <> excluded.generation
                    """,
                    [
                        .text(snapshot.collection), .int(snapshot.shard), .int64(snapshot.sequence), .int64(Int64(bitPattern: snapshot.generation)),
                        .text(snapshot.format), .int(snapshot.bytes.count),
                    ],
                    operation: op)
                guard claimed.affectedRows == 1 else { return false }
                try connection.execute(
                    "DELETE FROM naksha_shard_snapshot_chunks WHERE collection = $1 AND shard = $2",
                    [.text(snapshot.collection), .int(snapshot.shard)], operation: op)
                var ordinal = 0
                var start = 0
                repeat {
                    let end = min(start + chunkBytes, snapshot.bytes.count)
                    try connection.execute(
                        "INSERT INTO naksha_shard_snapshot_chunks (collection, shard, ordinal, bytes) VALUES ($1, $2, $3, $4)",
                        [.text(snapshot.collection), .int(snapshot.shard), .int(ordinal), .bytes(Array(snapshot.bytes[start..<end]))],
                        operation: op)
                    ordinal += 1
                    start = end
                } while start < snapshot.bytes.count
                return true
            }
        }
    }

    /// The saved snapshot of a shard, or nil when none is saved. The chunks are checked to be
    /// contiguous and to add up to the recorded length (`protocolViolation` otherwise); the
    /// caller checks the content's own checksum.
    public func shardSnapshot(collection: String, shard: Int) async throws(StoreError) -> ShardSnapshot? {
        let op = "load_shard_snapshot"
        return try await withConnection(op, idempotent: true) { connection throws(StoreError) in
            try connection.transaction(operation: op) { () throws(StoreError) -> ShardSnapshot? in
                try connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", operation: op)
                let header = try connection.execute(
                    "SELECT sequence, format, byte_count, generation FROM naksha_shard_snapshots WHERE collection = $1 AND shard = $2",
                    [.text(collection), .int(shard)], operation: op)
                guard !header.rows.isEmpty else { return nil }
                let sequence = try header.int64(0, 0, operation: op)
                let format = try header.string(0, 1, operation: op)
                let byteCount = Int(try header.int64(0, 2, operation: op))
                let generation = UInt64(bitPattern: try header.int64(0, 3, operation: op))
                try connection.execute(
                    "SELECT set_config('naksha.collection', $1, true), set_config('naksha.shard', $2, true)",
                    [.text(collection), .int(shard)], operation: op)
                var bytes: [UInt8] = []
                bytes.reserveCapacity(byteCount)
                var expectedOrdinal: Int32 = 0
                try connection.copyOut(
                    """
                    COPY (SELECT ordinal, bytes FROM naksha_shard_snapshot_chunks
                        WHERE collection = current_setting('naksha.collection') AND shard = current_setting('naksha.shard')::integer
                        ORDER BY ordinal)
                    TO STDOUT (FORMAT binary)
                    """, operation: op
                ) { tuple throws(StoreError) in
                    guard tuple.fieldCount == 2, let ordinal = try tuple.int32(0, operation: op), ordinal == expectedOrdinal,
                          let chunk = try tuple.bytes(1, operation: op)
                    else {
                        throw StoreError(code: .protocolViolation, operation: op, message: "snapshot of \(collection)/\(shard): chunk \(expectedOrdinal) is missing or out of order")
                    }
                    bytes.append(contentsOf: chunk)
                    expectedOrdinal += 1
                }
                guard bytes.count == byteCount else {
                    throw StoreError(
                        code: .protocolViolation, operation: op,
                        message: "snapshot of \(collection)/\(shard) has \(bytes.count) bytes; its header records \(byteCount)")
                }
                return ShardSnapshot(collection: collection, shard: shard, sequence: sequence, generation: generation, format: format, bytes: bytes)
            }
        }
    }
}
