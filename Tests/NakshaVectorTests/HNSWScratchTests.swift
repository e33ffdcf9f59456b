import NakshaCore
@testable import NakshaVector
import Testing

@Suite("HNSW scratch: candidate heaps, visited set, layer search")
struct HNSWScratchTests {
    /// Candidates with many distance ties (16 distinct distances) so the node tie-break matters.
    static func candidates(_ count: Int, seed: UInt64) -> [Candidate] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { i in Candidate(distance: Float(rng.next() % 16) / 4, node: UInt32(i)) }.shuffled(using: &rng)
    }

    @Test("NearestFirst pops in Candidate.precedes order, across growth", arguments: [1, 7, 64, 65, 1000])
    func nearestFirstOrder(count: Int) {
        let input = Self.candidates(count, seed: UInt64(count))
        var heap = CandidateHeap<NearestFirst>()
        defer { heap.deallocate() }
        for c in input { heap.push(c) }
        #expect(heap.count == count)
        var popped: [Candidate] = []
        while let c = heap.pop() { popped.append(c) }
        #expect(popped == input.sorted(by: Candidate.precedes))
        #expect(heap.isEmpty && heap.top == nil && heap.pop() == nil)
    }

    @Test("FarthestFirst pops in reverse Candidate.precedes order", arguments: [1, 33, 500])
    func farthestFirstOrder(count: Int) {
        let input = Self.candidates(count, seed: 99)
        var heap = CandidateHeap<FarthestFirst>()
        defer { heap.deallocate() }
        for c in input { heap.push(c) }
        var popped: [Candidate] = []
        while let c = heap.pop() { popped.append(c) }
        #expect(popped == input.sorted(by: Candidate.precedes).reversed())
    }

    @Test("interleaved pushes and pops match a sorted-array reference; removeAll empties")
    func interleaved() {
        var rng = SeededGenerator(seed: 5)
        var heap = CandidateHeap<NearestFirst>()
        defer { heap.deallocate() }
        var reference: [Candidate] = []
        for step in 0..<5000 {
            if rng.next() % 3 == 0 {
                reference.sort(by: Candidate.precedes)
                let expected = reference.isEmpty ? nil : reference.removeFirst()
                #expect(heap.pop() == expected)
            } else {
                let c = Candidate(distance: Float(rng.next() % 50), node: UInt32(step))
                heap.push(c)
                reference.append(c)
            }
            #expect(heap.count == reference.count)
            #expect(heap.top == reference.min(by: Candidate.precedes))
        }
        heap.removeAll()
        #expect(heap.isEmpty && heap.unordered.isEmpty)
    }

    @Test("a bounded FarthestFirst heap keeps the k nearest (the results-set use)")
    func boundedResults() {
        let input = Self.candidates(300, seed: 3)
        var heap = CandidateHeap<FarthestFirst>()
        defer { heap.deallocate() }
        for c in input {
            heap.push(c)
            if heap.count > 20 { heap.pop() }
        }
        #expect(Set(heap.unordered.map(\.node)) == Set(input.sorted(by: Candidate.precedes).prefix(20).map(\.node)))
    }

    @Test("visited set: marks are per search, and growth starts unvisited")
    func visitedBasics() {
        var visited = VisitedSet()
        defer { visited.deallocate() }
        visited.beginSearch(nodeCount: 10)
        #expect(visited.insert(3))
        #expect(!visited.insert(3))
        #expect(visited.contains(3) && !visited.contains(4))
        visited.beginSearch(nodeCount: 10)
        #expect(!visited.contains(3))
        #expect(visited.insert(3))
        visited.beginSearch(nodeCount: 1000)
        #expect(visited.capacity >= 1000)
        #expect((0..<1000).allSatisfy { !visited.contains(UInt32($0)) })
    }

    @Test("visited set: a mark never survives the 16-bit epoch wrap-around")
    func visitedEpochWrap() {
        var visited = VisitedSet()
        defer { visited.deallocate() }
        visited.beginSearch(nodeCount: 4)
        #expect(visited.insert(0))
        // Node 1 is marked in every search; node 0 only in the first. After 2¹⁶ searches the
        // epoch has wrapped: a stale mark equal to the new epoch would show node 0 visited.
        for _ in 0..<(Int(UInt16.max) + 10) {
            visited.beginSearch(nodeCount: 4)
            #expect(!visited.contains(0))
            #expect(visited.insert(1))
            #expect(!visited.insert(1))
        }
    }

    @Test("copies of a scratch never share buffers once used")
    func scratchCopiesAreIndependent() {
        var a = HNSWSearchScratch()
        _ = a.prepare(nodeCount: 8)
        var b = a  // shares a's storage until one of them prepares
        let aStorage = ObjectIdentifier(a.prepare(nodeCount: 8))
        let bStorage = ObjectIdentifier(b.prepare(nodeCount: 8))
        #expect(aStorage != bStorage)
        // A scratch that is not shared keeps its storage from search to search.
        #expect(ObjectIdentifier(a.prepare(nodeCount: 8)) == aStorage)
        #expect(ObjectIdentifier(b.prepare(nodeCount: 8)) == bStorage)
    }

    /// The paper's Algorithm 2 with sorted arrays: the reference `searchLayer` must match.
    static func referenceSearch(
        _ index: HNSWIndex, entry: UInt32, ef: Int, skipDeleted: Bool, admit: RowBitmap?, dist: (UInt32) -> Float
    ) -> [Candidate] {
        func admitted(_ node: UInt32) -> Bool {
            if skipDeleted && index.deleted[Int(node)] { return false }
            return admit.map { $0.contains(Int(node)) } ?? true
        }
        let filtering = admit != nil || (skipDeleted && index.liveCount != index.nodeCount)
        var visited: Set<UInt32> = [entry]
        let start = Candidate(distance: dist(entry), node: entry)
        var frontier = [start]
        var results = admitted(entry) ? [start] : []
        while !frontier.isEmpty {
            frontier.sort(by: Candidate.precedes)
            let current = frontier.removeFirst()
            let bound = results.max(by: Candidate.precedes)?.distance ?? .infinity
            if current.distance > bound && (results.count >= ef || !filtering) { break }
            let links = index.withLinks(current.node, level: 0) { Array($0) }
            for n in links where visited.insert(n).inserted {
                let dn = dist(n)
                let worst = results.max(by: Candidate.precedes)?.distance ?? .infinity
                guard results.count < ef || dn < worst else { continue }
                frontier.append(Candidate(distance: dn, node: n))
                if admitted(n) {
                    results.append(Candidate(distance: dn, node: n))
                    results.sort(by: Candidate.precedes)
                    if results.count > ef { results.removeLast() }
                }
            }
        }
        return results.sorted(by: Candidate.precedes)
    }

    @Test("layer-0 search equals the textbook algorithm, with exact and 8-bit code distances (tombstones and a filter too)",
          arguments: [1, 10, 64])
    func searchLayerMatchesReference(ef: Int) throws {
        let d = 16, n = 1100
        let data = TestData.clustered(count: n, dimension: d, clusters: 8, spread: 0.4, seed: 77)
        var index = try HNSWIndex(dimension: d, metric: .squaredL2, parameters: HNSWParameters(m: 6, efConstruction: 40, seed: 3))
        for (i, v) in data.enumerated() { try index.add(id: UInt64(i), vector: v, metadata: ["even": .int(Int64(i % 2))]) }
        for id in stride(from: UInt64(0), to: UInt64(n), by: 7) { index.delete(id: id) }
        let quantizer = try #require(index.walkQuantizer, "an index of \(n) nodes walks 8-bit codes")
        let filter = index.matches(.equals("even", .int(0)))
        let queries = TestData.clustered(count: 12, dimension: d, clusters: 8, spread: 0.5, seed: 78)
        var scratch = HNSWSearchScratch()
        for (i, q) in queries.enumerated() {
            let entry = UInt32(i * 37 % n)
            for (skip, admit) in [(false, nil), (true, nil), (true, Optional(filter))] {
                q.withUnsafeBufferPointer { qb in
                    let query = qb.baseAddress!
                    index.withExactScorer(query) { exact in
                        let expected = Self.referenceSearch(index, entry: entry, ef: ef, skipDeleted: skip, admit: admit) { exact.distance(to: $0) }
                        let start = Candidate(distance: exact.distance(to: entry), node: entry)
                        let storage = index.searchLayer(exact, entry: start, ef: ef, level: 0, scratch: &scratch, admit: admit, skipDeleted: skip)
                        #expect(storage.results.unordered.sorted(by: Candidate.precedes) == expected)
                    }
                    index.withCodeScorer(query, quantizer: quantizer) { codes in
                        let expected = Self.referenceSearch(index, entry: entry, ef: ef, skipDeleted: skip, admit: admit) { codes.distance(to: $0) }
                        let start = Candidate(distance: codes.distance(to: entry), node: entry)
                        let storage = index.searchLayer(codes, entry: start, ef: ef, level: 0, scratch: &scratch, admit: admit, skipDeleted: skip)
                        #expect(storage.results.unordered.sorted(by: Candidate.precedes) == expected)
                    }
                }
            }
        }
    }
}
