import Testing
@testable import NakshaVector

@Suite("HNSW snapshots")
struct HNSWSnapshotTests {
    /// An index with tombstones, replaced vectors and metadata of every kind, large enough
    /// (≥ 1,024 nodes) that searches walk 8-bit codes.
    static func mutated(metric: DistanceMetric) throws -> HNSWIndex {
        let (built, _, data) = try HNSWIndexTests.build(count: 1100, metric: metric, seed: 3)
        var index = built
        for i in stride(from: 0, to: 1100, by: 7) { index.delete(id: UInt64(i)) }
        for i in stride(from: 1, to: 1100, by: 11) {
            try index.upsert(
                id: UInt64(i), vector: data[(i * 5) % data.count],
                metadata: ["lang": .string(i % 2 == 0 ? "en" : "hi"), "year": .int(Int64(2000 + i % 25)), "score": .double(Double(i) / 7), "public": .bool(i % 3 == 0)])
        }
        return index
    }

    @Test("a loaded snapshot answers every query, filtered or not, exactly as the saved index", arguments: DistanceMetric.allCases)
    func roundTrip(metric: DistanceMetric) throws {
        let index = try Self.mutated(metric: metric)
        let loaded = try HNSWIndex(snapshot: index.snapshotBytes())
        #expect(loaded.count == index.count)
        #expect(loaded.nodeCount == index.nodeCount)
        let queries = TestData.clustered(count: 30, dimension: HNSWIndexTests.dimension, clusters: 16, spread: 0.4, seed: 77)
        let filter = MetadataFilter.and([.equals("lang", .string("hi")), .range("year", min: .int(2005), max: nil)])
        for q in queries {
            #expect(try loaded.search(q, k: 10) == (try index.search(q, k: 10)))
            #expect(try loaded.search(q, k: 5, filter: filter) == (try index.search(q, k: 5, filter: filter)))
        }
        #expect(loaded.metadata(for: 1) == index.metadata(for: 1))
    }

    @Test("mutations after loading build the same graph as mutations of the saved index")
    func continuesDeterministically() throws {
        var original = try Self.mutated(metric: .cosine)
        var loaded = try HNSWIndex(snapshot: original.snapshotBytes())
        let more = TestData.clustered(count: 150, dimension: HNSWIndexTests.dimension, clusters: 8, spread: 0.3, seed: 91)
        for (i, v) in more.enumerated() {
            try original.upsert(id: UInt64(10_000 + i), vector: v)
            try loaded.upsert(id: UInt64(10_000 + i), vector: v)
        }
        #expect(loaded.snapshotBytes() == original.snapshotBytes())
    }

    @Test("an empty index round-trips")
    func empty() throws {
        let index = try HNSWIndex(dimension: 8, metric: .squaredL2)
        let loaded = try HNSWIndex(snapshot: index.snapshotBytes())
        #expect(loaded.count == 0)
        #expect(try loaded.search([Float](repeating: 0, count: 8), k: 3).isEmpty)
    }

    @Test("every truncation is rejected with invalidSnapshot, never a crash")
    func truncated() throws {
        let (index, _, _) = try HNSWIndexTests.build(count: 40, metric: .squaredL2)
        let bytes = index.snapshotBytes()
        for length in 0..<bytes.count {
            #expect(throws: VectorError.self) { try HNSWIndex(snapshot: Array(bytes[0..<length])) }
        }
        #expect(throws: VectorError.self) { try HNSWIndex(snapshot: bytes + [0]) }
    }

    @Test("a link past the last node, an oversized link list or a wrong magic is rejected")
    func corrupted() throws {
        let (index, _, _) = try HNSWIndexTests.build(count: 50, metric: .squaredL2)
        let bytes = index.snapshotBytes()
        var badMagic = bytes
        badMagic[0] ^= 0xFF
        #expect(throws: VectorError.self) { try HNSWIndex(snapshot: badMagic) }
        // Every 4-byte word of the snapshot set to 0xFFFF_FFFF in turn: each is either
        // rejected or loads into an index whose searches still answer (no trap, no hang).
        var rejected = 0
        let query = [Float](repeating: 0.1, count: HNSWIndexTests.dimension)
        for word in stride(from: 0, to: bytes.count - 4, by: 4) {
            var damaged = bytes
            for b in 0..<4 { damaged[word + b] = 0xFF }
            do {
                let loaded = try HNSWIndex(snapshot: damaged)
                _ = try? loaded.search(query, k: 5)
            } catch {
                #expect(error.code == .invalidSnapshot || error.code == .invalidParameter || error.code == .invalidDimension)
                rejected += 1
            }
        }
        // Every vector word (NaN) and every link-count word must be caught, plus most links.
        #expect(rejected >= 50 * HNSWIndexTests.dimension + 50 + 50 * 6)
    }

    @Test("an upper-layer link to a node without that layer is refused (a search would read past its links)")
    func upperLinkToALowerNode() throws {
        var (index, _, _) = try HNSWIndexTests.build(count: 300, metric: .squaredL2)
        let upper = try #require(index.levels.firstIndex { $0 >= 1 })
        let ground = try #require(index.levels.firstIndex { $0 == 0 })
        #expect(index.upperLinks[upper][0] >= 1, "the upper node has a link on level 1")
        index.upperLinks[upper][1] = UInt32(ground)
        #expect(throws: VectorError.self) { try HNSWIndex(snapshot: index.snapshotBytes()) }
    }

    @Test("a node count times the dimension that overflows is refused, not trapped")
    func overflowingShape() throws {
        let index = try HNSWIndex(dimension: 8, metric: .squaredL2)
        var bytes = index.snapshotBytes()
        // Layout: magic (6), version (2), byte-order mark (4), dimension (4) at 12, the metric
        // name (4 + 9 bytes), m, efConstruction, efSearch (4 each), seed (8), the fraction
        // (1 + 8), generator state (8), entry point and top level (4 each): the node count at 74.
        bytes.replaceSubrange(12..<16, with: [0xFF, 0xFF, 0xFF, 0xFF])
        bytes.replaceSubrange(74..<82, with: [0xFE, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
        #expect(throws: VectorError.self) { try HNSWIndex(snapshot: bytes) }
    }
}
