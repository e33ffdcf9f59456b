import NakshaVector
import Testing

@Suite("Metadata filters")
struct MetadataFilterTests {
    static let dimension = 16

    /// 2000 vectors; `bucket` = id % 100 so `bucket < p` selects p % of the vectors.
    static func metadata(_ id: Int) -> [String: MetadataValue] {
        ["bucket": .int(Int64(id % 100)), "lang": .string(id % 3 == 0 ? "en" : "de"),
         "score": .double(Double(id % 10) / 10), "public": .bool(id % 2 == 0)]
    }

    @Test("equality, range, in, and/or/not select exactly the rows they describe")
    func predicateSemantics() throws {
        var index = try FlatIndex(dimension: 2, metric: .squaredL2)
        for i in 0..<30 { try index.add(id: UInt64(i), vector: [Float(i), 0], metadata: Self.metadata(i)) }
        func ids(_ f: MetadataFilter) throws -> Set<UInt64> { Set(try index.search([0, 0], k: 100, filter: f).map(\.id)) }
        #expect(try ids(.equals("lang", .string("en"))) == Set(stride(from: 0, to: 30, by: 3).map(UInt64.init)))
        #expect(try ids(.range("bucket", min: .int(5), max: .int(7))) == [5, 6, 7])
        #expect(try ids(.range("score", min: .double(0.85), max: nil)) == [9, 19, 29])
        #expect(try ids(.range("bucket", min: nil, max: .double(1.5))) == [0, 1])
        #expect(try ids(.isIn("bucket", [.int(3), .int(29), .string("3")])) == [3, 29])
        #expect(try ids(.and([.equals("public", .bool(true)), .range("bucket", min: .int(20), max: nil)])) == [20, 22, 24, 26, 28])
        #expect(try ids(.or([.equals("bucket", .int(1)), .equals("bucket", .int(2))])) == [1, 2])
        #expect(try ids(.not(.range("bucket", min: .int(1), max: nil))) == [0])
        #expect(try ids(.equals("missing", .int(1))).isEmpty)
        #expect(try ids(.equals("bucket", .double(4))) == [4])  // int/double compare numerically
    }

    @Test("flat filtered search is exact at 50 %, 10 % and 1 % selectivity", arguments: [50, 10, 1])
    func flatFilteredExact(percent: Int) throws {
        let data = TestData.clustered(count: 2000, dimension: Self.dimension, clusters: 10, spread: 0.4, seed: 41)
        var index = try FlatIndex(dimension: Self.dimension, metric: .innerProduct)
        for (i, v) in data.enumerated() { try index.add(id: UInt64(i), vector: v, metadata: Self.metadata(i)) }
        let filter = MetadataFilter.range("bucket", min: nil, max: .int(Int64(percent - 1)))
        let pairs = data.enumerated().filter { $0.offset % 100 < percent }.map { (UInt64($0.offset), $0.element) }
        for q in TestData.clustered(count: 10, dimension: Self.dimension, clusters: 10, spread: 0.5, seed: 42) {
            let found = try index.search(q, k: 10, filter: filter)
            #expect(found.map(\.id) == TestData.bruteForce(pairs, query: q, k: 10, metric: .innerProduct))
            #expect(try index.search(q, k: 10, matching: index.matches(filter)) == found)
        }
    }

    @Test("HNSW filtered search keeps recall at 50 %, 10 % and 1 % selectivity", arguments: [50, 10, 1])
    func hnswFilteredRecall(percent: Int) throws {
        let data = TestData.clustered(count: 2000, dimension: Self.dimension, clusters: 10, spread: 0.4, seed: 43)
        var hnsw = try HNSWIndex(dimension: Self.dimension, metric: .squaredL2, parameters: HNSWParameters(m: 12, efConstruction: 60, efSearch: 64, exactScanBelowFraction: 0.05))
        for (i, v) in data.enumerated() { try hnsw.add(id: UInt64(i), vector: v, metadata: Self.metadata(i)) }
        let filter = MetadataFilter.range("bucket", min: nil, max: .int(Int64(percent - 1)))
        let pairs = data.enumerated().filter { $0.offset % 100 < percent }.map { (UInt64($0.offset), $0.element) }
        var scratch = HNSWSearchScratch()
        var total = 0.0
        let queries = TestData.clustered(count: 20, dimension: Self.dimension, clusters: 10, spread: 0.5, seed: 44)
        for q in queries {
            let found = try hnsw.search(q, k: 10, filter: filter, scratch: &scratch)
            #expect(found.allSatisfy { Int($0.id) % 100 < percent })
            total += TestData.recall(found.map(\.id), TestData.bruteForce(pairs, query: q, k: 10, metric: .squaredL2))
        }
        let recall = total / Double(queries.count)
        // 1 % is below exactScanBelowFraction (5 %): answered by the exact fallback.
        #expect(recall >= (percent == 1 ? 1.0 : 0.95), "recall \(recall) at \(percent)%")
    }

    @Test("the default cost rule scans exactly when a walk would compute more distances")
    func costRule() throws {
        var hnsw = try HNSWIndex(dimension: 2, metric: .squaredL2, parameters: HNSWParameters(m: 4, efConstruction: 8))
        for i in 0..<3000 { try hnsw.add(id: UInt64(i), vector: [Float(i), 0], metadata: Self.metadata(i)) }
        // 1 %: 30 matches ≤ 1.5·16·8/0.01 → exact; 50 %: 1500 > 1.5·16·8/0.5 = 384 → walk.
        #expect(hnsw.usesExactScan(matching: hnsw.matches(.range("bucket", min: nil, max: .int(0))), efSearch: 16))
        #expect(!hnsw.usesExactScan(matching: hnsw.matches(.range("bucket", min: nil, max: .int(49))), efSearch: 16))
        #expect(hnsw.usesExactScan(matching: hnsw.matches(.equals("bucket", .int(1000))), efSearch: 16))
        let found = try hnsw.search([1234, 0], k: 3, efSearch: 16, filter: .range("bucket", min: nil, max: .int(0)))
        #expect(found.map(\.id) == [1200, 1300, 1100])
    }

    @Test("a stale filter bitmap is rejected with a typed error")
    func staleBitmap() throws {
        var index = try FlatIndex(dimension: 2, metric: .squaredL2)
        try index.add(id: 1, vector: [0, 0], metadata: ["a": .int(1)])
        let bitmap = index.matches(.equals("a", .int(1)))
        try index.add(id: 2, vector: [1, 0], metadata: ["a": .int(1)])
        do { _ = try index.search([0, 0], k: 1, matching: bitmap); Issue.record("expected stale error") } catch {
            #expect(error.code == .invalidParameter)
        }
    }
}
