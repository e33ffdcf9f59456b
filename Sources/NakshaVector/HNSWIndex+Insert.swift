import CNakshaPrefetch

extension HNSWIndex {
    /// Links a freshly appended `node` of `level` into the graph (the paper's Algorithm 1
    /// with the neighbour-selection heuristic, Algorithm 4, at every layer and when a
    /// neighbour's list overflows).
    ///
    /// Allocates nothing once the build scratch has grown to its working size: the query is
    /// copied to the stack, and the sorted results, the chosen neighbours and the
    /// back-link candidates live in reused scratch buffers.
    mutating func link(_ node: UInt32, level: Int) {
        guard let entry = entryPoint else {
            entryPoint = node
            maxLevel = level
            return
        }
        var scratch = HNSWSearchScratch()
        swap(&scratch, &buildScratch)
        defer { swap(&scratch, &buildScratch) }
        let d = dimension
        withUnsafeTemporaryAllocation(of: Float.self, capacity: d) { buffer in
            guard let query = buffer.baseAddress else { return }
            vectors.withUnsafeBufferPointer { vb in
                for i in 0..<d { query[i] = vb[Int(node) &* d &+ i] }
            }
            let q = UnsafePointer(query)
            var current = Candidate(distance: distance(q, node: entry), node: entry)
            if maxLevel > level {
                for layer in stride(from: maxLevel, to: level, by: -1) {
                    current = withExactScorer(q) { greedyClosest($0, from: current, level: layer) }
                }
            }
            for layer in stride(from: min(level, maxLevel), through: 0, by: -1) {
                let storage = withExactScorer(q) {
                    searchLayer($0, entry: current, ef: parameters.efConstruction, level: layer,
                                scratch: &scratch, admit: nil, skipDeleted: false)
                }
                storage.sortResultsNearestFirst()
                selectNeighbours(storage.sorted, max: parameters.m, into: &storage.chosen)
                setLinks(node, level: layer, storage.chosen)
                for neighbour in storage.chosen {
                    addBackLink(from: neighbour.node, to: node, distance: neighbour.distance, level: layer, storage: storage)
                }
                if let closest = storage.sorted.first { current = closest }
            }
        }
        if level > maxLevel {
            entryPoint = node
            maxLevel = level
        }
    }

    /// Calls `body` with the exact scorer of the prepared query `q` (the build always
    /// walks exact distances, so the graph does not depend on the walk's codes).
    @inline(__always)
    func withExactScorer<R>(_ q: UnsafePointer<Float>, _ body: (ExactWalkScorer) -> R) -> R {
        vectors.withUnsafeBufferPointer { vb in
            body(ExactWalkScorer(query: q, vectors: vb.baseAddress ?? q, dimension: dimension, metric: metric))
        }
    }

    /// Algorithm 4: walk candidates nearest first and keep one only if it is closer to the
    /// base point than to every neighbour kept so far (spreads links across directions,
    /// which keeps clustered and low-intrinsic-dimension data navigable). Writes the kept
    /// candidates, nearest first, to `chosen` (reusing its storage).
    /// - Precondition: `sorted` is ascending under `Candidate.precedes`.
    func selectNeighbours(_ sorted: [Candidate], max limit: Int, into chosen: inout [Candidate]) {
        chosen.removeAll(keepingCapacity: true)
        if sorted.count <= limit {
            chosen.append(contentsOf: sorted)
            return
        }
        vectors.withUnsafeBufferPointer { vb in
            guard let base = vb.baseAddress else { return }
            let d = dimension
            for candidate in sorted {
                if chosen.count >= limit { break }
                let x = base + Int(candidate.node) &* d
                var keep = true
                for kept in chosen where distance(x, node: kept.node, base: base) < candidate.distance {
                    keep = false
                    break
                }
                if keep { chosen.append(candidate) }
            }
        }
    }

    /// Adds `node` to `neighbour`'s links on `level`, shrinking with the heuristic when the
    /// list is full (`2·m` on layer 0, `m` above).
    mutating func addBackLink(from neighbour: UInt32, to node: UInt32, distance: Float, level: Int, storage: HNSWScratchStorage) {
        let limit = level == 0 ? maxLinks0 : parameters.m
        let existing = withLinks(neighbour, level: level) { $0.count }
        if existing < limit {
            if level == 0 {
                let start = Int(neighbour) * stride0
                links0[start + 1 + existing] = node
                links0[start] = UInt32(existing + 1)
            } else {
                let start = (level - 1) * strideUpper
                upperLinks[Int(neighbour)][start + 1 + existing] = node
                upperLinks[Int(neighbour)][start] = UInt32(existing + 1)
            }
            return
        }
        scoreLinks(of: neighbour, level: level, into: &storage.backCandidates)
        storage.backCandidates.append(Candidate(distance: distance, node: node))
        storage.backCandidates.sort(by: Candidate.precedes)
        selectNeighbours(storage.backCandidates, max: limit, into: &storage.backChosen)
        setLinks(neighbour, level: level, storage.backChosen)
    }

    /// The links of `node` on `level` with their distances to `node`, in link order, written
    /// to `out` (reusing its storage). Prefetches all the neighbours' vectors first: they
    /// are scattered and usually not in cache.
    func scoreLinks(of node: UInt32, level: Int, into out: inout [Candidate]) {
        out.removeAll(keepingCapacity: true)
        vectors.withUnsafeBufferPointer { vb in
            guard let base = vb.baseAddress else { return }
            let d = dimension
            let vectorBytes = d &* MemoryLayout<Float>.stride
            let x = base + Int(node) &* d
            withLinks(node, level: level) { links in
                for n in links { naksha_prefetch_range(base + Int(n) &* d, vectorBytes) }
                for n in links { out.append(Candidate(distance: distance(x, node: n, base: base), node: n)) }
            }
        }
    }
}

extension HNSWScratchStorage {
    /// Moves `results` (emptying it) into `sorted`, ascending under `Candidate.precedes` —
    /// the order a sort would give, since the heap pops farthest first under the same
    /// total order.
    func sortResultsNearestFirst() {
        sorted.removeAll(keepingCapacity: true)
        var heap = results
        while let c = heap.pop() { sorted.append(c) }
        results = heap
        sorted.reverse()
    }
}
