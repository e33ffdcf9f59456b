/// Checks a vector batch before any byte is sent, so a bad batch fails with `invalidInput`
/// / `invalidParameter` naming the offending vector instead of a server error mid-COPY.
enum VectorBatchValidation {
    /// Ids and metadata must be NUL-free (Postgres `text`/`jsonb` cannot hold NUL); ids
    /// unique within the batch (one row cannot be merged twice in one statement).
    static func checkText(_ vectors: [VectorRecord], operation: String) throws(StoreError) {
        var seen = Set<String>()
        seen.reserveCapacity(vectors.count)
        for (index, record) in vectors.enumerated() {
            if record.id.utf8.contains(0) || record.metadataJSON?.utf8.contains(0) == true {
                throw StoreError(
                    code: .invalidParameter, operation: operation,
                    message: "vector #\(index) has a NUL byte in its id or metadata, which Postgres text cannot store; remove it")
            }
            guard seen.insert(record.id).inserted else {
                throw StoreError(
                    code: .invalidInput, operation: operation,
                    message: "vector id at #\(index) appears twice in one batch; send each id once per batch")
            }
        }
    }

    /// Every vector has the collection's dimension and a shard in `0..<shardCount`.
    static func checkShape(_ vectors: [VectorRecord], against shape: VectorCollection, operation: String) throws(StoreError) {
        for (index, record) in vectors.enumerated() {
            guard record.vector.count == shape.dimension else {
                throw StoreError(
                    code: .invalidInput, operation: operation,
                    message: "vector #\(index) has dimension \(record.vector.count); collection \"\(shape.name)\" "
                        + "has dimension \(shape.dimension)")
            }
            guard record.shard >= 0, record.shard < shape.shardCount else {
                throw StoreError(
                    code: .invalidInput, operation: operation,
                    message: "vector #\(index) names shard \(record.shard); collection \"\(shape.name)\" has shards "
                        + "0..<\(shape.shardCount)")
            }
        }
    }
}
