extension PostgresColdStore {
    public func createCollection(_ collection: VectorCollection) async throws(StoreError) {
        let op = "create_collection"
        guard collection.dimension > 0, collection.shardCount > 0, collection.shardCount <= 65_536 else {
            throw StoreError(
                code: .invalidInput, operation: op,
                message: "collection \"\(collection.name)\" needs dimension > 0 and 1…65536 shards "
                    + "(got dimension \(collection.dimension), \(collection.shardCount) shards)")
        }
        try await withConnection(op, idempotent: true) { connection throws(StoreError) in
            try connection.transaction(operation: op) { () throws(StoreError) in
                let inserted = try connection.execute(
                    """
                    INSERT INTO naksha_collections (name, dimension, metric, shard_count) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (name) DO NOTHING
                    """,
                    [.text(collection.name), .int(collection.dimension), .text(collection.metric), .int(collection.shardCount)],
                    operation: op)
                if inserted.affectedRows == 0 {
                    guard let existing = try Self.readCollection(collection.name, on: connection, operation: op),
                          existing == collection
                    else {
                        throw StoreError(
                            code: .uniqueViolation, operation: op,
                            message: "collection \"\(collection.name)\" already exists with a different shape; "
                                + "use another name or drop the old collection")
                    }
                }
                try connection.execute(
                    """
                    INSERT INTO naksha_shard_sequences (collection, shard)
                    SELECT $1::text, generate_series(0, $2::integer - 1) ON CONFLICT DO NOTHING
                    """,
                    [.text(collection.name), .int(collection.shardCount)], operation: op)
            }
        }
    }

    public func collection(named name: String) async throws(StoreError) -> VectorCollection? {
        try await withConnection("collection", idempotent: true) { connection throws(StoreError) in
            try Self.readCollection(name, on: connection, operation: "collection")
        }
    }

    @discardableResult
    public func upsertVectors(_ vectors: [VectorRecord], into collection: String) async throws(StoreError) -> [Int: Int64] {
        guard !vectors.isEmpty else { return [:] }
        let op = "upsert_vectors"
        try VectorBatchValidation.checkText(vectors, operation: op)
        return try await withConnection(op, idempotent: true) { connection throws(StoreError) in
            try connection.transaction(operation: op) { () throws(StoreError) in
                guard let shape = try Self.readCollection(collection, on: connection, operation: op) else {
                    throw Self.unknownCollection(collection, operation: op)
                }
                try VectorBatchValidation.checkShape(vectors, against: shape, operation: op)
                return try Self.stageAndMerge(vectors, collection: collection, on: connection)
            }
        }
    }

    @discardableResult
    public func deleteVectors(ids: [String], from collection: String) async throws(StoreError) -> [Int: Int64] {
        guard !ids.isEmpty else { return [:] }
        let op = "delete_vectors"
        return try await withConnection(op, idempotent: true) { connection throws(StoreError) in
            try connection.transaction(operation: op) { () throws(StoreError) in
                // Lock every shard counter in shard order: the same order upserts use, so no deadlock.
                try connection.execute(
                    "SELECT shard FROM naksha_shard_sequences WHERE collection = $1 ORDER BY shard FOR UPDATE",
                    [.text(collection)], operation: op)
                var highest: [Int: Int64] = [:]
                for id in ids {
                    let result = try connection.executePrepared(
                        name: "naksha_delete_vector",
                        sql: """
                            WITH target AS (
                                SELECT shard FROM naksha_vectors WHERE collection = $1 AND id = $2 AND NOT deleted),
                            bumped AS (
                                UPDATE naksha_shard_sequences q SET last_sequence = q.last_sequence + 1 FROM target t
                                WHERE q.collection = $1 AND q.shard = t.shard RETURNING q.shard, q.last_sequence)
                            UPDATE naksha_vectors v SET deleted = true, vector = NULL, metadata = NULL,
                                sequence = b.last_sequence
                            FROM bumped b WHERE v.collection = $1 AND v.id = $2
                            RETURNING b.shard, b.last_sequence
                            """,
                        [.text(collection), .text(id)], operation: op)
                    for row in result.rows.indices {
                        let shard = Int(try result.int64(row, 0, operation: op))
                        highest[shard] = max(highest[shard] ?? 0, try result.int64(row, 1, operation: op))
                    }
                }
                return highest
            }
        }
    }

