extension FlatIndex {
    /// Queries per chunk and vectors per block in `search(batch:)`: a block of 256 vectors
    /// of d = 384 is 384 KiB and a chunk of 128 queries 192 KiB, together well inside one
    /// core's L2, so each block is read from memory once per chunk, not once per query.
    static let batchQueryChunk = 128
    static let batchVectorBlock = 256

    /// The `k` stored vectors closest to `query`, best first (ties by smaller id).
    ///
    /// Exact: every stored vector (or every one matching `filter`) is scored with the
    /// metric's SIMD kernel. Without a filter the only allocation is the result (`k`
    /// entries). With a filter the metadata columns are scanned once into a bitmap and only
    /// matching vectors are scored, so recall stays 1.0 at any selectivity.
    /// - Throws: `dimensionMismatch` when `query.count != dimension`; `invalidParameter`
    ///   when `k < 0`.
    public func search(_ query: [Float], k: Int, filter: MetadataFilter? = nil) throws(VectorError) -> [Neighbor] {
        try query.withUnsafeBufferPointer { q throws(VectorError) in
            try search(q, k: k, filter: filter)
        }
    }

    /// `search(_:k:filter:)` on a borrowed buffer (no copy of the query).
    public func search(_ query: UnsafeBufferPointer<Float>, k: Int, filter: MetadataFilter? = nil) throws(VectorError) -> [Neighbor] {
        try VectorValidation.checkQuery(query, dimension: dimension, k: k)
        guard let q = query.baseAddress, k > 0, count > 0 else { return [] }
        var top = TopK(k: min(k, count))
        if let filter {
            let bitmap = metadata.evaluate(filter) { _ in true }
            scan(q, into: &top) { body in bitmap.forEachSet(body) }
        } else {
            let n = count
            scan(q, into: &top) { body in for s in 0..<n { body(s) } }
        }
        return top.sorted()
    }

    /// Scores the slots `forEachSlot` yields against `q`, choosing the kernel once.
    @inline(__always)
    func scan(_ q: UnsafePointer<Float>, into top: inout TopK, _ forEachSlot: ((Int) -> Void) -> Void) {
        let d = dimension
        vectors.withUnsafeBufferPointer { vb in
            ids.withUnsafeBufferPointer { idb in
                guard let base = vb.baseAddress else { return }
                switch metric {
                case .innerProduct:
                    forEachSlot { s in
                        let distance = -Distance.dot(q, base + s &* d, count: d)
                        if distance <= top.threshold { top.insert(id: idb[s], distance: distance) }
                    }
                case .cosine:
                    let norm = Distance.squaredNorm(q, count: d).squareRoot()
                    let inverse: Float = norm > 0 ? 1 / norm : 0
                    forEachSlot { s in
                        let distance = 1 - Distance.dot(q, base + s &* d, count: d) * inverse
                        if distance <= top.threshold { top.insert(id: idb[s], distance: distance) }
                    }
                case .squaredL2:
                    forEachSlot { s in
                        let distance = Distance.squaredL2(q, base + s &* d, count: d)
                        if distance <= top.threshold { top.insert(id: idb[s], distance: distance) }
                    }
                }
            }
        }
    }

    /// Exact search for many queries at once: `queries` holds `queries.count / dimension`
    /// queries row-major; returns one best-first list per query.
    ///
    /// Uses `Distance.dotBatch` over chunks of queries × blocks of vectors. Distances equal
    /// those of `search` up to summation order, except for `.squaredL2`, which is computed
    /// as `‖x‖² − 2⟨q,x⟩ + ‖q‖²` (the usual GEMM form; it can lose precision for vectors
    /// much closer to each other than to the origin, and is clamped at 0). Allocates one
    /// score buffer and one query copy per call, plus the results.
    /// - Throws: `batchShapeMismatch` when `queries.count` is not a multiple of `dimension`;
    ///   `invalidParameter` when `k < 0`.
    public func search(batch queries: [Float], k: Int) throws(VectorError) -> [[Neighbor]] {
        guard queries.count % dimension == 0 else {
            throw VectorError(
                code: .batchShapeMismatch,
                message: "batch has \(queries.count) floats, not a multiple of the dimension \(dimension)"
            )
        }
        guard k >= 0 else { throw .invalidParameter("k", k, "≥ 0") }
        let queryCount = queries.count / dimension
        guard k > 0, count > 0 else { return Array(repeating: [], count: queryCount) }
        var prepared = queries
        var offsets = [Float](repeating: 0, count: queryCount)
        prepareBatch(&prepared, offsets: &offsets, queryCount: queryCount)
        var results: [[Neighbor]] = []
        results.reserveCapacity(queryCount)
        let chunk = Self.batchQueryChunk, block = Self.batchVectorBlock
        var scores = [Float](repeating: 0, count: chunk * block)
        var chunkStart = 0
        while chunkStart < queryCount {
            let chunkCount = min(chunk, queryCount - chunkStart)
            var tops = (0..<chunkCount).map { _ in TopK(k: min(k, count)) }
            scoreChunk(prepared, chunkStart: chunkStart, chunkCount: chunkCount, offsets: offsets, scores: &scores, tops: &tops)
            for top in tops { results.append(top.sorted()) }
            chunkStart += chunkCount
        }
        return results
    }

