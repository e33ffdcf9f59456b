import NakshaCore
import Testing

@testable import NakshaState

/// The shard map in `ClusterState`: collections, replica placement balanced over workers,
/// re-placement when workers leave, the epoch, and snapshots.
@Suite struct ShardMapTests {
    static func spec(_ name: String = "docs", shards: Int = 4, replicas: Int = 2) -> CollectionSpec {
        CollectionSpec(name: name, dimension: 384, metric: .cosine, index: .hnsw, shards: shards, replicas: replicas)
    }

    static func check(_ map: ShardMap, workers: Int) {
        for placement in map.placements {
            let spec = map.collections[placement.key.collection]
            #expect(Set(placement.workers).count == placement.workers.count, "\(placement.key): two replicas on one worker")
            #expect(placement.workers.count == min(spec?.replicas ?? 0, workers), "\(placement.key): \(placement.workers)")
        }
        let counts = map.replicaCounts.values
        if let low = counts.min(), let high = counts.max(), counts.count == workers { #expect(high - low <= 1, "balanced: \(map.replicaCounts)") }
    }

    @Test func aCollectionIsPlacedBalancedAndIdempotently() throws {
        var harness = Harness()
        for index in 0..<3 { harness.addWorker(WorkerID(rawValue: "w\(index)"), shardAddress: "10.0.0.1:7400") }
        let created = harness.apply(.createCollection(CreateCollection(Self.spec())))
        guard case .success(.collectionCreated("docs", let epoch, true)) = created else {
            Issue.record("\(created)")
            return
        }
        let map = harness.state.shards
        #expect(map.placements.count == 4 && map.epoch == epoch)
        Self.check(map, workers: 3)
        #expect(map.replicaCounts.values.sorted() == [2, 3, 3], "8 replicas over 3 workers")
        // The same shape again is the same collection; another shape is refused.
        #expect(harness.apply(.createCollection(CreateCollection(Self.spec()))) == .success(.collectionCreated("docs", epoch: epoch, created: false)))
        #expect(harness.apply(.createCollection(CreateCollection(Self.spec(shards: 8)))).errorCode == .invalidCommand)
        #expect(harness.state.shards.epoch == epoch, "a refused or repeated create changes nothing")
    }

    @Test func badShapesAreRefused() {
        var harness = Harness()
        for bad in [Self.spec(""), Self.spec("a b"), Self.spec(shards: 0), Self.spec(replicas: 0), Self.spec(shards: 5000)] {
            #expect(harness.apply(.createCollection(CreateCollection(bad))).errorCode == .invalidCommand, "\(bad)")
        }
        var wide = Self.spec()
        wide.dimension = 0
        #expect(harness.apply(.createCollection(CreateCollection(wide))).errorCode == .invalidCommand)
        #expect(harness.apply(.dropCollection("nope")).errorCode == .unknownCollection)
        #expect(harness.state.shards == ShardMap())
    }

    @Test func workersJoiningFillMissingReplicasAndLeavingOnesArePlacedElsewhere() throws {
        var harness = Harness()
        harness.apply(.createCollection(CreateCollection(Self.spec(replicas: 3))))
        #expect(harness.state.shards.placements.allSatisfy { $0.workers.isEmpty }, "no worker yet: nothing placed")
        harness.addWorker("w0", shardAddress: "10.0.0.1:7400")
        Self.check(harness.state.shards, workers: 1)
        harness.addWorker("w1", shardAddress: "10.0.0.1:7400")
        harness.addWorker("w2", shardAddress: "10.0.0.1:7400")
        harness.addWorker("w3", shardAddress: "10.0.0.1:7400")
        let before = harness.state.shards
        Self.check(before, workers: 4)
        #expect(before.placements.allSatisfy { $0.workers.count == 3 })
        // A fifth worker takes nothing at once: replicas move to it one shard at a time, each
        // source serving until the move finishes.
        harness.addWorker("w4", shardAddress: "10.0.0.1:7400")
        #expect(harness.state.shards.placements.map(\.workers) == before.placements.map(\.workers))
        let newMoves = zip(before.placements, harness.state.shards.placements).compactMap { old, new in old.move == nil ? new.move : nil }
        #expect(!newMoves.isEmpty && newMoves.allSatisfy { $0.to == "w4" }, "\(before.placements) then \(harness.state.shards.placements)")
        harness.apply(.deregisterWorker("w1"))
        let after = harness.state.shards
        #expect(after.epoch > before.epoch)
        #expect(after.placements.allSatisfy { $0.workers.count == 3 && !$0.workers.contains("w1") })
        #expect(after.replicaCounts["w4"] ?? 0 > 0, "w1's replicas went to the worker with the fewest")
        // Replicas that stayed where they were did not move.
        for (old, new) in zip(before.placements, after.placements) {
            #expect(old.workers.filter { $0 != "w1" }.allSatisfy(new.workers.contains))
        }
    }

    @Test func aJoiningWorkerGetsTheFewestMovesThatBalanceAndTheMapSettles() throws {
        var harness = Harness()
        for index in 0..<3 { harness.addWorker(WorkerID(rawValue: "w\(index)"), shardAddress: "10.0.0.1:7400") }
        harness.apply(.createCollection(CreateCollection(Self.spec())))
        #expect(harness.state.shards.replicaCounts.values.sorted() == [2, 3, 3])
        // A spread of one is left alone.
        #expect(harness.apply(.rebalanceShards(RebalanceShards())) == .success(.shardMovesStarted([], epoch: harness.state.shards.epoch)))
        let epoch = harness.state.shards.epoch
        harness.addWorker("w3", shardAddress: "10.0.0.1:7400")
        let moving = harness.state.shards.placements.filter { $0.move != nil }
        #expect(moving.count == 2 && moving.allSatisfy { $0.move?.to == "w3" }, "8 replicas over 4 workers: two moves, \(moving)")
        #expect(harness.state.shards.epoch == epoch + 1)
        // Sources keep serving until the target reports ready; the router asks only `workers`.
        #expect(harness.state.shards.replicaCounts["w3"] == nil)
        for placement in moving {
            let finish = FinishShardMove(collection: "docs", shard: placement.key.shard, to: "w3")
            let next = harness.state.shards.epoch + 1
            #expect(harness.apply(.finishShardMove(finish)) == .success(.shardMoveFinished(placement.key, epoch: next, finished: true)))
            #expect(harness.apply(.finishShardMove(finish)) == .success(.shardMoveFinished(placement.key, epoch: next, finished: false)), "a repeat")
        }
        Self.check(harness.state.shards, workers: 4)
        #expect(harness.state.shards.replicaCounts.values.sorted() == [2, 2, 2, 2])
        #expect(harness.state.shards.placements.allSatisfy { $0.move == nil })
        let settled = harness.state.shards
        #expect(harness.apply(.rebalanceShards(RebalanceShards())) == .success(.shardMovesStarted([], epoch: settled.epoch)), "settled: nothing to do")
        #expect(harness.state.shards == settled)
    }

    @Test func aMoveIsOnePerShardAndRollsBackWhenItsTargetLeaves() throws {
        var harness = Harness()
        for index in 0..<3 { harness.addWorker(WorkerID(rawValue: "w\(index)"), shardAddress: "10.0.0.1:7400") }
        harness.apply(.createCollection(CreateCollection(Self.spec(shards: 1, replicas: 1))))
        let holder = try #require(harness.state.shards.placements.first?.workers.first)
        let target: WorkerID = holder == "w2" ? "w1" : "w2"
        let other: WorkerID = ["w0", "w1", "w2"].first { $0 != holder && $0 != target }!
        let started = harness.apply(.moveShard(MoveShard(collection: "docs", shard: 0, to: target)))
        guard case .success(.shardMovesStarted(let moves, _)) = started else {
            Issue.record("\(started)")
            return
        }
        #expect(moves == [PlannedShardMove(key: ShardKey(collection: "docs", shard: 0), from: holder, to: target)])
        #expect(harness.apply(.moveShard(MoveShard(collection: "docs", shard: 0, to: target))) == started, "a repeat is the same move")
        #expect(harness.apply(.moveShard(MoveShard(collection: "docs", shard: 0, to: other))).errorCode == .invalidCommand, "one move per shard")
        #expect(harness.apply(.moveShard(MoveShard(collection: "docs", shard: 9, to: other))).errorCode == .invalidCommand)
        #expect(harness.apply(.moveShard(MoveShard(collection: "nope", shard: 0, to: other))).errorCode == .unknownCollection)
        #expect(harness.apply(.finishShardMove(FinishShardMove(collection: "docs", shard: 0, to: other))).errorCode == .invalidCommand)
        // A snapshot taken mid-move restores it.
        let restored = try ClusterState.decode(harness.state.encoded())
        #expect(restored == harness.state && restored.shards.placements[0].move == ShardMove(from: holder, to: target))
        // The target leaves before it is ready: the move is abandoned, the source still serves.
        harness.apply(.deregisterWorker(target))
        #expect(harness.state.shards.placements[0].workers == [holder] && harness.state.shards.placements[0].move == nil)
    }

    @Test func aRefusedReplicaIsPlacedOnAnotherWorkerAndNeverBackUntilTheBudgetChanges() throws {
        var harness = Harness()
        harness.apply(.registerWorker(RegisterWorker(worker: "small", capacity: 4, memoryBudgetBytes: 1 << 40, shardAddress: "10.0.0.1:7400")))
        harness.apply(.createCollection(CreateCollection(Self.spec(shards: 1, replicas: 1))))
        let key = ShardKey(collection: "docs", shard: 0)
        #expect(harness.state.shards.placement(of: key)?.workers == ["small"])
        let refusal = RefuseShardReplica(worker: "small", collection: "docs", shard: 0, reason: "memory budget")
        let epoch = harness.state.shards.epoch

        // No other worker: the shard is left without a replica (under-replicated), not on the refuser.
        #expect(harness.apply(.refuseShardReplica(refusal)) == .success(.shardReplicaRefused(key, epoch: epoch + 1, replacedBy: nil, removed: true)))
        #expect(harness.state.shards.placement(of: key)?.workers == [])
        #expect(harness.state.shards.placement(of: key)?.refusedBy == ["small"])
        // Repeated (a retry): nothing changes.
        #expect(harness.apply(.refuseShardReplica(refusal)) == .success(.shardReplicaRefused(key, epoch: epoch + 1, replacedBy: nil, removed: false)))
        // Registering again with the same budget (a reconnect) keeps the refusal.
        harness.apply(.registerWorker(RegisterWorker(worker: "small", capacity: 4, memoryBudgetBytes: 1 << 40, shardAddress: "10.0.0.1:7400")))
        #expect(harness.state.shards.placement(of: key)?.workers == [])

        // A worker joins: the replica goes there; a rebalance never moves it back to the refuser.
        harness.addWorker("big", shardAddress: "10.0.0.2:7400")
        #expect(harness.state.shards.placement(of: key)?.workers == ["big"])
        harness.apply(.createCollection(CreateCollection(Self.spec("more", shards: 4, replicas: 1))))
        let plan = harness.state.shards.rebalancePlan(workers: harness.state.shardWorkers)
        #expect(!plan.contains { $0.key == key && $0.to == "small" }, "\(plan)")

        // Refused by its second worker too: nowhere left.
        let second = RefuseShardReplica(worker: "big", collection: "docs", shard: 0, reason: "memory budget")
        guard case .success(.shardReplicaRefused(_, _, nil, true)) = harness.apply(.refuseShardReplica(second)) else {
            Issue.record("the second refusal")
            return
        }
        #expect(harness.state.shards.placement(of: key)?.refusedBy == ["small", "big"])

        // "small" comes back with another budget: its refusals are forgotten and it is filled again.
        harness.apply(.registerWorker(RegisterWorker(worker: "small", capacity: 4, memoryBudgetBytes: 1 << 41, shardAddress: "10.0.0.1:7400")))
        #expect(harness.state.shards.placement(of: key)?.workers == ["small"])
        #expect(harness.state.shards.placement(of: key)?.refusedBy == ["big"])
        // An operator's move to a refuser is its explicit choice: the refusal is forgotten.
        #expect(harness.apply(.moveShard(MoveShard(collection: "docs", shard: 0, to: "big"))).errorCode == nil)
        #expect(harness.state.shards.placement(of: key)?.refusedBy == nil)
        #expect(harness.apply(.refuseShardReplica(RefuseShardReplica(worker: "w9", collection: "nope", shard: 0, reason: "x"))).errorCode == .unknownCollection)
        // The encoding round-trips with refusals.
        let restored = try ClusterState.decode(harness.state.encoded())
        #expect(restored.shards == harness.state.shards)
    }

    @Test func aWorkerThatServesNoShardsGetsNoReplicaAndNoMove() throws {
        var harness = Harness()
        harness.addWorker("w0", shardAddress: "10.0.0.1:7400")
        harness.addWorker("jobs-only")  // no cold store: no shard address
        harness.apply(.createCollection(CreateCollection(Self.spec(shards: 2, replicas: 2))))
        #expect(harness.state.shards.placements.allSatisfy { $0.workers == ["w0"] }, "\(harness.state.shards.placements)")
        #expect(harness.apply(.moveShard(MoveShard(collection: "docs", shard: 0, to: "jobs-only"))).errorCode == .invalidCommand)
        #expect(harness.apply(.rebalanceShards(RebalanceShards())) == .success(.shardMovesStarted([], epoch: harness.state.shards.epoch)))
    }

    @Test func dropAndSnapshotKeepTheMapAndItsEpoch() throws {
        var harness = Harness()
        harness.addWorker("w0", shardAddress: "10.0.0.1:7400")
        harness.addWorker("w1", shardAddress: "10.0.0.1:7400")
        harness.apply(.createCollection(CreateCollection(Self.spec("a"))))
        harness.apply(.createCollection(CreateCollection(Self.spec("b", shards: 2, replicas: 1))))
        let restored = try ClusterState.decode(harness.state.encoded())
        #expect(restored == harness.state && restored.encoded() == harness.state.encoded())
        #expect(harness.apply(.dropCollection("a")) == .success(.collectionDropped("a", epoch: 3)))
        #expect(harness.state.shards.placements.map(\.key.collection) == ["b", "b"])
        harness.apply(.dropCollection("b"))
        let empty = try ClusterState.decode(harness.state.encoded())
        #expect(empty.shards.epoch == 4 && empty.shards.collections.isEmpty, "the epoch survives a restore after the last drop")
    }

    @Test func shardHashIsStable() {
        // Part of the data format: these values must never change.
        #expect(ShardHash.shard(of: "doc-1", shardCount: 8) == Int(FNV1a.hash("doc-1".utf8) % 8))
        #expect((0..<1000).map { ShardHash.shard(of: "id-\($0)", shardCount: 4) }.reduce(into: [0, 0, 0, 0]) { $0[$1] += 1 }.allSatisfy { $0 > 200 },
            "ids spread over shards")
        #expect(ShardHash.shard(of: "", shardCount: 1) == 0)
    }
}
