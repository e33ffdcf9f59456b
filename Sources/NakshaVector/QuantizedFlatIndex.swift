/// Exhaustive search over 8-bit codes, then exact rescoring: scans 1 byte per component
/// instead of 4 (so a memory-bound scan runs up to 4× faster), keeps the best
/// `k · rescoreFactor` candidates by quantized distance, and reorders those by the exact
/// float distance.
///
/// Invariants:
/// - `codes.count == exact.count · dimension`; the codes of slot `s` encode the stored
///   (for cosine: normalised) vector of `exact`'s slot `s` — mutations keep both in step,
///   including the flat index's swap-remove on delete.
/// - Returned distances are exact (from `exact`), so results are comparable with
///   `FlatIndex` results and mergeable with `ShardMerge`; only candidate *selection* is
///   approximate. With `rescoreFactor · k ≥ count` the result equals exact search.
///
/// Memory: `dimension` bytes of codes per vector on top of the exact index (which the
/// rescoring needs); see `MemoryEstimate`.
public struct QuantizedFlatIndex: Sendable {
    public private(set) var exact: FlatIndex
    public let quantizer: ScalarQuantizer
    var codes: [UInt8] = []
    /// Candidates rescored per requested neighbour (≥ 1).
    public let rescoreFactor: Int

    /// Creates an empty index whose quantizer is trained on `trainingSample` (row-major
    /// vectors of `dimension`; normalised first for `.cosine`). Vectors added later outside
    /// the trained range are clamped, which costs accuracy but never correctness of the
    /// returned distances.
    /// - Throws: `invalidDimension`, `batchShapeMismatch` for a ragged sample,
    ///   `invalidParameter` when `rescoreFactor < 1`.
    public init(
        dimension: Int, metric: DistanceMetric, ranges: ScalarQuantizer.Ranges = .perDimension,
        trainingSample: [Float], rescoreFactor: Int = 8
    ) throws(VectorError) {
        exact = try FlatIndex(dimension: dimension, metric: metric)
        guard trainingSample.count % dimension == 0 else {
            throw VectorError(code: .batchShapeMismatch, message: "training sample has \(trainingSample.count) floats, not a multiple of \(dimension)")
        }
        guard rescoreFactor >= 1 else { throw .invalidParameter("rescoreFactor", rescoreFactor, "≥ 1") }
        var sample = trainingSample
        if metric == .cosine {
            var start = 0
            while start < sample.count {
                var row = Array(sample[start..<(start + dimension)])
                VectorValidation.normalize(&row)
                sample.replaceSubrange(start..<(start + dimension), with: row)
                start += dimension
            }
        }
        quantizer = ScalarQuantizer(dimension: dimension, ranges: ranges, samples: sample)
        self.rescoreFactor = rescoreFactor
    }

    public var dimension: Int { exact.dimension }
    public var metric: DistanceMetric { exact.metric }
    public var count: Int { exact.count }

    /// Inserts or replaces `id` (see `FlatIndex.upsert`).
    public mutating func upsert(id: UInt64, vector: [Float], metadata: [String: MetadataValue] = [:]) throws(VectorError) {
        try exact.upsert(id: id, vector: vector, metadata: metadata)
        guard let slot = exact.slotOfID[id] else { return }
        let d = dimension
        if slot * d == codes.count { codes.append(contentsOf: repeatElement(0, count: d)) }
        exact.vectors.withUnsafeBufferPointer { vb in
            codes.withUnsafeMutableBufferPointer { cb in
                guard let v = vb.baseAddress, let c = cb.baseAddress else { return }
                quantizer.encode(v + slot * d, into: c + slot * d)
            }
        }
    }

    /// Reserves room for `count` vectors in total.
    public mutating func reserveCapacity(_ count: Int) {
        exact.reserveCapacity(count)
        codes.reserveCapacity(count * dimension)
    }

    /// Inserts a new id; throws `duplicateID` if present.
    public mutating func add(id: UInt64, vector: [Float], metadata: [String: MetadataValue] = [:]) throws(VectorError) {
        guard !exact.contains(id) else {
            throw VectorError(code: .duplicateID, message: "id \(id) is already in the index; use upsert to replace it")
        }
        try upsert(id: id, vector: vector, metadata: metadata)
    }

    /// Removes `id`; returns whether it was present.
    @discardableResult
    public mutating func delete(id: UInt64) -> Bool {
        guard let slot = exact.slotOfID[id] else { return false }
        let d = dimension, last = exact.count - 1
        exact.delete(id: id)
        if slot != last {
            for i in 0..<d { codes[slot * d + i] = codes[last * d + i] }
        }
        codes.removeLast(d)
        return true
    }

