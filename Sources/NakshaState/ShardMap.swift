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

/// A replica moving from one worker to another: `to` loads and catches up while `from`
/// keeps serving; the move finishes when `to` reports it ready (`finishShardMove`), in one
/// entry that puts `to` in `from`'s place.
public struct ShardMove: Sendable, Hashable, Codable {
    public var from: WorkerID
    public var to: WorkerID

    public init(from: WorkerID, to: WorkerID) {
        self.from = from
        self.to = to
    }
}

/// A move planned or started: which shard, from where, to where.
public struct PlannedShardMove: Sendable, Hashable, Codable {
    public var key: ShardKey
    public var from: WorkerID
    public var to: WorkerID

    public init(key: ShardKey, from: WorkerID, to: WorkerID) {
        self.key = key
        self.from = from
        self.to = to
    }
}

/// Where one shard's replicas live.
public struct ShardPlacement: Sendable, Hashable, Codable {
    public var key: ShardKey
    /// Workers serving a replica, in the order they were placed; never two on one worker.
    /// Routers ask only these.
    public internal(set) var workers: [WorkerID]
    /// The move in progress, at most one per shard (absent from the encoding when nil).
    public internal(set) var move: ShardMove?
    /// Workers that refused this shard's replica (over their memory budget): never placed
    /// here again or moved to by a rebalance, until they register anew or with another budget,
    /// or an operator moves the shard there (absent from the encoding when nil).
    public internal(set) var refusedBy: [WorkerID]?

    /// Drops `worker` from `refusedBy` (nil once empty); true when it was there.
    mutating func forgetRefusal(of worker: WorkerID) -> Bool {
        guard refusedBy?.contains(worker) == true else { return false }
        refusedBy?.removeAll { $0 == worker }
        if refusedBy?.isEmpty == true { refusedBy = nil }
        return true
    }

    /// The workers that hold or are loading a replica: `workers` and a move's target.
    public var holders: [WorkerID] { workers + (move.map { [$0.to] } ?? []) }
}

