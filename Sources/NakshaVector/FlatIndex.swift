/// Exact nearest-neighbour index: every query is compared with every stored vector.
/// The default index kind — always correct, and the reference the approximate ones are
/// measured against.
///
/// Storage: vectors row-major in one contiguous `[Float]` (slot `s` at
/// `s·dimension ..< (s+1)·dimension`), ids and metadata in parallel per slot.
///
/// Invariants:
/// - `vectors.count == ids.count · dimension`; `slotOfID[ids[s]] == s` for every slot and
///   `slotOfID` has no other entries (ids are unique).
/// - With `.cosine`, stored vectors are unit length (or zero), so cosine distance is
///   `1 − ⟨q, x⟩/‖q‖`, computed with the `dot` kernel.
/// - With `.squaredL2`, `squaredNorms[s] == ‖vector s‖²` (used by batched search).
/// - Deleting swaps the last slot into the hole, so slots are dense; ids are the stable
///   handle, slots are not.
public struct FlatIndex: Sendable {
    /// Number of components of every vector.
    public let dimension: Int
    /// The metric fixed at creation.
    public let metric: DistanceMetric
    var vectors: [Float] = []
    var ids: [UInt64] = []
    var squaredNorms: [Float] = []
    var slotOfID: [UInt64: Int] = [:]
    var metadata = MetadataTable()

    /// Creates an empty index.
    /// - Throws: `VectorError.invalidDimension` when `dimension < 1`.
    public init(dimension: Int, metric: DistanceMetric) throws(VectorError) {
        try VectorValidation.checkDimension(dimension)
        self.dimension = dimension
        self.metric = metric
    }

    /// Number of vectors stored.
    public var count: Int { ids.count }

    /// Whether `id` is stored.
    public func contains(_ id: UInt64) -> Bool { slotOfID[id] != nil }

    /// Inserts a new vector.
    /// - Throws: `dimensionMismatch`, `nonFiniteValue`, or `duplicateID` when `id` is present.
    public mutating func add(id: UInt64, vector: [Float], metadata values: [String: MetadataValue] = [:]) throws(VectorError) {
        guard slotOfID[id] == nil else {
            throw VectorError(code: .duplicateID, message: "id \(id) is already in the index; use upsert to replace it")
        }
        try upsert(id: id, vector: vector, metadata: values)
    }

    /// Inserts `vector` under `id`, replacing the vector and metadata already stored there.
    /// - Throws: `dimensionMismatch` or `nonFiniteValue`; the index is unchanged then.
    public mutating func upsert(id: UInt64, vector: [Float], metadata values: [String: MetadataValue] = [:]) throws(VectorError) {
        let stored = try VectorValidation.prepared(vector, dimension: dimension, metric: metric)
        let norm = stored.withUnsafeBufferPointer { b in
            b.baseAddress.map { Distance.squaredNorm($0, count: b.count) } ?? 0
        }
        if let slot = slotOfID[id] {
            let start = slot * dimension
            vectors.replaceSubrange(start..<(start + dimension), with: stored)
            if metric == .squaredL2 { squaredNorms[slot] = norm }
            metadata.replace(row: slot, with: values)
        } else {
            slotOfID[id] = ids.count
            ids.append(id)
            vectors.append(contentsOf: stored)
            if metric == .squaredL2 { squaredNorms.append(norm) }
            metadata.append(values)
        }
    }

    /// Removes `id`. Returns whether it was present.
    @discardableResult
    public mutating func delete(id: UInt64) -> Bool {
        guard let slot = slotOfID.removeValue(forKey: id) else { return false }
        let last = ids.count - 1
        if slot != last {
            let movedID = ids[last]
            ids[slot] = movedID
            slotOfID[movedID] = slot
            let from = last * dimension, to = slot * dimension
            for i in 0..<dimension { vectors[to + i] = vectors[from + i] }
            if metric == .squaredL2 { squaredNorms[slot] = squaredNorms[last] }
        }
        ids.removeLast()
        vectors.removeLast(dimension)
        if metric == .squaredL2 { squaredNorms.removeLast() }
        metadata.swapRemove(row: slot)
        return true
    }

    /// The stored vector for `id` (unit-normalised for `.cosine`), or `nil`.
    public func vector(for id: UInt64) -> [Float]? {
        guard let slot = slotOfID[id] else { return nil }
        return Array(vectors[(slot * dimension)..<((slot + 1) * dimension)])
    }

    /// The metadata stored with `id`, or `nil` when `id` is absent.
    public func metadata(for id: UInt64) -> [String: MetadataValue]? {
        slotOfID[id].map { metadata.row($0) }
    }

    /// Reserves room for `count` vectors in total (avoids regrowth during bulk loads).
    public mutating func reserveCapacity(_ count: Int) {
        vectors.reserveCapacity(count * dimension)
        ids.reserveCapacity(count)
        slotOfID.reserveCapacity(count)
        if metric == .squaredL2 { squaredNorms.reserveCapacity(count) }
    }
}
