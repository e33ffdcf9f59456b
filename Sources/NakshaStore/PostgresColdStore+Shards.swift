extension PostgresColdStore {
    /// Each shard's last sequence: every change acknowledged so far has a sequence at or
    /// below its shard's. Empty for a collection that does not exist.
    public func shardSequences(collection: String) async throws(StoreError) -> [Int: Int64] {
        let op = "shard_sequences"
        return try await withConnection(op, idempotent: true) { connection throws(StoreError) in
            let result = try connection.execute(
                "SELECT shard, last_sequence FROM naksha_shard_sequences WHERE collection = $1", [.text(collection)], operation: op)
            var sequences: [Int: Int64] = [:]
            for row in result.rows.indices {
                sequences[Int(try result.int64(row, 0, operation: op))] = try result.int64(row, 1, operation: op)
            }
            return sequences
        }
    }

    /// Deletes a collection with its vectors and shard counters; false when it did not exist.
    @discardableResult
    public func dropCollection(named name: String) async throws(StoreError) -> Bool {
        let op = "drop_collection"
        return try await withConnection(op, idempotent: true) { connection throws(StoreError) in
            try connection.transaction(operation: op) { () throws(StoreError) in
                try connection.execute("DELETE FROM naksha_vectors WHERE collection = $1", [.text(name)], operation: op)
                return try connection.execute("DELETE FROM naksha_collections WHERE name = $1", [.text(name)], operation: op).affectedRows > 0
            }
        }
    }
}

extension PostgresColdStore {
    /// Runs a query a user wrote (`naksha ingest --sql`) in a READ ONLY transaction, so it
    /// cannot change anything, and returns its rows as text (NULL as nil) with the column names.
    public func readOnlyRows(_ sql: String) async throws(StoreError) -> (columns: [String], rows: [[String?]]) {
        let op = "read_only_query"
        return try await withConnection(op, idempotent: true) { connection throws(StoreError) in
            try connection.transaction(operation: op) { () throws(StoreError) in
                try connection.execute("SET TRANSACTION READ ONLY", operation: op)
                let result = try connection.execute(sql, operation: op)
                return (result.columnNames, result.rows)
            }
        }
    }
}
