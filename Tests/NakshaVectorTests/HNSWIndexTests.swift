import NakshaVector
import Testing

@Suite("HNSW index")
struct HNSWIndexTests {
    static let dimension = 24

    static func build(count: Int, metric: DistanceMetric, seed: UInt64 = 1) throws -> (HNSWIndex, FlatIndex, [[Float]]) {
        var data = TestData.clustered(count: count, dimension: dimension, clusters: 16, spread: 0.35, seed: 31)
        // Inner product over vectors of different lengths is maximum-inner-product search,
        // which graph indexes do not answer well (a vector need not be its own nearest
        // neighbour); the supported use is unit vectors, where it ranks like cosine.
        if metric == .innerProduct { data = data.map(TestData.normalized) }
        var hnsw = try HNSWIndex(dimension: dimension, metric: metric, parameters: HNSWParameters(m: 12, efConstruction: 80, efSearch: 64, seed: seed))
        var flat = try FlatIndex(dimension: dimension, metric: metric)
        for (i, v) in data.enumerated() {
            try hnsw.add(id: UInt64(i), vector: v)
            try flat.add(id: UInt64(i), vector: v)
        }
        return (hnsw, flat, data)
    }

    @Test("recall@10 ≥ 0.95 against the flat index on clustered data", arguments: DistanceMetric.allCases)
    func recall(metric: DistanceMetric) throws {
        let (hnsw, flat, _) = try Self.build(count: 1500, metric: metric)
        var queries = TestData.clustered(count: 40, dimension: Self.dimension, clusters: 16, spread: 0.4, seed: 32)
        if metric == .innerProduct { queries = queries.map(TestData.normalized) }
        var scratch = HNSWSearchScratch()
        var total = 0.0
        for q in queries {
            let found = try hnsw.search(q, k: 10, scratch: &scratch)
            #expect(found == found.sorted(by: Neighbor.precedes))
            total += TestData.recall(found.map(\.id), try flat.search(q, k: 10).map(\.id))
        }
        #expect(total / Double(queries.count) >= 0.95)
    }

    @Test("the same seed and inputs build the same graph and answer identically")
    func deterministic() throws {
        let (a, _, data) = try Self.build(count: 400, metric: .squaredL2, seed: 7)
        let (b, _, _) = try Self.build(count: 400, metric: .squaredL2, seed: 7)
        for q in data.prefix(20) {
            #expect(try a.search(q, k: 5, efSearch: 16) == b.search(q, k: 5, efSearch: 16))
        }
    }

    @Test("tombstoned ids are never returned, even with k ≥ count")
    func tombstones() throws {
        var (hnsw, _, data) = try Self.build(count: 600, metric: .innerProduct)
        for id in stride(from: UInt64(0), to: 600, by: 2) { hnsw.delete(id: id) }
        #expect(hnsw.count == 300)
        for q in data.prefix(15) {
            let found = try hnsw.search(q, k: 20)
            #expect(found.count == 20)
            #expect(found.allSatisfy { $0.id % 2 == 1 })
        }
        let everything = try hnsw.search(data[1], k: 1000, efSearch: 1000)
        #expect(everything.allSatisfy { $0.id % 2 == 1 })
        #expect(everything.count <= 300)
        #expect(Set(everything.map(\.id)).count == everything.count)
    }

    @Test("upsert replaces the vector: the old position no longer matches")
    func upsertReplaces() throws {
        var index = try HNSWIndex(dimension: 2, metric: .squaredL2)
        for i in 0..<50 { try index.add(id: UInt64(i), vector: [Float(i), 0]) }
        try index.upsert(id: 10, vector: [100, 0])
        #expect(index.count == 50)
        #expect(try index.search([10, 0], k: 1).map(\.id) == [9])
        #expect(try index.search([100, 0], k: 1).map(\.id) == [10])
    }

    @Test("empty index, k = 0, k > count, and typed errors")
    func edgeCases() throws {
        var index = try HNSWIndex(dimension: 3, metric: .cosine)
        #expect(try index.search([1, 0, 0], k: 5).isEmpty)
        try index.add(id: 1, vector: [1, 0, 0])
        try index.add(id: 2, vector: [0, 1, 0])
        #expect(try index.search([1, 0, 0], k: 0).isEmpty)
        #expect(try index.search([1, 0, 0], k: 10).map(\.id) == [1, 2])
        do { _ = try index.search([1, 0], k: 1); Issue.record("expected dimension error") } catch {
            #expect(error.code == .dimensionMismatch)
        }
        do { _ = try index.search([1, 0, 0], k: 1, efSearch: 0); Issue.record("expected ef error") } catch {
            #expect(error.code == .invalidParameter)
        }
        do { try index.add(id: 1, vector: [0, 0, 1]); Issue.record("expected duplicate") } catch {
            #expect(error.code == .duplicateID)
        }
        do { _ = try HNSWIndex(dimension: 3, metric: .cosine, parameters: HNSWParameters(m: 1)); Issue.record("expected m error") } catch {
            #expect(error.code == .invalidParameter)
        }
        index.delete(id: 1)
        index.delete(id: 2)
        #expect(try index.search([1, 0, 0], k: 3).isEmpty)
    }
}
