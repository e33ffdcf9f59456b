import NakshaCore
import Testing
@testable import NakshaVector

@Suite("HNSW search walk on 8-bit codes")
struct HNSWQuantizedWalkTests {
    static let dimension = 20

    static func index(count: Int, metric: DistanceMetric) throws -> (HNSWIndex, [[Float]]) {
        var data = TestData.clustered(count: count, dimension: dimension, clusters: 12, spread: 0.4, seed: 5)
        if metric == .innerProduct { data = data.map(TestData.normalized) }
        var index = try HNSWIndex(dimension: dimension, metric: metric, parameters: HNSWParameters(m: 12, efConstruction: 80, seed: 9))
        for (i, v) in data.enumerated() { try index.add(id: UInt64(i), vector: v) }
        return (index, data)
    }

    @Test("codes appear at 1,024 nodes, are re-trained on the first 2^k nodes at each doubling, and equal a rebuild")
    func codesFollowTheStoredVectors() throws {
        let d = Self.dimension
        let data = TestData.clustered(count: 2100, dimension: d, clusters: 12, spread: 0.4, seed: 5)
        var index = try HNSWIndex(dimension: d, metric: .squaredL2, parameters: HNSWParameters(m: 8, efConstruction: 40, seed: 9))
        for (i, v) in data.enumerated() {
            try index.add(id: UInt64(i), vector: v)
            let count = i + 1
            if count == 1023 { #expect(index.walkQuantizer == nil && index.codes.isEmpty) }
            if count == 1024 || count == 2048 {
                let trained = ScalarQuantizer(dimension: d, ranges: .perDimension, samples: Array(data.prefix(count).joined()))
                #expect(index.walkQuantizer == trained)
            }
            if count >= 1024 { #expect(index.codes.count == count * d) }
        }
        index.delete(id: 3)
        try index.upsert(id: 4, vector: data[9])
        var rebuilt = index
        rebuilt.rebuildWalkCodes()
        #expect(rebuilt.walkQuantizer == index.walkQuantizer)
        #expect(rebuilt.codes == index.codes)
        let loaded = try HNSWIndex(snapshot: index.snapshotBytes())
        #expect(loaded.walkQuantizer == index.walkQuantizer)
        #expect(loaded.codes == index.codes)
    }

    @Test("the code estimate is the exact distance to the decoded vector, which is within half a step of the stored one",
          arguments: DistanceMetric.allCases)
    func estimateIsDistanceToDecoded(metric: DistanceMetric) throws {
        let (index, _) = try Self.index(count: 1100, metric: metric)
        let quantizer = try #require(index.walkQuantizer)
        let d = Self.dimension
        var queries = TestData.clustered(count: 8, dimension: d, clusters: 12, spread: 0.5, seed: 6)
        if metric != .squaredL2 { queries = queries.map(TestData.normalized) }
        for q in queries {
            q.withUnsafeBufferPointer { qb in
                index.withCodeScorer(qb.baseAddress!, quantizer: quantizer) { scorer in
                    for node in stride(from: 0, to: 1024, by: 17) {
                        let stored = Array(index.vectors[(node * d)..<((node + 1) * d)])
                        let decoded = quantizer.decode(Array(index.codes[(node * d)..<((node + 1) * d)]))
                        for i in 0..<d { #expect(abs(decoded[i] - stored[i]) <= quantizer.step[i] * 0.5001) }
                        var dot: Float = 0, l2: Float = 0
                        for i in 0..<d { dot += q[i] * decoded[i]; l2 += (q[i] - decoded[i]) * (q[i] - decoded[i]) }
                        let expected: Float = switch metric {
                        case .innerProduct: -dot
                        case .cosine: 1 - dot
                        case .squaredL2: l2
                        }
                        #expect(abs(scorer.distance(to: UInt32(node)) - expected) <= 1e-4 * max(1, abs(expected)))
                    }
                }
            }
        }
    }

    @Test("searches on codes return exact distances and the recall of a walk on exact distances", arguments: DistanceMetric.allCases)
    func rescoredExactly(metric: DistanceMetric) throws {
        let (index, data) = try Self.index(count: 3000, metric: metric)
        #expect(index.walkQuantizer != nil)
        var flat = try FlatIndex(dimension: Self.dimension, metric: metric)
        for (i, v) in data.enumerated() { try flat.add(id: UInt64(i), vector: v) }
        var queries = TestData.clustered(count: 40, dimension: Self.dimension, clusters: 12, spread: 0.5, seed: 7)
        if metric == .innerProduct { queries = queries.map(TestData.normalized) }
        var scratch = HNSWSearchScratch()
        var total = 0.0
        for q in queries {
            let found = try index.search(q, k: 10, efSearch: 100, scratch: &scratch)
            let truth = try flat.search(q, k: 3000)
            let exact = Dictionary(uniqueKeysWithValues: truth.map { ($0.id, $0.distance) })
            #expect(found.count == 10)
            for neighbour in found {
                let reference = try #require(exact[neighbour.id])
                #expect(abs(neighbour.distance - reference) <= 1e-4 * max(1, abs(reference)))
            }
            #expect(found == found.sorted(by: Neighbor.precedes))
            total += TestData.recall(found.map(\.id), truth.prefix(10).map(\.id))
        }
        var exactIndex = index
        exactIndex.walkQuantizer = nil
        var totalExact = 0.0
        for q in queries {
            let found = try exactIndex.search(q, k: 10, efSearch: 100, scratch: &scratch)
            totalExact += TestData.recall(found.map(\.id), try flat.search(q, k: 10).map(\.id))
        }
        // The estimate may reorder near-ties inside the walk; it must cost (almost) no recall.
        #expect(total / Double(queries.count) >= 0.95)
        #expect(total >= totalExact - 0.01 * Double(queries.count))
    }
}