/// The shard map: collections, and the workers each shard's replicas are placed on.
///
/// Invariants: every shard of every collection has a placement; no worker holds two
/// replicas of one shard (counting a move's target); a shard has at most `replicas` serving
/// workers, fewer only while fewer workers are registered; at most one move per shard is in
/// progress, and its source keeps serving until its target is ready; `epoch` grows with every
/// change, so a reader can tell which map it acted on. Placement is decided in `apply` and
/// is deterministic: a missing replica goes to the registered worker with the fewest
/// replicas (ties: the larger memory budget, then the lower id). A worker joining gets
/// replicas by moves (`rebalancePlan`) only while the most and least loaded workers differ by
/// two or more, so the map settles and does not flap; a worker leaving (deregistered or
/// expired) has its replicas placed elsewhere in the same entry, and moves to or from it are
/// abandoned.
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

    /// Replicas per worker once the moves in progress finish.
    var projectedCounts: [WorkerID: Int] {
        var counts: [WorkerID: Int] = [:]
        for placement in placements {
            for worker in placement.workers where worker != placement.move?.from { counts[worker, default: 0] += 1 }
            if let move = placement.move { counts[move.to, default: 0] += 1 }
        }
        return counts
    }

    /// The fewest moves that even out replicas per worker (projected over moves in
    /// progress) until the most and least loaded differ by at most one: each takes a replica
    /// from the most loaded worker (ties: the smaller memory budget, then the higher id) to
    /// the least loaded that lacks that shard (ties: the larger budget, then the lower id),
    /// skipping shards already moving. A spread of one is left alone (hysteresis), so a
    /// balanced map plans nothing and the map settles.
    public func rebalancePlan(workers: [WorkerRecord], limit: Int = .max) -> [PlannedShardMove] {
        guard workers.count > 1 else { return [] }
        var counts = projectedCounts
        for worker in workers where counts[worker.id] == nil { counts[worker.id] = 0 }
        let budget = Dictionary(workers.map { ($0.id, $0.memoryBudgetBytes) }, uniquingKeysWith: { first, _ in first })
        var moving = Set(placements.indices.filter { placements[$0].move != nil })
        var plan: [PlannedShardMove] = []
        let registered = workers.map(\.id)
        while plan.count < limit {
            let byLoad = registered.sorted { left, right in
                let (l, r) = (counts[left] ?? 0, counts[right] ?? 0)
                if l != r { return l > r }
                let (lb, rb) = (budget[left] ?? 0, budget[right] ?? 0)
                if lb != rb { return lb < rb }
                return left > right
            }
            // The most loaded worker that can give a shard to the least loaded that lacks it
            // (a move's target holds nothing to give until the move finishes).
            var chosen: (position: Int, from: WorkerID, to: WorkerID)?
            search: for source in byLoad {
                for target in byLoad.reversed() {
                    guard (counts[source] ?? 0) - (counts[target] ?? 0) >= 2 else { break }
                    if let position = placements.indices.first(where: { position in
                        !moving.contains(position) && placements[position].workers.contains(source) && !placements[position].holders.contains(target)
                            && placements[position].refusedBy?.contains(target) != true
                    }) {
                        chosen = (position, source, target)
                        break search
                    }
                }
            }
            guard let chosen else { break }
            plan.append(PlannedShardMove(key: placements[chosen.position].key, from: chosen.from, to: chosen.to))
            moving.insert(chosen.position)
            counts[chosen.from, default: 0] -= 1
            counts[chosen.to, default: 0] += 1
        }
        return plan
    }

    /// Starts `move` on its shard; false (nothing changed) when it cannot start.
    mutating func start(_ planned: PlannedShardMove) -> Bool {
        guard let position = placements.firstIndex(where: { $0.key == planned.key }), placements[position].move == nil,
            placements[position].workers.contains(planned.from), !placements[position].holders.contains(planned.to)
        else { return false }
        placements[position].move = ShardMove(from: planned.from, to: planned.to)
        return true
    }

    /// Finishes the move of `key` to `to`: `to` takes `from`'s place. False when no such
    /// move is in progress.
    mutating func finishMove(of key: ShardKey, to: WorkerID) -> Bool {
        guard let position = placements.firstIndex(where: { $0.key == key }), let move = placements[position].move, move.to == to else { return false }
        if let index = placements[position].workers.firstIndex(of: move.from) {
            placements[position].workers[index] = to
        } else {
            placements[position].workers.append(to)
        }
        placements[position].move = nil
        return true
    }

    /// Places every missing replica on `workers`; true when the map changed.
    mutating func fill(workers: [WorkerRecord]) -> Bool {
        guard !workers.isEmpty else { return false }
        var counts = replicaCounts
        var changed = false
        for position in placements.indices {
            guard let spec = collections[placements[position].key.collection] else { continue }
            while placements[position].workers.count < spec.replicas {
                let excluded = Set(placements[position].holders + (placements[position].refusedBy ?? []))
                let candidates = workers.filter { !excluded.contains($0.id) }
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

    /// Takes `gone` workers out of every placement; true when the map changed. A move whose
    /// target or source left is abandoned: the source keeps serving (target gone), or the
    /// shard is refilled like any missing replica (source gone).
    mutating func remove(workers gone: Set<WorkerID>) -> Bool {
        var changed = false
        for position in placements.indices where placements[position].holders.contains(where: gone.contains) {
            placements[position].workers.removeAll(where: gone.contains)
            if let move = placements[position].move, gone.contains(move.to) || gone.contains(move.from) { placements[position].move = nil }
            changed = true
        }
        return changed
    }

    /// `worker` refused `key`'s replica: it leaves the placement (a move to or from it is
    /// abandoned) and is remembered in `refusedBy`. False when it held no replica of `key`.
    mutating func refuse(_ key: ShardKey, by worker: WorkerID) -> Bool {
        guard let position = placements.firstIndex(where: { $0.key == key }), placements[position].holders.contains(worker) else { return false }
        placements[position].workers.removeAll { $0 == worker }
        if let move = placements[position].move, move.to == worker || move.from == worker { placements[position].move = nil }
        var refused = placements[position].refusedBy ?? []
        if !refused.contains(worker) { refused.append(worker) }
        placements[position].refusedBy = refused
        return true
    }

    mutating func forgetRefusal(of worker: WorkerID, for key: ShardKey) {
        guard let position = placements.firstIndex(where: { $0.key == key }) else { return }
        _ = placements[position].forgetRefusal(of: worker)
    }

    /// Forgets `worker`'s refusals (it registered anew, or with another memory budget); true
    /// when there were any.
    mutating func forgetRefusals(of worker: WorkerID) -> Bool {
        var changed = false
        for position in placements.indices where placements[position].forgetRefusal(of: worker) { changed = true }
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

/// Moves one replica of a shard to worker `to` (from `from`, or from the holder with the
/// most replicas).
public struct MoveShard: Sendable, Hashable, Codable {
    public var collection: String
    public var shard: Int
    public var from: WorkerID?
    public var to: WorkerID

    public init(collection: String, shard: Int, from: WorkerID? = nil, to: WorkerID) {
        self.collection = collection
        self.shard = shard
        self.from = from
        self.to = to
    }
}

/// A move's target reports its replica loaded and caught up.
public struct FinishShardMove: Sendable, Hashable, Codable {
    public var collection: String
    public var shard: Int
    public var to: WorkerID

    public init(collection: String, shard: Int, to: WorkerID) {
        self.collection = collection
        self.shard = shard
        self.to = to
    }
}

/// Starts the moves that even replicas out over the workers (at most `maxMoves`).
public struct RebalanceShards: Sendable, Hashable, Codable {
    public var maxMoves: Int?

    public init(maxMoves: Int? = nil) { self.maxMoves = maxMoves }
}

/// A worker could not hold a replica it was given (`reason`: over its memory budget).
public struct RefuseShardReplica: Sendable, Hashable, Codable {
    public var worker: WorkerID
    public var collection: String
    public var shard: Int
    public var reason: String

    public init(worker: WorkerID, collection: String, shard: Int, reason: String) {
        self.worker = worker
        self.collection = collection
        self.shard = shard
        self.reason = reason
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

    /// Registered workers that serve shards (they registered a `shardAddress`: a worker
    /// without a cold store serves none), by id. Placement and moves consider only these.
    public var shardWorkers: [WorkerRecord] { workers.keys.sorted().compactMap { workers[$0] }.filter { $0.shardAddress != nil } }

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
        _ = shardMap.fill(workers: shardWorkers)
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

    /// After workers joined or left: take the gone ones out and fill missing replicas; after
    /// a worker joined (`rebalance`), also start the moves that even the map out.
    mutating func replaceShards(removing gone: Set<WorkerID>, rebalance: Bool = false) {
        guard !shardMap.isEmpty else { return }
        let registered = shardWorkers
        let removed = shardMap.remove(workers: gone)
        let filled = shardMap.fill(workers: registered)
        var started = false
        if rebalance {
            for move in shardMap.rebalancePlan(workers: registered) where shardMap.start(move) { started = true }
        }
        if removed || filled || started { shardMap.epoch += 1 }
    }

    mutating func moveShard(_ request: MoveShard) -> ClusterResult {
        let key = ShardKey(collection: request.collection, shard: request.shard)
        guard shardMap.collections[request.collection] != nil else {
            return .failure(ClusterError(.unknownCollection, "no collection named \"\(request.collection)\""))
        }
        guard let placement = shardMap.placement(of: key) else {
            return .failure(ClusterError(.invalidCommand, "collection \"\(request.collection)\" has no shard \(request.shard)"))
        }
        guard let target = workers[request.to] else { return .failure(ClusterError(.unknownWorker, "worker \(request.to) is not registered")) }
        guard target.shardAddress != nil else {
            return .failure(ClusterError(.invalidCommand, "worker \(request.to) serves no shards (it runs without DATABASE_URL)"))
        }
        if let move = placement.move {
            if move.to == request.to, request.from == nil || request.from == move.from {
                return .success(.shardMovesStarted([PlannedShardMove(key: key, from: move.from, to: move.to)], epoch: shardMap.epoch))
            }
            return .failure(ClusterError(.invalidCommand, "shard \(key) is already moving from \(move.from) to \(move.to); one move per shard at a time"))
        }
        guard !placement.workers.contains(request.to) else {
            return .failure(ClusterError(.invalidCommand, "worker \(request.to) already holds shard \(key)"))
        }
        let counts = shardMap.replicaCounts
        let from = request.from ?? placement.workers.max { (counts[$0] ?? 0, $1) < (counts[$1] ?? 0, $0) }
        guard let from, placement.workers.contains(from) else {
            return .failure(ClusterError(.invalidCommand, "shard \(key) has no replica on \(request.from.map { "\($0)" } ?? "any worker") to move"))
        }
        let planned = PlannedShardMove(key: key, from: from, to: request.to)
        guard shardMap.start(planned) else { return .failure(ClusterError(.invalidCommand, "shard \(key) cannot move from \(from) to \(request.to)")) }
        shardMap.forgetRefusal(of: request.to, for: key)  // an operator's explicit choice
        shardMap.epoch += 1
        return .success(.shardMovesStarted([planned], epoch: shardMap.epoch))
    }

    mutating func finishShardMove(_ report: FinishShardMove) -> ClusterResult {
        let key = ShardKey(collection: report.collection, shard: report.shard)
        guard let placement = shardMap.placement(of: key) else {
            return .failure(ClusterError(.unknownCollection, "no shard \(key)"))
        }
        if placement.move == nil, placement.workers.contains(report.to) {
            return .success(.shardMoveFinished(key, epoch: shardMap.epoch, finished: false))  // a retry of one that applied
        }
        guard shardMap.finishMove(of: key, to: report.to) else {
            return .failure(ClusterError(.invalidCommand, "no move of shard \(key) to \(report.to) is in progress"))
        }
        shardMap.epoch += 1
        return .success(.shardMoveFinished(key, epoch: shardMap.epoch, finished: true))
    }

    /// A worker refused a replica: it is taken off the worker and placed on another that has
    /// not refused it, in this entry (or the shard stays under-replicated until one joins).
    mutating func refuseShardReplica(_ refusal: RefuseShardReplica) -> ClusterResult {
        let key = ShardKey(collection: refusal.collection, shard: refusal.shard)
        guard shardMap.placement(of: key) != nil else { return .failure(ClusterError(.unknownCollection, "no shard \(key)")) }
        guard shardMap.refuse(key, by: refusal.worker) else {
            return .success(.shardReplicaRefused(key, epoch: shardMap.epoch, replacedBy: nil, removed: false))  // already off it
        }
        let before = shardMap.placement(of: key)?.workers ?? []
        _ = shardMap.fill(workers: shardWorkers)
        shardMap.epoch += 1
        let replacement = shardMap.placement(of: key)?.workers.first { !before.contains($0) }
        return .success(.shardReplicaRefused(key, epoch: shardMap.epoch, replacedBy: replacement, removed: true))
    }

    mutating func rebalanceShards(_ request: RebalanceShards) -> ClusterResult {
        let registered = shardWorkers
        let plan = shardMap.rebalancePlan(workers: registered, limit: request.maxMoves ?? .max).filter { shardMap.start($0) }
        if !plan.isEmpty { shardMap.epoch += 1 }
        return .success(.shardMovesStarted(plan, epoch: shardMap.epoch))
    }
}
