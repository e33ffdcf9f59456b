import NakshaCore

/// How a collection compares vectors. One spelling everywhere: `cosine`, `ip`, `l2`.
public enum VectorMetric: String, Sendable, Hashable, Codable, CaseIterable {
    case cosine
    case ip
    case l2
}

/// The index a collection's shards build: `flat` (exact), `hnsw`, `int8` (quantized flat).
public enum VectorIndexKind: String, Sendable, Hashable, Codable, CaseIterable {
    case flat
    case hnsw
    case int8
}

/// A collection as created: its shape and how it is split and copied.
public struct CollectionSpec: Sendable, Hashable, Codable {
    public var name: String
    public var dimension: Int
    public var metric: VectorMetric
    public var index: VectorIndexKind
    public var shards: Int
    public var replicas: Int
    public var createdMillis: UInt64

    public init(name: String, dimension: Int, metric: VectorMetric, index: VectorIndexKind, shards: Int, replicas: Int, createdMillis: UInt64 = 0) {
        self.name = name
        self.dimension = dimension
        self.metric = metric
        self.index = index
        self.shards = shards
        self.replicas = replicas
        self.createdMillis = createdMillis
    }
}

/// One shard of a collection.
public struct ShardKey: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var collection: String
    public var shard: Int

    public init(collection: String, shard: Int) {
        self.collection = collection
        self.shard = shard
    }

    public static func < (lhs: ShardKey, rhs: ShardKey) -> Bool { (lhs.collection, lhs.shard) < (rhs.collection, rhs.shard) }
    public var description: String { "\(collection)/\(shard)" }
}

/// Where one shard's replicas live.
public struct ShardPlacement: Sendable, Hashable, Codable {
    public var key: ShardKey
    /// Workers holding a replica, in the order they were placed; never two on one worker.
    public internal(set) var workers: [WorkerID]
}

/// The shard map: collections, and the workers each shard's replicas are placed on.
///
/// Invariants: every shard of every collection has a placement; no worker holds two
/// replicas of one shard; a shard has at most `replicas` workers, fewer only while fewer
/// workers are registered; `epoch` grows with every change, so a reader can tell which map
/// it acted on. Placement is decided in `apply` and is deterministic: a missing replica goes
/// to the registered worker with the fewest replicas (ties: the larger memory budget, then
/// the lower id). A worker joining takes no replica from others by itself (no flapping);
/// a worker leaving (deregistered or expired) has its replicas placed elsewhere in the same
/// entry.
public struct ShardMap: Sendable, Hashable, Codable {
    public internal(set) var epoch: UInt64 = 0
    /// By name.
    public internal(set) var collections: [String: CollectionSpec] = [:]
    /// Every shard's placement, ascending by key.
    public internal(set) var placements: [ShardPlacement] = []

    public init() {}

    public var isEmpty: Bool { collections.isEmpty }

    public func placement(of key: ShardKey) -> ShardPlacement? {
        var low = 0
        var high = placements.count
        while low < high {
            let middle = (low + high) / 2
            if placements[middle].key < key { low = middle + 1 } else { high = middle }
        }
        return low < placements.count && placements[low].key == key ? placements[low] : nil
    }

    /// Replicas per worker (workers holding none are absent).
    public var replicaCounts: [WorkerID: Int] {
        var counts: [WorkerID: Int] = [:]
        for placement in placements { for worker in placement.workers { counts[worker, default: 0] += 1 } }
        return counts
    }