    public func vectorChanges(
        collection: String, shard: Int, afterSequence: Int64, limit: Int?
    ) async throws(StoreError) -> [VectorChange] {
        let op = "vector_changes"
        if let limit, limit <= 0 { return [] }
        return try await withConnection(op, idempotent: true) { connection throws(StoreError) in
            try connection.transaction(operation: op) { () throws(StoreError) in
                // COPY takes no parameters: the filter goes in transaction-local settings, set through parameters.
                try connection.execute(
                    """
                    SELECT set_config('naksha.collection', $1, true), set_config('naksha.shard', $2, true),
                        set_config('naksha.after_sequence', $3, true), set_config('naksha.limit', $4, true)
                    """,
                    [.text(collection), .int(shard), .int64(afterSequence), .text(limit.map { String($0) } ?? "")],
                    operation: op)
                var changes: [VectorChange] = []
                try connection.copyOut(
                    """
                    COPY (SELECT id, shard, sequence, vector, metadata, deleted FROM naksha_vectors
                        WHERE collection = current_setting('naksha.collection')
                          AND shard = current_setting('naksha.shard')::integer
                          AND sequence > current_setting('naksha.after_sequence')::bigint
                        ORDER BY sequence
                        LIMIT NULLIF(current_setting('naksha.limit'), '')::bigint)
                    TO STDOUT (FORMAT binary)
                    """, operation: op
                ) { tuple throws(StoreError) in
                    changes.append(try Self.decodeChange(tuple, operation: op))
                }
                return changes
            }
        }
    }

    // MARK: - Internals

    /// COPYs the batch into the session's staging table, then, under the shard counters'
    /// row locks (taken in shard order), gives each row `base + rank` where `rank` is its
    /// 1-based position among the batch's rows of the same shard (computed here, so the
    /// server sorts nothing), and merges into `naksha_vectors`. Row locks are held to
    /// COMMIT, so per shard the sequence order is the commit order.
    private static func stageAndMerge(
        _ vectors: [VectorRecord], collection: String, on connection: PostgresConnection
    ) throws(StoreError) -> [Int: Int64] {
        let op = "upsert_vectors"
        try connection.execute(
            """
            CREATE TEMP TABLE IF NOT EXISTS naksha_vector_stage (
                rank bigint NOT NULL, id text NOT NULL, shard integer NOT NULL, vector bytea NOT NULL, metadata jsonb
            ) ON COMMIT DELETE ROWS
            """, operation: op)
        var ranks = [Int: Int64]()
        let rankOfRow = vectors.map { record -> Int64 in
            let rank = (ranks[record.shard] ?? 0) + 1
            ranks[record.shard] = rank
            return rank
        }
        _ = try connection.copyIn(
            "COPY naksha_vector_stage (rank, id, shard, vector, metadata) FROM STDIN (FORMAT binary)",
            rowCount: vectors.count, operation: op
        ) { row, writer in
            let record = vectors[row]
            writer.beginTuple(fieldCount: 5)
            writer.appendInt64(rankOfRow[row])
            writer.appendText(record.id)
            writer.appendInt32(Int32(record.shard))
            writer.appendFloatVectorLE(record.vector)
            if let metadata = record.metadataJSON { writer.appendJSONB(metadata) } else { writer.appendNull() }
        }
        return try mergeStaged(counts: ranks, collection: collection, on: connection)
    }

