import NakshaGraph
import NakshaVector

/// One vector collection held in a worker's memory: a `FlatIndex` over local slot numbers, the
/// string ids and payloads, and (when it mirrors the cold store) the highest sequence applied
/// per shard.
///
/// Invariants: `slotOfID` and `idOfSlot` are inverse; every slot in the index has an id;
/// `appliedSequence[s]` only grows.
struct LocalCollection: Sendable {
    let name: String
    let dimension: Int
    let metric: DistanceMetric
    let shardCount: Int
    private(set) var index: FlatIndex
    private var slotOfID: [String: UInt64] = [:]
    private var idOfSlot: [UInt64: String] = [:]
    private var payloads: [UInt64: GraphValue] = [:]
    private var nextSlot: UInt64 = 1
    var appliedSequence: [Int: Int64] = [:]

    init(name: String, dimension: Int, metric: DistanceMetric, shardCount: Int) throws(NodeFailure) {
        self.name = name
        self.dimension = dimension
        self.metric = metric
        self.shardCount = shardCount
        do {
            index = try FlatIndex(dimension: dimension, metric: metric)
        } catch {
            throw NodeFailure(.vector, "collection \"\(name)\": \(error)")
        }
    }

    var count: Int { index.count }

    mutating func upsert(id: String, vector: [Float], payload: GraphValue?) throws(NodeFailure) {
        let slot = slotOfID[id] ?? nextSlot
        do {
            try index.upsert(id: slot, vector: vector)
        } catch {
            throw NodeFailure(.vector, "collection \"\(name)\", vector \"\(id)\": \(error)")
        }
        if slotOfID[id] == nil {
            slotOfID[id] = slot
            idOfSlot[slot] = id
            nextSlot += 1
        }
        payloads[slot] = payload
    }

    mutating func delete(id: String) {
        guard let slot = slotOfID.removeValue(forKey: id) else { return }
        _ = index.delete(id: slot)
        idOfSlot[slot] = nil
        payloads[slot] = nil
    }

    /// The `k` nearest, closest first, as (id, similarity, payload). Similarity is
    /// `1 − distance` for cosine (1 is identical), `−distance` otherwise (higher is closer).
    func search(_ query: [Float], k: Int) throws(NodeFailure) -> [(id: String, score: Double, payload: GraphValue?)] {
        guard index.count > 0 else { return [] }
        let neighbors: [Neighbor]
        do {
            neighbors = try index.search(query, k: min(k, index.count))
        } catch {
            throw NodeFailure(.vector, "collection \"\(name)\": \(error)")
        }
        return neighbors.compactMap { neighbor in
            guard let id = idOfSlot[neighbor.id] else { return nil }
            let score = metric == .cosine ? 1 - Double(neighbor.distance) : -Double(neighbor.distance)
            return (id, score, payloads[neighbor.id])
        }
    }

    /// The metric's name in collections and graphs (`cosine | ip | l2`).
    static func metric(named name: String) -> DistanceMetric? {
        switch name {
        case "cosine": return .cosine
        case "ip", "dot": return .innerProduct
        case "l2": return .squaredL2
        default: return nil
        }
    }
}
