import NakshaCore
/// Approximate nearest-neighbour index: a hierarchical navigable small-world graph
/// (Malkov & Yashunin, "Efficient and robust approximate nearest neighbor search using
/// Hierarchical Navigable Small World graphs", 2016), with deletion by tombstone.
///
/// Storage: nodes are numbered in insertion order and never move. Vectors row-major in one
/// `[Float]`; layer-0 links in one `[UInt32]` with `2·m + 1` entries per node (entry 0 is
/// the link count); links of layers ≥ 1 per node in `upperLinks[node]` (`m + 1` entries
/// per layer, same layout) — only ≈ 1/m of nodes have any.
///
/// Invariants:
/// - `nodeOfID[id]` is the live node of `id`; a node is live iff `!deleted[node]`;
///   `liveCount` is the number of live nodes.
/// - Every link points to an existing node (possibly deleted: tombstoned nodes stay in the
///   graph for navigation and are never returned).
/// - `entryPoint` is a node on layer `maxLevel`, or nil iff no node was ever inserted.
/// - With `.cosine` stored vectors are unit length and distance is `1 − ⟨q̂, x⟩`.
/// - The graph is a pure function of the sequence of mutations and `parameters.seed`.
public struct HNSWIndex: Sendable {
    public let dimension: Int
    public let metric: DistanceMetric
    public let parameters: HNSWParameters
    var vectors: [Float] = []
    var ids: [UInt64] = []
    var deleted: [Bool] = []
    var levels: [UInt8] = []
    var links0: [UInt32] = []
    var upperLinks: [[UInt32]] = []
    var nodeOfID: [UInt64: UInt32] = [:]
    var entryPoint: UInt32?
    var maxLevel = 0
    var rng: SeededGenerator
    var metadata = MetadataTable()
    var buildScratch = HNSWSearchScratch()
    /// The search walk's 8-bit codes, `dimension` bytes per node, and their quantizer;
    /// derived from `vectors` (invariant in `updateWalkCodes`).
    var codes: [UInt8] = []
    var walkQuantizer: ScalarQuantizer?
    public internal(set) var liveCount = 0

    var maxLinks0: Int { 2 * parameters.m }
    var stride0: Int { 2 * parameters.m + 1 }
    var strideUpper: Int { parameters.m + 1 }

    /// Creates an empty index.
    /// - Throws: `invalidDimension`, `invalidParameter` for out-of-range parameters.
    public init(dimension: Int, metric: DistanceMetric, parameters: HNSWParameters = HNSWParameters()) throws(VectorError) {
        try VectorValidation.checkDimension(dimension)
        try parameters.validate()
        self.dimension = dimension
        self.metric = metric
        self.parameters = parameters
        self.rng = SeededGenerator(seed: parameters.seed)
    }

    /// Number of live (not deleted) vectors.
    public var count: Int { liveCount }
    /// Number of graph nodes including tombstones (memory is proportional to this).
    public var nodeCount: Int { ids.count }

    public func contains(_ id: UInt64) -> Bool { nodeOfID[id] != nil }

    /// Reserves room for `count` nodes.
    public mutating func reserveCapacity(_ count: Int) {
        vectors.reserveCapacity(count * dimension)
        if walkQuantizer != nil || count >= Self.quantizedWalkMinimumNodes { codes.reserveCapacity(count * dimension) }
        ids.reserveCapacity(count)
        deleted.reserveCapacity(count)
        levels.reserveCapacity(count)
        links0.reserveCapacity(count * stride0)
        upperLinks.reserveCapacity(count)
        nodeOfID.reserveCapacity(count)
    }

    /// Inserts a new id; throws `duplicateID` if present.
    public mutating func add(id: UInt64, vector: [Float], metadata values: [String: MetadataValue] = [:]) throws(VectorError) {
        guard nodeOfID[id] == nil else {
            throw VectorError(code: .duplicateID, message: "id \(id) is already in the index; use upsert to replace it")
        }
        try upsert(id: id, vector: vector, metadata: values)
    }

