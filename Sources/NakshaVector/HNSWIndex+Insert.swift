extension HNSWIndex {
    /// Links a freshly appended `node` of `level` into the graph (the paper's Algorithm 1
    /// with the neighbour-selection heuristic, Algorithm 4, at every layer and when a
    /// neighbour's list overflows).
    mutating func link(_ node: UInt32, level: Int) {
        guard let entry = entryPoint else {
            entryPoint = node
            maxLevel = level
            return
        }
        let d = dimension
        let query = Array(vectors[(Int(node) * d)..<(Int(node) * d + d)])
        var scratch = buildScratch
        buildScratch = HNSWSearchScratch()
        defer { buildScratch = scratch }

        var current = Candidate(distance: distance(between: node, entry), node: entry)
        if maxLevel > level {
            for layer in stride(from: maxLevel, to: level, by: -1) {
                current = query.withUnsafeBufferPointer { q in greedyClosest(q.baseAddress, from: current, level: layer) }
            }
        }
        for layer in stride(from: min(level, maxLevel), through: 0, by: -1) {
            query.withUnsafeBufferPointer { q in
                searchLayer(q.baseAddress, entry: current, ef: parameters.efConstruction, level: layer,
                            scratch: &scratch, admit: nil, skipDeleted: false)
            }
            var found = scratch.results.items
            found.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.node < $1.node) }
            let chosen = selectNeighbours(found, max: parameters.m)
            setLinks(node, level: layer, chosen)
            for neighbour in chosen { addBackLink(from: neighbour.node, to: node, distance: neighbour.distance, level: layer) }
            if let closest = found.first { current = closest }
        }
        if level > maxLevel {
            entryPoint = node
            maxLevel = level
        }
    }

    /// Algorithm 4: walk candidates nearest first and keep one only if it is closer to the
    /// base point than to every neighbour kept so far (spreads links across directions,
    /// which keeps clustered and low-intrinsic-dimension data navigable).
    /// - Precondition: `sorted` is ascending by distance to the base point.
    func selectNeighbours(_ sorted: [Candidate], max limit: Int) -> [Candidate] {
        if sorted.count <= limit { return sorted }
        var chosen: [Candidate] = []
        chosen.reserveCapacity(limit)
        for candidate in sorted {
            if chosen.count >= limit { break }
            var keep = true
            for kept in chosen where distance(between: candidate.node, kept.node) < candidate.distance {
                keep = false
                break
            }
            if keep { chosen.append(candidate) }
        }
        return chosen
    }

    /// Adds `node` to `neighbour`'s links on `level`, shrinking with the heuristic when the
    /// list is full (`2·m` on layer 0, `m` above).
    mutating func addBackLink(from neighbour: UInt32, to node: UInt32, distance: Float, level: Int) {
        let limit = level == 0 ? maxLinks0 : parameters.m
        let existing = withLinks(neighbour, level: level) { Array($0) }
        if existing.count < limit {
            if level == 0 {
                let start = Int(neighbour) * stride0
                links0[start + 1 + existing.count] = node
                links0[start] = UInt32(existing.count + 1)
            } else {
                let start = (level - 1) * strideUpper
                upperLinks[Int(neighbour)][start + 1 + existing.count] = node
                upperLinks[Int(neighbour)][start] = UInt32(existing.count + 1)
            }
            return
        }
        var candidates = existing.map { Candidate(distance: self.distance(between: neighbour, $0), node: $0) }
        candidates.append(Candidate(distance: distance, node: node))
        candidates.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.node < $1.node) }
        setLinks(neighbour, level: level, selectNeighbours(candidates, max: limit))
    }
}
