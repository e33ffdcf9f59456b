import CNakshaPrefetch

/// How a graph walk scores a node against its prepared query: the exact float distance
/// (`ExactWalkScorer`) or an estimate from the node's 8-bit codes (`CodeWalkScorer`).
/// Smaller is nearer. A scorer holds raw pointers into the index's storage, so it is valid
/// only inside the borrow that made it and while the index is not mutated.
protocol HNSWWalkScorer {
    func distance(to node: UInt32) -> Float
    /// Prefetches the first cache line `distance(to:)` reads for `node`.
    func prefetchFirstLine(of node: UInt32)
    /// Prefetches every byte `distance(to:)` reads for `node`.
    func prefetchAll(of node: UInt32)
}

/// The exact distance of `DistanceMetric` over the stored float vectors.
struct ExactWalkScorer: HNSWWalkScorer {
    let query: UnsafePointer<Float>
    let vectors: UnsafePointer<Float>
    let dimension: Int
    let metric: DistanceMetric

    @inline(__always)
    func distance(to node: UInt32) -> Float {
        let x = vectors + Int(node) &* dimension
        switch metric {
        case .innerProduct: return -Distance.dot(query, x, count: dimension)
        case .cosine: return 1 - Distance.dot(query, x, count: dimension)
        case .squaredL2: return Distance.squaredL2(query, x, count: dimension)
        }
    }

    @inline(__always)
    func prefetchFirstLine(of node: UInt32) { naksha_prefetch(vectors + Int(node) &* dimension) }

    @inline(__always)
    func prefetchAll(of node: UInt32) {
        naksha_prefetch_range(vectors + Int(node) &* dimension, dimension &* MemoryLayout<Float>.stride)
    }
}

/// The asymmetric estimate from a node's 8-bit codes `c` (`x̃ = lower + step·c`, the float
/// query kept exact): for inner product and cosine `⟨q, x̃⟩ = Σ q·lower + Σ (q·step)·c`,
/// so `weights = q·step` and `bias = Σ q·lower`; for L2 `|q − x̃|² = Σ step²·(t − c)²` with
/// `weights = step²` and `targets = (q − lower)/step`. `weights` and `targets` are in the
/// interleaved layout of `Distance.interleaveForCodes`. Reads `dimension` bytes per node
/// instead of `4·dimension`.
struct CodeWalkScorer: HNSWWalkScorer {
    let weights: UnsafePointer<Float>
    let targets: UnsafePointer<Float>
    let bias: Float
    let codes: UnsafePointer<UInt8>
    let dimension: Int
    let metric: DistanceMetric

    @inline(__always)
    func distance(to node: UInt32) -> Float {
        let c = codes + Int(node) &* dimension
        switch metric {
        case .innerProduct: return -(bias + Distance.dotCodes(weights, c, count: dimension))
        case .cosine: return 1 - (bias + Distance.dotCodes(weights, c, count: dimension))
        case .squaredL2: return Distance.weightedSquaredL2Codes(weights, targets, c, count: dimension)
        }
    }

    @inline(__always)
    func prefetchFirstLine(of node: UInt32) { naksha_prefetch(codes + Int(node) &* dimension) }

    @inline(__always)
    func prefetchAll(of node: UInt32) { naksha_prefetch_range(codes + Int(node) &* dimension, dimension) }
}

extension HNSWIndex {
    /// Nodes below which searches walk the float vectors: the walk's 8-bit codes exist
    /// once the index has this many nodes.
    static let quantizedWalkMinimumNodes = 1024

    /// Keeps the walk's codes in step after node `node` was appended.
    ///
    /// Invariant: with `P` the largest power of two ≤ `nodeCount`, if `P ≥
    /// quantizedWalkMinimumNodes` then `walkQuantizer` is trained (per-dimension min/max) on
    /// the stored vectors of nodes `0..<P` and `codes` holds every node's encoding under it;
    /// otherwise both are empty. Nodes are never renumbered or removed, so this is a pure
    /// function of the stored vectors — a loaded snapshot rebuilds the same codes
    /// (`rebuildWalkCodes`). Re-training when the count doubles costs O(nodeCount·dimension)
    /// once per doubling (amortised O(dimension) per insert); vectors added between
    /// re-trainings outside the trained range are clamped, which only loosens the estimate
    /// the walk uses — results are always rescored exactly.
    mutating func updateWalkCodes(appended node: UInt32) {
        let count = Int(node) + 1
        if count >= Self.quantizedWalkMinimumNodes && count & (count - 1) == 0 {
            rebuildWalkCodes()
            return
        }
        guard let quantizer = walkQuantizer else { return }
        let d = dimension
        codes.append(contentsOf: repeatElement(0, count: d))
        vectors.withUnsafeBufferPointer { vb in
            codes.withUnsafeMutableBufferPointer { cb in
                guard let v = vb.baseAddress, let c = cb.baseAddress else { return }
                quantizer.encode(v + Int(node) &* d, into: c + Int(node) &* d)
            }
        }
    }

