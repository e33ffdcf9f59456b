import NakshaClusterAPI
import NakshaState
import NakshaStore
import NakshaVector

/// One replica of one shard, in a worker's memory: the collection's index kind over local slot
/// numbers, the string ids, the stored payloads, and the highest cold-store sequence applied.
///
/// Invariants: `slotOfID` and `idOfSlot` are inverse and cover exactly the vectors in the
/// index; `appliedSequence` only grows, and a change at or below it is never applied again
/// (so overlapping catch-ups apply each change once, in sequence order).
///
/// Exactly one of `flat`, `hnsw` and `int8` is set; they are optionals (not an enum) so
/// that writes mutate the index in place, never copying it.
struct ShardReplica: Sendable {
    let spec: CollectionSpec
    let shard: Int
    private var flat: FlatIndex?
    private var hnsw: HNSWIndex?
    private var int8: QuantizedFlatIndex?
    private var slotOfID: [String: UInt64] = [:]
    private var idOfSlot: [UInt64: String] = [:]
    private var payloads: [UInt64: String] = [:]
    private var payloadBytes = 0
    private var nextSlot: UInt64 = 1
    private(set) var appliedSequence: Int64 = 0

    /// An empty replica; `int8` trains its quantizer on `trainingSample` (rows of the shard).
    init(spec: CollectionSpec, shard: Int, trainingSample: [Float] = []) throws(VectorError) {
        self.spec = spec
        self.shard = shard
        let metric = Self.distanceMetric(spec.metric)
        switch spec.index {
        case .flat: flat = try FlatIndex(dimension: spec.dimension, metric: metric)
        case .hnsw: hnsw = try HNSWIndex(dimension: spec.dimension, metric: metric, parameters: HNSWParameters(exactScanBelowFraction: 0.05))
        case .int8: int8 = try QuantizedFlatIndex(dimension: spec.dimension, metric: metric, trainingSample: trainingSample)
        }
    }

    static func distanceMetric(_ metric: VectorMetric) -> DistanceMetric {
        switch metric {
        case .cosine: .cosine
        case .ip: .innerProduct
        case .l2: .squaredL2
        }
    }

    var key: ShardKey { ShardKey(collection: spec.name, shard: shard) }
    var count: Int { slotOfID.count }

    /// Bytes held: the index's own accounting plus ids and payloads.
    var memoryBytes: Int {
        let index = flat?.memoryBytes ?? hnsw?.memoryBytes ?? int8?.memoryBytes ?? 0
        return index + payloadBytes + slotOfID.count * 48
    }

    /// Bytes `count` more vectors would add, before they are loaded.
    func estimatedBytes(adding count: Int) -> Int {
        let metric = Self.distanceMetric(spec.metric)
        let index: Int
        switch spec.index {
        case .flat: index = FlatIndex.estimatedBytes(count: count, dimension: spec.dimension, metric: metric)
        case .hnsw: index = HNSWIndex.estimatedBytes(count: count, dimension: spec.dimension, parameters: HNSWParameters())
        case .int8: index = QuantizedFlatIndex.estimatedBytes(count: count, dimension: spec.dimension, metric: metric)
        }
        return index + count * 48
    }

    /// Applies changes of this shard in sequence order; those at or below `appliedSequence`
    /// are skipped. A row the index cannot hold (a wrong dimension written by another tool)
    /// is skipped and returned, so one bad row never blocks the shard.
    mutating func apply(_ changes: [VectorChange]) -> [(id: String, error: VectorError)] {
        var skipped: [(id: String, error: VectorError)] = []
        for change in changes where change.sequence > appliedSequence {
            if change.isDeleted {
                delete(change.id)
            } else {
                do {
                    try upsert(change.id, change.vector, payloadJSON: change.metadataJSON)
                } catch {
                    skipped.append((change.id, error))
                }
            }
            appliedSequence = change.sequence
        }
        return skipped
    }

    private mutating func upsert(_ id: String, _ vector: [Float], payloadJSON: String?) throws(VectorError) {
        let slot = slotOfID[id] ?? nextSlot
        let metadata = VectorFilter.indexedValues(of: VectorPayload(storedJSON: payloadJSON).metadata).mapValues(MetadataValue.init)
        if flat != nil { try flat?.upsert(id: slot, vector: vector, metadata: metadata) }
        if hnsw != nil { try hnsw?.upsert(id: slot, vector: vector, metadata: metadata) }
        if int8 != nil { try int8?.upsert(id: slot, vector: vector, metadata: metadata) }
        if slotOfID[id] == nil {
            slotOfID[id] = slot
            idOfSlot[slot] = id
            nextSlot += 1
        }
        payloadBytes -= payloads[slot]?.utf8.count ?? 0
        payloads[slot] = payloadJSON
        payloadBytes += payloadJSON?.utf8.count ?? 0
    }

    private mutating func delete(_ id: String) {
        guard let slot = slotOfID.removeValue(forKey: id) else { return }
        _ = flat?.delete(id: slot)
        _ = hnsw?.delete(id: slot)
        _ = int8?.delete(id: slot)
        idOfSlot[slot] = nil
        payloadBytes -= payloads.removeValue(forKey: slot)?.utf8.count ?? 0
    }

    /// Whether a search with `filter` is exact here: a flat index always; HNSW and int8 are
    /// approximate.
    var isExact: Bool { flat != nil }

    /// The `k` nearest matching `filter`, best first, as hits with similarity scores.
    func search(_ query: [Float], k: Int, filter: MetadataFilter?) throws(VectorError) -> [ShardHit] {
        guard count > 0, k > 0 else { return [] }
        let wanted = min(k, count)
        let neighbors: [Neighbor]
        if let flat {
            neighbors = try flat.search(query, k: wanted, filter: filter)
        } else if let hnsw {
            neighbors = try hnsw.search(query, k: wanted, efSearch: max(64, wanted), filter: filter)
        } else if let int8 {
            neighbors = try int8.search(query, k: wanted, filter: filter)
        } else {
            neighbors = []
        }
        return neighbors.compactMap { neighbor in
            guard let id = idOfSlot[neighbor.id] else { return nil }
            return ShardHit(id: id, score: Self.similarity(neighbor.distance, spec.metric), payloadJSON: payloads[neighbor.id])
        }
    }

    /// Higher is closer: `1 − distance` for cosine, `−distance` otherwise (the inner
    /// product for `ip`, whose distance is its negation; `−squared L2` for `l2`).
    static func similarity(_ distance: Float, _ metric: VectorMetric) -> Double {
        metric == .cosine ? 1 - Double(distance) : -Double(distance)
    }
}