    /// The `k` nearest by exact distance among the `k · rescoreFactor` nearest by quantized
    /// distance (restricted to vectors matching `filter`, if any). Allocates the candidate
    /// list and the result; the per-query transformed query lives on the stack.
    /// - Throws: `dimensionMismatch`, `invalidParameter` for `k < 0`.
    public func search(_ query: [Float], k: Int, filter: MetadataFilter? = nil) throws(VectorError) -> [Neighbor] {
        try query.withUnsafeBufferPointer { q throws(VectorError) in
            try VectorValidation.checkQuery(q, dimension: dimension, k: k)
        }
        guard k > 0, count > 0 else { return [] }
        let bitmap = filter.map { exact.metadata.evaluate($0) { _ in true } }
        let candidates = quantizedCandidates(query, count: min(count, k * rescoreFactor), bitmap: bitmap)
        var top = TopK(k: min(k, count))
        let d = dimension
        query.withUnsafeBufferPointer { qb in
            exact.vectors.withUnsafeBufferPointer { vb in
                guard let q = qb.baseAddress, let base = vb.baseAddress else { return }
                let norm = Distance.squaredNorm(q, count: d).squareRoot()
                for candidate in candidates {
                    let slot = Int(candidate.id)
                    let x = base + slot * d
                    let distance: Float
                    switch metric {
                    case .innerProduct: distance = -Distance.dot(q, x, count: d)
                    case .cosine: distance = norm > 0 ? 1 - Distance.dot(q, x, count: d) / norm : 1
                    case .squaredL2: distance = Distance.squaredL2(q, x, count: d)
                    }
                    top.insert(id: exact.ids[slot], distance: distance)
                }
            }
        }
        return top.sorted()
    }

    /// Best `count` slots by quantized distance (returned as `Neighbor(id: slot, …)`).
    private func quantizedCandidates(_ query: [Float], count candidateCount: Int, bitmap: RowBitmap?) -> [Neighbor] {
        let d = dimension
        var top = TopK(k: candidateCount)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * d) { scratch in
            guard let natural = scratch.baseAddress else { return }
            let naturalWeights = natural + d, transformed = natural + 2 * d, weights = natural + 3 * d
            let bias = prepare(query, transformed: natural, weights: naturalWeights)
            Distance.interleaveForCodes(natural, into: transformed, count: d)
            Distance.interleaveForCodes(naturalWeights, into: weights, count: d)
            codes.withUnsafeBufferPointer { cb in
                guard let c = cb.baseAddress else { return }
                func score(_ s: Int) {
                    let distance: Float
                    switch metric {
                    case .innerProduct, .cosine:
                        distance = bias - Distance.dotCodes(transformed, c + s &* d, count: d)
                    case .squaredL2:
                        distance = Distance.weightedSquaredL2Codes(weights, transformed, c + s &* d, count: d)
                    }
                    if distance <= top.threshold { top.insert(id: UInt64(s), distance: distance) }
                }
                if let bitmap {
                    bitmap.forEachSet(score)
                } else {
                    for s in 0..<exact.count { score(s) }
                }
            }
        }
        return top.sorted()
    }

    /// Fills the per-query transformed vector and returns the constant term:
    /// for IP/cosine `transformed = q̂·step`, result `-(Σ q̂·lower)` offset so that
    /// `bias − dotCodes` is the quantized distance (q̂ = q normalised for cosine, with +1);
    /// for L2 `transformed = (q − lower)/step`, `weights = step²`.
    private func prepare(_ query: [Float], transformed: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Float>) -> Float {
        let d = dimension
        var scale: Float = 1
        if metric == .cosine {
            let norm = query.withUnsafeBufferPointer { b in
                b.baseAddress.map { Distance.squaredNorm($0, count: d).squareRoot() } ?? 0
            }
            scale = norm > 0 ? 1 / norm : 0
        }
        var constant: Float = 0
        for i in 0..<d {
            let q = query[i] * scale
            switch metric {
            case .innerProduct, .cosine:
                transformed[i] = q * quantizer.step[i]
                constant += q * quantizer.lower[i]
                weights[i] = 0
            case .squaredL2:
                transformed[i] = (q - quantizer.lower[i]) / quantizer.step[i]
                weights[i] = quantizer.step[i] * quantizer.step[i]
            }
        }
        switch metric {
        case .innerProduct: return -constant
        case .cosine: return 1 - constant
        case .squaredL2: return 0
        }
    }
}