    /// Normalises queries for cosine; computes per-query distance offsets for L2.
    private func prepareBatch(_ queries: inout [Float], offsets: inout [Float], queryCount: Int) {
        let d = dimension
        queries.withUnsafeMutableBufferPointer { qb in
            guard let base = qb.baseAddress else { return }
            for q in 0..<queryCount {
                let row = base + q * d
                let squared = Distance.squaredNorm(row, count: d)
                switch metric {
                case .innerProduct:
                    break
                case .cosine:
                    if squared > 0 {
                        let inverse = 1 / squared.squareRoot()
                        for i in 0..<d { row[i] *= inverse }
                    }
                case .squaredL2:
                    offsets[q] = squared
                }
            }
        }
    }

    private func scoreChunk(
        _ queries: [Float], chunkStart: Int, chunkCount: Int, offsets: [Float],
        scores: inout [Float], tops: inout [TopK]
    ) {
        let d = dimension, n = count, block = Self.batchVectorBlock
        queries.withUnsafeBufferPointer { qb in
        vectors.withUnsafeBufferPointer { vb in
        ids.withUnsafeBufferPointer { idb in
        squaredNorms.withUnsafeBufferPointer { nb in
        scores.withUnsafeMutableBufferPointer { sb in
            guard let qBase = qb.baseAddress, let vBase = vb.baseAddress, let out = sb.baseAddress else { return }
            var blockStart = 0
            while blockStart < n {
                let blockCount = min(block, n - blockStart)
                Distance.dotBatch(
                    queries: qBase + chunkStart * d, queryCount: chunkCount,
                    vectors: vBase + blockStart * d, vectorCount: blockCount,
                    dimension: d, into: out, outStride: block
                )
                for q in 0..<chunkCount {
                    let row = out + q * block
                    switch metric {
                    case .innerProduct:
                        for v in 0..<blockCount where -row[v] <= tops[q].threshold {
                            tops[q].insert(id: idb[blockStart + v], distance: -row[v])
                        }
                    case .cosine:
                        for v in 0..<blockCount where 1 - row[v] <= tops[q].threshold {
                            tops[q].insert(id: idb[blockStart + v], distance: 1 - row[v])
                        }
                    case .squaredL2:
                        let offset = offsets[chunkStart + q]
                        for v in 0..<blockCount {
                            let distance = max(0, nb[blockStart + v] - 2 * row[v] + offset)
                            if distance <= tops[q].threshold { tops[q].insert(id: idb[blockStart + v], distance: distance) }
                        }
                    }
                }
                blockStart += blockCount
            }
        }}}}}
    }
}

extension FlatIndex {
    /// The slots matching `filter`, for reuse across queries with the same filter. Valid
    /// until the index is next mutated; `search(matching:)` rejects a bitmap of the wrong
    /// size.
    public func matches(_ filter: MetadataFilter) -> RowBitmap {
        metadata.evaluate(filter) { _ in true }
    }

    /// Exact search among the slots set in `matching` (from `matches(_:)`).
    /// - Throws: as `search`; `invalidParameter` for a bitmap of the wrong size.
    public func search(_ query: [Float], k: Int, matching: RowBitmap) throws(VectorError) -> [Neighbor] {
        guard matching.count == count else {
            throw VectorError(code: .invalidParameter, message: "filter bitmap covers \(matching.count) vectors but the index has \(count); recompute it with matches(_:) after mutating")
        }
        return try query.withUnsafeBufferPointer { qb throws(VectorError) in
            try VectorValidation.checkQuery(qb, dimension: dimension, k: k)
            guard let q = qb.baseAddress, k > 0, count > 0 else { return [] }
            var top = TopK(k: min(k, count))
            scan(q, into: &top) { body in matching.forEachSet(body) }
            return top.sorted()
        }
    }
}
