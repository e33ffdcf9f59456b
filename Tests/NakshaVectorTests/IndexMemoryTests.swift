import NakshaVector
import Testing

@Suite("Memory accounting")
struct IndexMemoryTests {
    @Test("estimates before building are within 25 % of what each index reports after")
    func estimatesMatchMeasured() throws {
        let d = 32, n = 1000
        let data = TestData.clustered(count: n, dimension: d, clusters: 8, spread: 0.5, seed: 51)
        var flat = try FlatIndex(dimension: d, metric: .innerProduct)
        flat.reserveCapacity(n)
        let parameters = HNSWParameters(m: 8, efConstruction: 32)
        var hnsw = try HNSWIndex(dimension: d, metric: .innerProduct, parameters: parameters)
        hnsw.reserveCapacity(n)
        var quantized = try QuantizedFlatIndex(dimension: d, metric: .innerProduct, trainingSample: data[0])
        quantized.reserveCapacity(n)
        for (i, v) in data.enumerated() {
            try flat.add(id: UInt64(i), vector: v)
            try hnsw.add(id: UInt64(i), vector: v)
            try quantized.add(id: UInt64(i), vector: v)
        }
        func close(_ measured: Int, _ estimate: Int) -> Bool {
            abs(Double(measured - estimate)) <= 0.25 * Double(estimate)
        }
        #expect(close(flat.memoryBytes, FlatIndex.estimatedBytes(count: n, dimension: d, metric: .innerProduct)))
        #expect(close(hnsw.memoryBytes, HNSWIndex.estimatedBytes(count: n, dimension: d, parameters: parameters)))
        #expect(close(quantized.memoryBytes, QuantizedFlatIndex.estimatedBytes(count: n, dimension: d, metric: .innerProduct)))
        // Per-vector cost is at least the raw vector and ordered flat < quantized, flat < HNSW.
        #expect(flat.bytesPerVector >= Double(d * 4))
        #expect(flat.bytesPerVector < quantized.bytesPerVector)
        #expect(flat.bytesPerVector < hnsw.bytesPerVector)
    }
}
