import NakshaCore
import NakshaVector
import Testing

@Suite("Top-k selection and shard merge")
struct TopKTests {
    @Test("keeps the k smallest distances, best first", arguments: [1, 3, 10, 50])
    func keepsBest(k: Int) {
        var rng = SeededGenerator(seed: 9)
        let candidates = (0..<200).map { Neighbor(id: UInt64($0), distance: rng.nextUnitFloat()) }
        var top = TopK(k: k)
        for c in candidates { top.insert(id: c.id, distance: c.distance) }
        #expect(top.sorted() == Array(candidates.sorted(by: Neighbor.precedes).prefix(k)))
    }

    @Test("ties on distance are broken by smaller id, independent of arrival order")
    func tieBreakByID() {
        let ids: [UInt64] = [9, 3, 7, 1, 5, 2, 8]
        var forward = TopK(k: 3), backward = TopK(k: 3)
        for id in ids { forward.insert(id: id, distance: 0.5) }
        for id in ids.reversed() { backward.insert(id: id, distance: 0.5) }
        #expect(forward.sorted().map(\.id) == [1, 2, 3])
        #expect(backward.sorted() == forward.sorted())
    }

    @Test("NaN distances are never kept")
    func nanDropped() {
        var top = TopK(k: 2)
        top.insert(id: 1, distance: .nan)
        top.insert(id: 2, distance: 3)
        top.insert(id: 3, distance: .nan)
        #expect(top.sorted() == [Neighbor(id: 2, distance: 3)])
    }

    @Test("k = 0 keeps nothing")
    func zeroK() {
        var top = TopK(k: 0)
        top.insert(id: 1, distance: 0)
        #expect(top.sorted().isEmpty)
        #expect(top.threshold == -.infinity)
    }

    @Test("merge equals sorting the union, for any split into shards", arguments: [1, 2, 5, 16])
    func mergeEqualsGlobalSort(shards: Int) {
        var rng = SeededGenerator(seed: UInt64(shards))
        let all = (0..<300).map { Neighbor(id: UInt64($0), distance: Float(rng.next() % 50)) }  // many ties
        var lists = Array(repeating: [Neighbor](), count: shards)
        for n in all { lists[Int(n.id) % shards].append(n) }
        let perShard = lists.map { Array($0.sorted(by: Neighbor.precedes).prefix(10)) }
        #expect(ShardMerge.merge(perShard, k: 10) == Array(all.sorted(by: Neighbor.precedes).prefix(10)))
    }

    @Test("merge keeps one entry per id when replicas overlap, and handles empty lists")
    func mergeDeduplicates() {
        let a = [Neighbor(id: 1, distance: 0.1), Neighbor(id: 2, distance: 0.2)]
        let b = [Neighbor(id: 1, distance: 0.1), Neighbor(id: 3, distance: 0.3)]
        #expect(ShardMerge.merge([a, [], b], k: 5).map(\.id) == [1, 2, 3])
        #expect(ShardMerge.merge([], k: 5).isEmpty)
        #expect(ShardMerge.merge([a], k: 0).isEmpty)
    }
}
