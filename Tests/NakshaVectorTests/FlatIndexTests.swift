import NakshaVector
import Testing

@Suite("Exact flat index")
struct FlatIndexTests {
    static func makeData(count: Int, dimension: Int, seed: UInt64) -> [(UInt64, [Float])] {
        let vectors = TestData.clustered(count: count, dimension: dimension, clusters: 8, spread: 0.5, seed: seed)
        return vectors.enumerated().map { (UInt64($0.offset * 3 + 1), $0.element) }
    }

    @Test("search equals brute force in Double for every metric", arguments: DistanceMetric.allCases)
    func exactAgainstBruteForce(metric: DistanceMetric) throws {
        let data = Self.makeData(count: 300, dimension: 37, seed: 5)
        var index = try FlatIndex(dimension: 37, metric: metric)
        for (id, v) in data { try index.add(id: id, vector: v) }
        let queries = TestData.clustered(count: 10, dimension: 37, clusters: 8, spread: 0.6, seed: 77)
        for q in queries {
            let found = try index.search(q, k: 10).map(\.id)
            #expect(found == TestData.bruteForce(data, query: q, k: 10, metric: metric))
        }
    }

    @Test("batched search returns the same ids as one-at-a-time search", arguments: DistanceMetric.allCases)
    func batchEqualsSingle(metric: DistanceMetric) throws {
        let data = Self.makeData(count: 530, dimension: 20, seed: 6)  // two full blocks + partial
        var index = try FlatIndex(dimension: 20, metric: metric)
        for (id, v) in data { try index.add(id: id, vector: v) }
        let queries = TestData.clustered(count: 131, dimension: 20, clusters: 8, spread: 0.6, seed: 78)
        let batch = try index.search(batch: queries.flatMap { $0 }, k: 7)
        #expect(batch.count == 131)
        for (q, result) in zip(queries, batch) {
            let single = try index.search(q, k: 7)
            #expect(result.map(\.id) == single.map(\.id))
            for (x, y) in zip(result, single) { #expect(abs(x.distance - y.distance) <= 1e-3 * max(1, abs(y.distance))) }
        }
    }

    @Test("upsert replaces, delete removes, and the remaining results stay exact")
    func upsertAndDelete() throws {
        var index = try FlatIndex(dimension: 4, metric: .squaredL2)
        try index.add(id: 10, vector: [0, 0, 0, 0])
        try index.add(id: 20, vector: [1, 0, 0, 0])
        try index.add(id: 30, vector: [2, 0, 0, 0])
        #expect(try index.search([0, 0, 0, 0], k: 1).map(\.id) == [10])
        try index.upsert(id: 10, vector: [5, 0, 0, 0])
        #expect(index.count == 3)
        #expect(try index.search([0, 0, 0, 0], k: 3).map(\.id) == [20, 30, 10])
        let firstDelete = index.delete(id: 20)
        let secondDelete = index.delete(id: 20)
        #expect(firstDelete)
        #expect(!secondDelete)
        #expect(try index.search([0, 0, 0, 0], k: 3).map(\.id) == [30, 10])
        #expect(index.vector(for: 10) == [5, 0, 0, 0])
        #expect(index.vector(for: 20) == nil)
    }

    @Test("wrong dimension, duplicate id, bad k and non-finite input are typed errors")
    func typedErrors() throws {
        var index = try FlatIndex(dimension: 3, metric: .innerProduct)
        try index.add(id: 1, vector: [1, 2, 3])
        #expect(throws: VectorError.self) { try index.add(id: 2, vector: [1, 2]) }
        do {
            _ = try index.search([1, 2], k: 1)
            Issue.record("expected a dimension error")
        } catch {
            #expect(error.code == .dimensionMismatch)
            #expect(error.message.contains("dimension is 3"))
        }
        do { try index.add(id: 1, vector: [1, 1, 1]); Issue.record("expected duplicate") } catch {
            #expect(error.code == .duplicateID)
        }
        do { _ = try index.search([1, 1, 1], k: -1); Issue.record("expected bad k") } catch {
            #expect(error.code == .invalidParameter)
        }
        do { try index.add(id: 5, vector: [1, .nan, 1]); Issue.record("expected non-finite") } catch {
            #expect(error.code == .nonFiniteValue)
        }
        do { _ = try index.search(batch: [1, 2, 3, 4], k: 1); Issue.record("expected shape") } catch {
            #expect(error.code == .batchShapeMismatch)
        }
        do { _ = try FlatIndex(dimension: 0, metric: .cosine); Issue.record("expected dim") } catch {
            #expect(error.code == .invalidDimension)
        }
        #expect(index.count == 1)
    }

    @Test("empty index and k larger than count")
    func emptyAndLargeK() throws {
        var index = try FlatIndex(dimension: 2, metric: .cosine)
        #expect(try index.search([1, 0], k: 5).isEmpty)
        try index.add(id: 1, vector: [1, 0])
        try index.add(id: 2, vector: [0, 1])
        #expect(try index.search([1, 0], k: 10).map(\.id) == [1, 2])
        #expect(try index.search([1, 0], k: 0).isEmpty)
    }

    @Test("two shards merged equal one index (the router's scatter/gather)")
    func shardedEqualsSingle() throws {
        let data = Self.makeData(count: 400, dimension: 16, seed: 8)
        var whole = try FlatIndex(dimension: 16, metric: .innerProduct)
        var shards = [try FlatIndex(dimension: 16, metric: .innerProduct), try FlatIndex(dimension: 16, metric: .innerProduct)]
        for (id, v) in data {
            try whole.add(id: id, vector: v)
            try shards[Int(id % 2)].add(id: id, vector: v)
        }
        for q in TestData.clustered(count: 5, dimension: 16, clusters: 3, spread: 1, seed: 3) {
            let merged = ShardMerge.merge(try shards.map { try $0.search(q, k: 10) }, k: 10)
            #expect(merged == (try whole.search(q, k: 10)))
        }
    }
}