    /// Locks the touched shard counters in shard order, advances each by its row count, and
    /// merges the staged rows. Returns the new highest sequence per shard.
    private static func mergeStaged(
        counts: [Int: Int64], collection: String, on connection: PostgresConnection
    ) throws(StoreError) -> [Int: Int64] {
        let op = "upsert_vectors"
        var bases: [Int: Int64] = [:]
        for shard in counts.keys.sorted() {
            let count = counts[shard] ?? 0
            let bumped = try connection.executePrepared(
                name: "naksha_bump_shard_sequence",
                sql: """
                    UPDATE naksha_shard_sequences SET last_sequence = last_sequence + $3
                    WHERE collection = $1 AND shard = $2 RETURNING last_sequence
                    """,
                [.text(collection), .int(shard), .int64(count)], operation: op)
            guard !bumped.rows.isEmpty else {
                throw StoreError(
                    code: .notFound, operation: op,
                    message: "shard \(shard) of collection \"\(collection)\" has no sequence counter; recreate the collection")
            }
            bases[shard] = try bumped.int64(0, 0, operation: op) - count
        }
        let shards = bases.keys.sorted()
        // Bases travel as two parallel int arrays in array-literal text built from integers only.
        let shardList = "{" + shards.map(String.init).joined(separator: ",") + "}"
        let baseList = "{" + shards.map { String(bases[$0] ?? 0) }.joined(separator: ",") + "}"
        try connection.execute(
            """
            INSERT INTO naksha_vectors (collection, id, shard, sequence, vector, metadata, deleted)
            SELECT $1::text, s.id, s.shard, b.base + s.rank, s.vector, s.metadata, false
            FROM naksha_vector_stage s
            JOIN unnest($2::integer[], $3::bigint[]) AS b (shard, base) ON b.shard = s.shard
            ON CONFLICT (collection, id) DO UPDATE SET shard = excluded.shard, sequence = excluded.sequence,
                vector = excluded.vector, metadata = excluded.metadata, deleted = false
            """, [.text(collection), .text(shardList), .text(baseList)], operation: op)
        return bases.reduce(into: [:]) { highest, entry in highest[entry.key] = entry.value + (counts[entry.key] ?? 0) }
    }

    static func readCollection(_ name: String, on connection: PostgresConnection, operation: String) throws(StoreError) -> VectorCollection? {
        let result = try connection.executePrepared(
            name: "naksha_read_collection",
            sql: "SELECT dimension, metric, shard_count FROM naksha_collections WHERE name = $1",
            [.text(name)], operation: operation)
        guard !result.rows.isEmpty else { return nil }
        return VectorCollection(
            name: name, dimension: Int(try result.int64(0, 0, operation: operation)),
            metric: try result.string(0, 1, operation: operation),
            shardCount: Int(try result.int64(0, 2, operation: operation)))
    }

    private static func decodeChange(_ tuple: CopyBinaryReader.Tuple, operation: String) throws(StoreError) -> VectorChange {
        guard tuple.fieldCount == 6,
              let id = try tuple.text(0, operation: operation),
              let shard = try tuple.int32(1, operation: operation),
              let sequence = try tuple.int64(2, operation: operation),
              let deleted = try tuple.bool(5, operation: operation)
        else {
            throw StoreError(
                code: .protocolViolation, operation: operation,
                message: "vector COPY row has an unexpected shape (\(tuple.fieldCount) fields or NULL key columns)")
        }
        return VectorChange(
            id: id, shard: Int(shard), sequence: sequence,
            vector: try tuple.floatVectorLE(3, operation: operation) ?? [],
            metadataJSON: try tuple.jsonb(4, operation: operation), isDeleted: deleted)
    }

    static func unknownCollection(_ name: String, operation: String) -> StoreError {
        StoreError(
            code: .notFound, operation: operation,
            message: "vector collection \"\(name)\" does not exist; create it first (createCollection)")
    }
}