    /// Inserts `vector` under `id`; an existing vector for `id` is tombstoned and a new
    /// node is linked in (HNSW cannot move a node in place).
    /// - Throws: `dimensionMismatch` or `nonFiniteValue`; the index is unchanged then.
    public mutating func upsert(id: UInt64, vector: [Float], metadata values: [String: MetadataValue] = [:]) throws(VectorError) {
        let stored = try VectorValidation.prepared(vector, dimension: dimension, metric: metric)
        delete(id: id)
        let node = UInt32(ids.count)
        let level = randomLevel()
        ids.append(id)
        deleted.append(false)
        levels.append(UInt8(level))
        vectors.append(contentsOf: stored)
        links0.append(contentsOf: repeatElement(0, count: stride0))
        upperLinks.append(level > 0 ? [UInt32](repeating: 0, count: level * strideUpper) : [])
        metadata.append(values)
        nodeOfID[id] = node
        liveCount += 1
        link(node, level: level)
        updateWalkCodes(appended: node)
    }

    /// Tombstones `id`: it is never returned again but keeps routing searches. Returns
    /// whether it was live. Memory is reclaimed only by rebuilding the index.
    @discardableResult
    public mutating func delete(id: UInt64) -> Bool {
        guard let node = nodeOfID.removeValue(forKey: id) else { return false }
        deleted[Int(node)] = true
        liveCount -= 1
        return true
    }

    /// The metadata stored with a live `id`, or nil.
    public func metadata(for id: UInt64) -> [String: MetadataValue]? {
        nodeOfID[id].map { metadata.row(Int($0)) }
    }

    /// Geometric level: P(level ≥ l) = m^(−l), i.e. the paper's mL = 1/ln(m), without
    /// floating-point logarithms. Capped at 15.
    mutating func randomLevel() -> Int {
        var level = 0
        let m = UInt64(parameters.m)
        while level < 15 && rng.next() % m == 0 { level += 1 }
        return level
    }

    // MARK: Links

    /// The links of `node` on `level`, as (base pointer into storage, count).
    @inline(__always)
    func withLinks<R>(_ node: UInt32, level: Int, _ body: (UnsafeBufferPointer<UInt32>) -> R) -> R {
        if level == 0 {
            return links0.withUnsafeBufferPointer { b in
                let start = Int(node) * stride0
                let n = Int(b[start])
                return body(UnsafeBufferPointer(rebasing: b[(start + 1)..<(start + 1 + n)]))
            }
        }
        return upperLinks[Int(node)].withUnsafeBufferPointer { b in
            let start = (level - 1) * strideUpper
            let n = Int(b[start])
            return body(UnsafeBufferPointer(rebasing: b[(start + 1)..<(start + 1 + n)]))
        }
    }

    mutating func setLinks(_ node: UInt32, level: Int, _ neighbours: [Candidate]) {
        if level == 0 {
            let start = Int(node) * stride0
            links0[start] = UInt32(neighbours.count)
            for (i, c) in neighbours.enumerated() { links0[start + 1 + i] = c.node }
        } else {
            let start = (level - 1) * strideUpper
            upperLinks[Int(node)][start] = UInt32(neighbours.count)
            for (i, c) in neighbours.enumerated() { upperLinks[Int(node)][start + 1 + i] = c.node }
        }
    }

    /// Distance from a prepared query to a stored node (borrows the vector storage).
    func distance(_ q: UnsafePointer<Float>, node: UInt32) -> Float {
        vectors.withUnsafeBufferPointer { vb in
            guard let base = vb.baseAddress else { return .nan }
            return distance(q, node: node, base: base)
        }
    }

    /// Distance from a prepared query (normalised for cosine) to a stored node.
    @inline(__always)
    func distance(_ q: UnsafePointer<Float>, node: UInt32, base: UnsafePointer<Float>) -> Float {
        ExactWalkScorer(query: q, vectors: base, dimension: dimension, metric: metric).distance(to: node)
    }
}
