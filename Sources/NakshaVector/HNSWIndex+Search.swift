extension HNSWIndex {
    /// The `k` live vectors nearest to `query`, best first (approximate).
    ///
    /// Walks the upper layers greedily, then a best-first search on layer 0 with a
    /// candidate list of `max(efSearch, k)`. Tombstoned vectors route the walk but are never
    /// returned. With `filter`, only matching vectors are returned: if the filter is
    /// selective (`usesExactScan`), the matching vectors are scanned exactly (recall 1.0);
    /// otherwise the walk continues until it holds
    /// `efSearch` matching vectors. Allocates only the result (and, with a filter, the
    /// match bitmap) given a reused `scratch`.
    /// - Throws: `dimensionMismatch`; `invalidParameter` for `k < 0` or `efSearch < 1`.
    public func search(
        _ query: [Float], k: Int, efSearch: Int? = nil, filter: MetadataFilter? = nil,
        scratch: inout HNSWSearchScratch
    ) throws(VectorError) -> [Neighbor] {
        let matching = filter.map { matches($0) }
        return try search(query, k: k, efSearch: efSearch, matching: matching, scratch: &scratch)
    }

    /// `search` with a fresh scratch (allocates O(node count); prefer reusing one).
    public func search(_ query: [Float], k: Int, efSearch: Int? = nil, filter: MetadataFilter? = nil) throws(VectorError) -> [Neighbor] {
        var scratch = HNSWSearchScratch()
        return try search(query, k: k, efSearch: efSearch, filter: filter, scratch: &scratch)
    }

    /// The live nodes matching `filter`, for reuse across queries with the same filter.
    /// Valid until the index is next mutated; `search(matching:)` rejects a bitmap of the
    /// wrong size.
    public func matches(_ filter: MetadataFilter) -> RowBitmap {
        metadata.evaluate(filter) { !deleted[$0] }
    }

    /// `search` restricted to a precomputed match bitmap (from `matches(_:)`).
    public func search(
        _ query: [Float], k: Int, efSearch: Int? = nil, matching: RowBitmap?,
        scratch: inout HNSWSearchScratch
    ) throws(VectorError) -> [Neighbor] {
        try query.withUnsafeBufferPointer { q throws(VectorError) in
            try VectorValidation.checkQuery(q, dimension: dimension, k: k)
        }
        let ef = efSearch ?? parameters.efSearch
        guard ef >= 1 else { throw .invalidParameter("efSearch", ef, "≥ 1") }
        if let matching, matching.count != nodeCount {
            throw VectorError(code: .invalidParameter, message: "filter bitmap covers \(matching.count) nodes but the index has \(nodeCount); recompute it with matches(_:) after mutating")
        }
        guard k > 0, liveCount > 0, let entry = entryPoint else { return [] }
        let d = dimension
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: d) { buffer in
            guard let q = buffer.baseAddress else { return [] }
            for i in 0..<d { q[i] = query[i] }
            if metric == .cosine {
                let norm = Distance.squaredNorm(q, count: d).squareRoot()
                if norm > 0 { for i in 0..<d { q[i] /= norm } }
            }
            if let matching, usesExactScan(matching: matching, efSearch: max(ef, k)) {
                return exactScan(UnsafePointer(q), k: k, matching: matching)
            }
            var current = Candidate(distance: distance(UnsafePointer(q), node: entry), node: entry)
            for layer in stride(from: maxLevel, to: 0, by: -1) {
                current = greedyClosest(UnsafePointer(q), from: current, level: layer)
            }
            searchLayer(UnsafePointer(q), entry: current, ef: max(ef, k), level: 0,
                        scratch: &scratch, admit: matching, skipDeleted: true)
            var top = TopK(k: k)
            for c in scratch.results.items { top.insert(id: ids[Int(c.node)], distance: c.distance) }
            return top.sorted()
        }
    }

    /// Whether a query restricted to `matching` is answered by an exact scan rather than a
    /// graph walk (see `HNSWParameters.exactScanBelowFraction`).
    public func usesExactScan(matching: RowBitmap, efSearch: Int) -> Bool {
        let matches = Double(matching.setCount)
        guard liveCount > 0, matches > 0 else { return true }
        let fraction = matches / Double(liveCount)
        if let threshold = parameters.exactScanBelowFraction { return fraction < threshold }
        return matches <= 1.5 * Double(efSearch * 2 * parameters.m) / fraction
    }

    /// Exact scan of the nodes set in `matching` (they are live by construction).
    func exactScan(_ q: UnsafePointer<Float>, k: Int, matching: RowBitmap) -> [Neighbor] {
        var top = TopK(k: k)
        vectors.withUnsafeBufferPointer { vb in
            guard let base = vb.baseAddress else { return }
            matching.forEachSet { node in
                let distance = distance(q, node: UInt32(node), base: base)
                if distance <= top.threshold { top.insert(id: ids[node], distance: distance) }
            }
        }
        return top.sorted()
    }

    /// Greedy descent on one upper layer: move to the closest neighbour until none is closer.
    func greedyClosest(_ q: UnsafePointer<Float>?, from start: Candidate, level: Int) -> Candidate {
        guard let q else { return start }
        return vectors.withUnsafeBufferPointer { vb in
            guard let base = vb.baseAddress else { return start }
            var best = start
            var changed = true
            while changed {
                changed = false
                withLinks(best.node, level: level) { links in
                    for n in links {
                        let dn = distance(q, node: n, base: base)
                        if dn < best.distance || (dn == best.distance && n < best.node) {
                            best = Candidate(distance: dn, node: n)
                            changed = true
                        }
                    }
                }
            }
            return best
        }
    }

    /// Best-first search of one layer (the paper's Algorithm 2). On return
    /// `scratch.results` holds up to `ef` admitted nodes nearest to `q`. A node is admitted
    /// if it is set in `admit` (when given) and, with `skipDeleted`, not tombstoned;
    /// non-admitted nodes are still expanded so the walk can pass through them. While
    /// fewer than `ef` nodes are admitted the walk does not stop early.
    func searchLayer(
        _ q: UnsafePointer<Float>?, entry: Candidate, ef: Int, level: Int,
        scratch: inout HNSWSearchScratch, admit: RowBitmap?, skipDeleted: Bool
    ) {
        guard let q else { return }
        scratch.beginSearch(nodeCount: nodeCount)
        let filtering = admit != nil || (skipDeleted && liveCount != nodeCount)
        vectors.withUnsafeBufferPointer { vb in
        deleted.withUnsafeBufferPointer { deletedFlags in
            guard let base = vb.baseAddress else { return }
            func admitted(_ node: UInt32) -> Bool {
                if skipDeleted && deletedFlags[Int(node)] { return false }
                if let admit { return admit.contains(Int(node)) }
                return true
            }
            _ = scratch.visit(entry.node)
            scratch.candidates.push(entry)
            if admitted(entry.node) { scratch.results.push(entry) }
            var bound = scratch.results.top?.distance ?? .infinity
            while let current = scratch.candidates.pop() {
                if current.distance > bound && (scratch.results.count >= ef || !filtering) { break }
                withLinks(current.node, level: level) { links in
                    // Touch the first cache line of every unvisited neighbour before
                    // computing any distance: the misses then overlap instead of queuing
                    // behind each 384-float kernel (Swift has no prefetch intrinsic; the
                    // sum is kept in `scratch.touched` so the loads are not removed).
                    var touched: Float = 0
                    for n in links where scratch.visited[Int(n)] != scratch.stamp {
                        touched += base[Int(n) &* dimension]
                    }
                    scratch.touched += touched
                    for n in links where scratch.visit(n) {
                        let dn = distance(q, node: n, base: base)
                        guard scratch.results.count < ef || dn < bound else { continue }
                        scratch.candidates.push(Candidate(distance: dn, node: n))
                        if admitted(n) {
                            scratch.results.push(Candidate(distance: dn, node: n))
                            if scratch.results.count > ef { scratch.results.pop() }
                            bound = scratch.results.top?.distance ?? .infinity
                        }
                    }
                }
            }
        }}
    }
}
