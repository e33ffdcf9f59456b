import NakshaCore
import NakshaVector
import Testing

@Suite("int8 scalar quantization with exact rescoring")
struct QuantizedFlatIndexTests {
    @Test("encode/decode error is at most half a step inside the trained range", arguments: ScalarQuantizer.Ranges.allCases)
    func roundTrip(ranges: ScalarQuantizer.Ranges) {
        var rng = SeededGenerator(seed: 12)
        let samples = TestData.uniform(50 * 24, rng: &rng)
        let quantizer = ScalarQuantizer(dimension: 24, ranges: ranges, samples: samples)
        var codes = [UInt8](repeating: 0, count: 24)
        for row in 0..<50 {
            let v = Array(samples[(row * 24)..<(row * 24 + 24)])
            v.withUnsafeBufferPointer { vb in codes.withUnsafeMutableBufferPointer { quantizer.encode(vb.baseAddress!, into: $0.baseAddress!) } }
            let decoded = quantizer.decode(codes)
            for i in 0..<24 { #expect(abs(decoded[i] - v[i]) <= quantizer.step[i] * 0.5001) }
        }
    }

    @Test("code kernels match their scalar definition for dimensions 1…67", arguments: Array(1...67) + [128, 130, 384])
    func codeKernels(dimension: Int) {
        var rng = SeededGenerator(seed: UInt64(dimension))
        let w = TestData.uniform(dimension, rng: &rng)
        let t = TestData.uniform(dimension, rng: &rng).map { ($0 + 1) * 128 }
        let c = (0..<dimension).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var dot: Float = 0, l2: Float = 0, absDot: Float = 0, absL2: Float = 0
        for i in 0..<dimension {
            dot += w[i] * Float(c[i]); absDot += abs(w[i] * Float(c[i]))
            let d = t[i] - Float(c[i]); l2 += w[i] * d * d; absL2 += abs(w[i] * d * d)
        }
        let bound = { (sum: Float) in Float(dimension) * Float.ulpOfOne * sum + 1e-4 }
        var wi = [Float](repeating: .nan, count: dimension), ti = [Float](repeating: .nan, count: dimension)
        Distance.interleaveForCodes(w, into: &wi, count: dimension)
        Distance.interleaveForCodes(t, into: &ti, count: dimension)
        #expect(abs(Distance.dotCodes(wi, c, count: dimension) - dot) <= bound(absDot))
        #expect(abs(Distance.weightedSquaredL2Codes(wi, ti, c, count: dimension) - l2) <= bound(absL2))
    }

    @Test("recall@10 vs exact is ≥ 0.98 on clustered data, distances are exact", arguments: DistanceMetric.allCases)
    func recallVsExact(metric: DistanceMetric) throws {
        let data = TestData.clustered(count: 1500, dimension: 48, clusters: 12, spread: 0.4, seed: 21)
        var exact = try FlatIndex(dimension: 48, metric: metric)
        var quantized = try QuantizedFlatIndex(dimension: 48, metric: metric, trainingSample: data.prefix(300).flatMap { $0 }, rescoreFactor: 4)
        for (i, v) in data.enumerated() {
            try exact.add(id: UInt64(i), vector: v)
            try quantized.add(id: UInt64(i), vector: v)
        }
        var total = 0.0
        let queries = TestData.clustered(count: 40, dimension: 48, clusters: 12, spread: 0.45, seed: 22)
        for q in queries {
            let truth = try exact.search(q, k: 10)
            let found = try quantized.search(q, k: 10)
            total += TestData.recall(found.map(\.id), truth.map(\.id))
            // Any id found in both has the same (exact) distance.
            for n in found { if let t = truth.first(where: { $0.id == n.id }) { #expect(abs(t.distance - n.distance) <= 1e-4 * max(1, abs(t.distance))) } }
        }
        #expect(total / Double(queries.count) >= 0.98)
    }

    @Test("delete keeps codes in step with the exact vectors")
    func deleteKeepsCodesInStep() throws {
        var index = try QuantizedFlatIndex(dimension: 2, metric: .squaredL2, trainingSample: [0, 0, 10, 10])
        for i in 0..<10 { try index.add(id: UInt64(i), vector: [Float(i), Float(i)]) }
        let deletedThree = index.delete(id: 3)
        let deletedZero = index.delete(id: 0)
        #expect(deletedThree && deletedZero)
        // The vectors moved into slots 0 and 3 must still be found by their own position.
        #expect(try index.search([9, 9], k: 1).map(\.id) == [9])
        #expect(try index.search([8, 8], k: 1).map(\.id) == [8])
        #expect(try index.search([3, 3], k: 2).map(\.id) == [2, 4])
        #expect(index.count == 8)
    }
}