    /// Re-trains the walk's quantizer and re-encodes every node (see `updateWalkCodes`).
    mutating func rebuildWalkCodes() {
        let n = nodeCount, d = dimension
        var trained = 1
        while trained * 2 <= n { trained *= 2 }
        guard trained >= Self.quantizedWalkMinimumNodes else {
            walkQuantizer = nil
            codes = []
            return
        }
        let quantizer = vectors.withUnsafeBufferPointer { vb in
            ScalarQuantizer(dimension: d, ranges: .perDimension, samples: UnsafeBufferPointer(rebasing: vb[0..<(trained * d)]))
        }
        // Room for as many nodes as `vectors` has, so later appends grow both alike.
        var encoded = [UInt8]()
        encoded.reserveCapacity(max(n * d, vectors.capacity))
        encoded.append(contentsOf: repeatElement(0, count: n * d))
        vectors.withUnsafeBufferPointer { vb in
            encoded.withUnsafeMutableBufferPointer { cb in
                guard let v = vb.baseAddress, let c = cb.baseAddress else { return }
                for node in 0..<n { quantizer.encode(v + node &* d, into: c + node &* d) }
            }
        }
        walkQuantizer = quantizer
        codes = encoded
    }
}

extension HNSWIndex {
    /// Calls `body` with the code scorer of the prepared query `q` (its weights on the
    /// stack). `quantizer` is `walkQuantizer`.
    func withCodeScorer<R>(_ q: UnsafePointer<Float>, quantizer: ScalarQuantizer, _ body: (CodeWalkScorer) -> R) -> R {
        let d = dimension
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * d) { prepared in
            let weights = prepared.baseAddress.unsafelyUnwrapped
            let bias = prepareCodeQuery(q, quantizer: quantizer, weights: weights, targets: weights + d, scratch: weights + 2 * d)
            return codes.withUnsafeBufferPointer { cb in
                body(CodeWalkScorer(weights: weights, targets: weights + d, bias: bias, codes: cb.baseAddress.unsafelyUnwrapped,
                                    dimension: d, metric: metric))
            }
        }
    }

    /// The code scorer for the prepared query `q`: fills `weights` and `targets` (each
    /// `dimension` floats, interleaved) and returns the bias. See `CodeWalkScorer`.
    func prepareCodeQuery(
        _ q: UnsafePointer<Float>, quantizer: ScalarQuantizer,
        weights: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) -> Float {
        let d = dimension
        var bias: Float = 0
        switch metric {
        case .innerProduct, .cosine:
            for i in 0..<d {
                scratch[i] = q[i] * quantizer.step[i]
                bias += q[i] * quantizer.lower[i]
            }
            Distance.interleaveForCodes(scratch, into: weights, count: d)
            for i in 0..<d { targets[i] = 0 }
        case .squaredL2:
            for i in 0..<d { scratch[i] = quantizer.step[i] * quantizer.step[i] }
            Distance.interleaveForCodes(scratch, into: weights, count: d)
            for i in 0..<d { scratch[i] = (q[i] - quantizer.lower[i]) / quantizer.step[i] }
            Distance.interleaveForCodes(scratch, into: targets, count: d)
        }
        return bias
    }

    /// The upper-layer descent and the layer-0 search with `scorer`, then the `k` best of
    /// the walk's results by exact distance (the walk's own distances may be estimates).
    /// `q` is the prepared query; the results are rescored nearest-estimate first with the
    /// next vectors prefetched.
    func walkAndRescore<S: HNSWWalkScorer>(
        _ q: UnsafePointer<Float>, scorer: S, entry: UInt32, k: Int, ef: Int, matching: RowBitmap?,
        scratch: inout HNSWSearchScratch
    ) -> [Neighbor] {
        var current = Candidate(distance: scorer.distance(to: entry), node: entry)
        for layer in stride(from: maxLevel, to: 0, by: -1) {
            current = greedyClosest(scorer, from: current, level: layer)
        }
        let storage = searchLayer(scorer, entry: current, ef: ef, level: 0,
                                  scratch: &scratch, admit: matching, skipDeleted: true)
        return vectors.withUnsafeBufferPointer { vb -> [Neighbor] in
            guard let base = vb.baseAddress else { return [] }
            let exact = ExactWalkScorer(query: q, vectors: base, dimension: dimension, metric: metric)
            let results = storage.results.unordered
            var top = TopK(k: k)
            if S.self == ExactWalkScorer.self {
                for c in results { top.insert(id: ids[Int(c.node)], distance: c.distance) }
                return top.sorted()
            }
            let ahead = 4
            for c in results.prefix(ahead) { exact.prefetchAll(of: c.node) }
            for (i, c) in results.enumerated() {
                if i &+ ahead < results.count { exact.prefetchAll(of: results[i &+ ahead].node) }
                let distance = exact.distance(to: c.node)
                if distance <= top.threshold { top.insert(id: ids[Int(c.node)], distance: distance) }
            }
            return top.sorted()
        }
    }
}
