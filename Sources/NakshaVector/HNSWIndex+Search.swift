import CNakshaPrefetch
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
            let query = UnsafePointer(q)
            guard let quantizer = walkQuantizer else {
                return vectors.withUnsafeBufferPointer { vb -> [Neighbor] in
                    guard let base = vb.baseAddress else { return [] }
                    let scorer = ExactWalkScorer(query: query, vectors: base, dimension: d, metric: metric)
                    return walkAndRescore(query, scorer: scorer, entry: entry, k: k, ef: max(ef, k), matching: matching, scratch: &scratch)
                }
            }
            return withCodeScorer(query, quantizer: quantizer) { scorer in
                walkAndRescore(query, scorer: scorer, entry: entry, k: k, ef: max(ef, k), matching: matching, scratch: &scratch)
            }
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

    /// Greedy descent on one upper layer: move to the closest neighbour (by `scorer`) until
    /// none is closer.
    func greedyClosest<S: HNSWWalkScorer>(_ scorer: S, from start: Candidate, level: Int) -> Candidate {
        var best = start
        var changed = true
        while changed {
            changed = false
            withLinks(best.node, level: level) { links in
                for n in links { scorer.prefetchAll(of: n) }
                for n in links {
                    let dn = scorer.distance(to: n)
                    if Candidate.precedes(Candidate(distance: dn, node: n), best) {
                        best = Candidate(distance: dn, node: n)
                        changed = true
                    }
                }
            }
        }
        return best
    }

    /// Best-first search of one layer (the paper's Algorithm 2). Returns the scratch's
    /// storage, whose `results` then hold up to `ef` admitted nodes nearest to `q`. A node
    /// is admitted if it is set in `admit` (when given) and, with `skipDeleted`, not
    /// tombstoned; non-admitted nodes are still expanded so the walk can pass through
    /// them. While fewer than `ef` nodes are admitted the walk does not stop early.
    ///
    /// The walk visits nodes in the order `Candidate.precedes` gives and marks every link
    /// of an expanded node visited before scoring any, so its result is the same as the
    /// textbook loop's. For speed it works on raw pointers borrowed once per call, and
    /// prefetches: the next candidate's link list while the current one is expanded, the
    /// first line of every unvisited neighbour when the links are read, and the whole
    /// vector two neighbours ahead while one is scored (measured at N = 50k, d = 384: no
    /// prefetch ≈ 15 % slower; one ahead, three ahead, or into L2 only no better).
    @discardableResult
    func searchLayer<S: HNSWWalkScorer>(
        _ scorer: S, entry: Candidate, ef: Int, level: Int,
        scratch: inout HNSWSearchScratch, admit: RowBitmap?, skipDeleted: Bool
    ) -> HNSWScratchStorage {
        let storage = scratch.prepare(nodeCount: nodeCount)
        var candidates = storage.candidates
        var results = storage.results
        defer {
            storage.candidates = candidates
            storage.results = results
        }
        let marks = storage.visited.base
        let epoch = storage.visited.epoch
        let checkDeleted = skipDeleted && liveCount != nodeCount
        let filtering = admit != nil || checkDeleted
        let stride = stride0
        links0.withUnsafeBufferPointer { lb in
        deleted.withUnsafeBufferPointer { deletedFlags in
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: max(maxLinks0, parameters.m)) { pendingBuffer in
            guard let linkBase = lb.baseAddress, let pending = pendingBuffer.baseAddress else { return }
            @inline(__always)
            func admitted(_ node: UInt32) -> Bool {
                if checkDeleted && deletedFlags[Int(node)] { return false }
                if let admit { return admit.contains(Int(node)) }
                return true
            }
            marks[Int(entry.node)] = epoch
            candidates.push(entry)
            if admitted(entry.node) { results.push(entry) }
            var bound = results.top?.distance ?? .infinity
            while let current = candidates.pop() {
                if current.distance > bound && (results.count >= ef || !filtering) { break }
                if level == 0, let next = candidates.top { naksha_prefetch(linkBase + Int(next.node) &* stride) }
                let pendingCount = gatherUnvisited(
                    of: current.node, level: level, links0: linkBase, scorer: scorer,
                    marks: marks, epoch: epoch, into: pending
                )
                if pendingCount > 0 { scorer.prefetchAll(of: pending[0]) }
                if pendingCount > 1 { scorer.prefetchAll(of: pending[1]) }
                var j = 0
                while j < pendingCount {
                    let neighbour = pending[j]
                    if j &+ 2 < pendingCount { scorer.prefetchAll(of: pending[j &+ 2]) }
                    j &+= 1
                    let dn = scorer.distance(to: neighbour)
                    guard results.count < ef || dn < bound else { continue }
                    candidates.push(Candidate(distance: dn, node: neighbour))
                    if admitted(neighbour) {
                        results.push(Candidate(distance: dn, node: neighbour))
                        if results.count > ef { results.pop() }
                        bound = results.top?.distance ?? .infinity
                    }
                }
            }
        }}}
        return storage
    }

    /// Writes the links of `node` on `level` that are not yet marked in this search to
    /// `pending` (link order), marks them, and prefetches each one's first cache line.
    /// Returns how many were written (≤ `2·m` on layer 0, ≤ `m` above: `pending` must
    /// hold that many).
    @inline(__always)
    func gatherUnvisited<S: HNSWWalkScorer>(
        of node: UInt32, level: Int, links0 linkBase: UnsafePointer<UInt32>, scorer: S,
        marks: UnsafeMutablePointer<UInt16>, epoch: UInt16, into pending: UnsafeMutablePointer<UInt32>
    ) -> Int {
        var count = 0
        @inline(__always)
        func offer(_ neighbour: UInt32) {
            let mark = marks + Int(neighbour)
            guard mark.pointee != epoch else { return }
            mark.pointee = epoch
            scorer.prefetchFirstLine(of: neighbour)
            pending[count] = neighbour
            count &+= 1
        }
        if level == 0 {
            let list = linkBase + Int(node) &* stride0
            let n = min(Int(list[0]), maxLinks0)
            var j = 1
            while j <= n {
                offer(list[j])
                j &+= 1
            }
        } else {
            withLinks(node, level: level) { links in
                for neighbour in links.prefix(parameters.m) { offer(neighbour) }
            }
        }
        return count
    }
}