    /// Places every missing replica on `workers`; true when the map changed.
    mutating func fill(workers: [WorkerRecord]) -> Bool {
        guard !workers.isEmpty else { return false }
        var counts = replicaCounts
        var changed = false
        for position in placements.indices {
            guard let spec = collections[placements[position].key.collection] else { continue }
            while placements[position].workers.count < spec.replicas {
                let holders = Set(placements[position].workers)
                let candidates = workers.filter { !holders.contains($0.id) }
                guard
                    let chosen = candidates.min(by: { left, right in
                        let (l, r) = (counts[left.id] ?? 0, counts[right.id] ?? 0)
                        if l != r { return l < r }
                        let (lb, rb) = (left.memoryBudgetBytes, right.memoryBudgetBytes)
                        if lb != rb { return lb > rb }
                        return left.id < right.id
                    })
                else { break }
                placements[position].workers.append(chosen.id)
                counts[chosen.id, default: 0] += 1
                changed = true
            }
        }
        return changed
    }

    /// Takes `gone` workers out of every placement; true when the map changed.
    mutating func remove(workers gone: Set<WorkerID>) -> Bool {
        var changed = false
        for position in placements.indices where placements[position].workers.contains(where: gone.contains) {
            placements[position].workers.removeAll(where: gone.contains)
            changed = true
        }
        return changed
    }

    mutating func add(_ spec: CollectionSpec) {
        collections[spec.name] = spec
        placements += (0..<spec.shards).map { ShardPlacement(key: ShardKey(collection: spec.name, shard: $0), workers: []) }
        placements.sort { $0.key < $1.key }
    }

    mutating func drop(_ name: String) {
        collections[name] = nil
        placements.removeAll { $0.key.collection == name }
    }
}

/// `createCollection`'s argument.
public struct CreateCollection: Sendable, Hashable, Codable {
    public var spec: CollectionSpec

    public init(_ spec: CollectionSpec) { self.spec = spec }
}

extension ClusterState {
    /// The shard map (collections and replica placement).
    public var shards: ShardMap { shardMap }

    mutating func createCollection(_ create: CreateCollection, context: CommandContext) -> ClusterResult {
        var spec = create.spec
        let name = spec.name
        guard !name.isEmpty, name.utf8.count <= 128, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }) else {
            return .failure(ClusterError(.invalidCommand, "a collection name is 1–128 letters, digits, '_', '-' or '.', not \"\(name.prefix(130))\""))
        }
        guard (1...65_536).contains(spec.dimension) else {
            return .failure(ClusterError(.invalidCommand, "dimension \(spec.dimension) is out of range (1 … 65536)"))
        }
        guard (1...1_024).contains(spec.shards), (1...16).contains(spec.replicas) else {
            return .failure(ClusterError(.invalidCommand, "shards must be 1 … 1024 and replicas 1 … 16 (got \(spec.shards) and \(spec.replicas))"))
        }
        if let existing = shardMap.collections[name] {
            spec.createdMillis = existing.createdMillis
            guard existing == spec else {
                return .failure(ClusterError(.invalidCommand, "collection \"\(name)\" already exists with another shape (\(existing.dimension) dimensions, \(existing.metric.rawValue), \(existing.shards)×\(existing.replicas), \(existing.index.rawValue)); drop it first"))
            }
            return .success(.collectionCreated(name, epoch: shardMap.epoch, created: false))
        }
        spec.createdMillis = context.timestampMillis
        shardMap.add(spec)
        _ = shardMap.fill(workers: workers.keys.sorted().compactMap { workers[$0] })
        shardMap.epoch += 1
        return .success(.collectionCreated(name, epoch: shardMap.epoch, created: true))
    }

    mutating func dropCollection(_ name: String) -> ClusterResult {
        guard shardMap.collections[name] != nil else {
            return .failure(ClusterError(.unknownCollection, "no collection named \"\(name)\""))
        }
        shardMap.drop(name)
        shardMap.epoch += 1
        return .success(.collectionDropped(name, epoch: shardMap.epoch))
    }

    /// After workers joined or left: take the gone ones out and fill missing replicas.
    mutating func replaceShards(removing gone: Set<WorkerID>) {
        guard !shardMap.isEmpty else { return }
        let removed = shardMap.remove(workers: gone)
        let filled = shardMap.fill(workers: workers.keys.sorted().compactMap { workers[$0] })
        if removed || filled { shardMap.epoch += 1 }
    }
}
