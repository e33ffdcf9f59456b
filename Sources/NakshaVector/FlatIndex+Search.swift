extension FlatIndex {
    /// Queries per chunk and vectors per block in `search(batch:)`: a packed block of 256
    /// vectors of d = 384 is 384 KiB, a packed chunk of 128 queries 192 KiB and the chunk's
    /// scores 128 KiB — together well inside one core's 2 MiB L2, so each block is read from
    /// memory once per chunk, not once per query.
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
    /// Chunks of queries × blocks of vectors: the chunk is packed once into groups of 16
    /// (`Distance.packQueryGroups`), each block is scored in place by the 16 × 16
    /// micro-kernel (`Distance.dotGroup`), and each vector's 16 scores are screened at once
    /// against the 16 queries' top-k thresholds, so only candidates that can enter a top-k
    /// reach `TopK.insert`. Distances equal those of `search` up to summation order, except
    /// for `.squaredL2`, which is computed as `‖x‖² − 2⟨q,x⟩ + ‖q‖²` (the usual GEMM form; it
    /// can lose precision for vectors much closer to each other than to the origin, and is
    /// clamped at 0). Allocates the packed queries, one score buffer and the thresholds per
    /// call, plus the results.
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
        let group = Distance.queryGroup
        let chunk = (Self.batchQueryChunk + group - 1) / group * group
        let buffers = BatchBuffers(
            packedQueries: .allocate(capacity: chunk * dimension),
            scores: .allocate(capacity: chunk * Self.batchVectorBlock),
            thresholds: .allocate(capacity: chunk),
            offsets: .allocate(capacity: chunk)
        )
        defer { buffers.deallocate() }
        var chunkStart = 0
        while chunkStart < queryCount {
            let chunkCount = min(chunk, queryCount - chunkStart)
            var tops = (0..<chunkCount).map { _ in TopK(k: min(k, count)) }
            scoreChunk(prepared, chunkStart: chunkStart, chunkCount: chunkCount, offsets: offsets, buffers: buffers, tops: &tops)
            for top in tops { results.append(top.sorted()) }
            chunkStart += chunkCount
        }
        return results
    }

    /// Working memory of one `search(batch:)` call (allocated and freed by it).
    private struct BatchBuffers {
        let packedQueries: UnsafeMutablePointer<Float>
        /// Per group of 16 queries, per vector of the block: 16 scores (lanes = queries).
        let scores: UnsafeMutablePointer<Float>
        /// `thresholds[q] == tops[q].threshold` for live queries, `-infinity` for padding.
        let thresholds: UnsafeMutablePointer<Float>
        /// ‖q‖² per query for `.squaredL2` (0 otherwise and for padding).
        let offsets: UnsafeMutablePointer<Float>

        func deallocate() {
            packedQueries.deallocate(); scores.deallocate(); thresholds.deallocate(); offsets.deallocate()
        }
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
        buffers: BatchBuffers, tops: inout [TopK]
    ) {
        let d = dimension, n = count, block = Self.batchVectorBlock, group = Distance.queryGroup
        let groups = (chunkCount + group - 1) / group
        for lane in 0..<(groups * group) {
            buffers.thresholds[lane] = lane < chunkCount ? tops[lane].threshold : -.infinity
            buffers.offsets[lane] = lane < chunkCount ? offsets[chunkStart + lane] : 0
        }
        queries.withUnsafeBufferPointer { qb in
        vectors.withUnsafeBufferPointer { vb in
        ids.withUnsafeBufferPointer { idb in
        squaredNorms.withUnsafeBufferPointer { nb in
            guard let qBase = qb.baseAddress, let vBase = vb.baseAddress, let idBase = idb.baseAddress else { return }
            Distance.packQueryGroups(qBase + chunkStart * d, count: chunkCount, dimension: d, into: buffers.packedQueries)
            var blockStart = 0
            while blockStart < n {
                let blockCount = min(block, n - blockStart)
                for g in 0..<groups {
                    let scores = buffers.scores + g * block * group
                    Distance.dotGroup(buffers.packedQueries + g * group * d, vectors: vBase + blockStart * d,
                                      vectorCount: blockCount, dimension: d, into: scores)
                    let screen = GroupScreen(scores: scores, ids: idBase + blockStart, firstQuery: g * group,
                                             thresholds: buffers.thresholds, offsets: buffers.offsets)
                    switch metric {
                    case .innerProduct:
                        screen.run(count: blockCount, tops: &tops, { s, _ in -s }, { s, _, _ in -s })
                    case .cosine:
                        screen.run(count: blockCount, tops: &tops, { s, _ in 1 - s }, { s, _, _ in 1 - s })
                    case .squaredL2:
                        guard let norms = nb.baseAddress.map({ $0 + blockStart }) else { return }
                        let offsetLanes = UnsafeRawPointer(buffers.offsets + g * group).loadUnaligned(as: SIMD16<Float>.self)
                        screen.run(
                            count: blockCount, tops: &tops,
                            { s, v in SIMD16(repeating: norms[v]) - 2 * s + offsetLanes },
                            { s, v, q in max(0, norms[v] - 2 * s + buffers.offsets[q]) }
                        )
                    }
                }
                blockStart += blockCount
            }
        }}}}
    }
}

/// Offers one query group's block of scores to the group's `TopK`s.
private struct GroupScreen {
    /// `scores[v·16 + j]`: vector `v` of the block against query `firstQuery + j`.
    let scores: UnsafeMutablePointer<Float>
    let ids: UnsafePointer<UInt64>
    let firstQuery: Int
    let thresholds: UnsafeMutablePointer<Float>
    let offsets: UnsafeMutablePointer<Float>

    /// `distance(score, v, q)` is the exact distance of vector `v` to query `q` (the same
    /// expression `search(batch:)` always used); `screenDistance(scores, v)` the same for all
    /// 16 queries without the final clamp. A vector is looked at query by query only if some
    /// lane's screen distance is not above that query's threshold (NaN lanes are looked at
    /// too, padding lanes never: their threshold is −∞), so the kept sets are the scalar
    /// loop's, at one vector compare per 16 candidates.
    @inline(__always)
    func run(
        count: Int, tops: inout [TopK],
        _ screenDistance: (SIMD16<Float>, Int) -> SIMD16<Float>, _ distance: (Float, Int, Int) -> Float
    ) {
        let raw = UnsafeRawPointer(scores)
        let thresholdLanes = UnsafeMutableRawPointer(thresholds + firstQuery)
        for v in 0..<count {
            let candidates = screenDistance(raw.loadUnaligned(fromByteOffset: v &* 64, as: SIMD16<Float>.self), v)
            let limit = thresholdLanes.loadUnaligned(as: SIMD16<Float>.self)
            let look = .!(candidates .> limit)
            guard any(look) else { continue }
            for lane in 0..<16 where look[lane] {
                let q = firstQuery &+ lane
                guard q < tops.count else { break }  // padding: only if a score were NaN
                let d = distance(scores[v &* 16 &+ lane], v, q)
                if d <= tops[q].threshold {
                    tops[q].insert(id: ids[v], distance: d)
                    thresholds[q] = tops[q].threshold
                }
            }
        }
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
