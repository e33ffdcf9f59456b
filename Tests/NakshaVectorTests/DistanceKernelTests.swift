import NakshaCore
import NakshaVector
import Testing

/// Every SIMD kernel against the scalar reference, for every dimension 1…67 (covers empty
/// main loops, exactly one block of 16/32/64, and every tail length) and for inputs that
/// start on a 64-byte boundary and one `Float` past it.
///
/// Tolerance: both implementations do recursive `Float` summation in different orders.
/// For a sum of n terms each result is within n·ε·Σ|terms| of the exact value (Higham,
/// *Accuracy and Stability of Numerical Algorithms*, §4.2, with ε = 2⁻²⁴), so they differ
/// by at most 2·n·ε·Σ|terms|. We assert `|simd − scalar| ≤ 2·n·ε·Σ|terms| + tiny`; a
/// kernel that drops or double-counts a single component breaks it by orders of magnitude
/// (each |term| is ≈ 0.3 on average here), so the test can fail.
@Suite("Distance kernels vs scalar reference")
struct DistanceKernelTests {
    static let dimensions = Array(1...67)

    /// Runs `body` with two buffers of `dimension` floats from a seeded generator, at the
    /// given misalignment (in floats) from a 64-byte boundary.
    func withInputs(dimension: Int, offset: Int, seed: UInt64, _ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> Void) {
        var rng = SeededGenerator(seed: seed &+ UInt64(dimension))
        let a = UnsafeMutableRawPointer.allocate(byteCount: (dimension + 16) * 4, alignment: 64)
        let b = UnsafeMutableRawPointer.allocate(byteCount: (dimension + 16) * 4, alignment: 64)
        defer { a.deallocate(); b.deallocate() }
        let pa = a.bindMemory(to: Float.self, capacity: dimension + 16) + offset
        let pb = b.bindMemory(to: Float.self, capacity: dimension + 16) + offset
        for i in 0..<dimension {
            pa[i] = rng.nextUnitFloat() * 2 - 1
            pb[i] = rng.nextUnitFloat() * 2 - 1
        }
        body(pa, pb)
    }

    func bound(_ n: Int, _ absSum: Float) -> Float {
        2 * Float(n) * Float.ulpOfOne / 2 * absSum + 1e-6
    }

    @Test("dot matches scalar", arguments: dimensions, [0, 1])
    func dotMatchesScalar(dimension: Int, offset: Int) {
        withInputs(dimension: dimension, offset: offset, seed: 1) { a, b in
            let simd = Distance.dot(a, b, count: dimension)
            let scalar = Distance.dotScalar(a, b, count: dimension)
            let absSum = (0..<dimension).reduce(Float(0)) { $0 + abs(a[$1] * b[$1]) }
            #expect(abs(simd - scalar) <= bound(dimension, absSum), "d=\(dimension) simd=\(simd) scalar=\(scalar)")
        }
    }

    @Test("squaredL2 matches scalar", arguments: dimensions, [0, 1])
    func squaredL2MatchesScalar(dimension: Int, offset: Int) {
        withInputs(dimension: dimension, offset: offset, seed: 2) { a, b in
            let simd = Distance.squaredL2(a, b, count: dimension)
            let scalar = Distance.squaredL2Scalar(a, b, count: dimension)
            #expect(simd >= 0)
            #expect(abs(simd - scalar) <= bound(dimension, scalar), "d=\(dimension) simd=\(simd) scalar=\(scalar)")
        }
    }

    @Test("cosine matches scalar", arguments: dimensions, [0, 1])
    func cosineMatchesScalar(dimension: Int, offset: Int) {
        withInputs(dimension: dimension, offset: offset, seed: 3) { a, b in
            let simd = Distance.cosine(a, b, count: dimension)
            let scalar = Distance.cosineScalar(a, b, count: dimension)
            // 1 − dot/(‖a‖‖b‖): the relative error of each of the three sums propagates to
            // at most ~3× the summation bound relative to 1 + |cos|, plus sqrt/divide ulps.
            let tolerance = 3 * Float(dimension) * Float.ulpOfOne * 2 + 8 * Float.ulpOfOne
            #expect(abs(simd - scalar) <= tolerance, "d=\(dimension) simd=\(simd) scalar=\(scalar)")
        }
    }

    @Test("batched dot equals per-pair dot", arguments: [1, 5, 16, 17, 33, 67, 384], [(7, 9), (37, 45)])
    func batchMatchesPairwise(dimension: Int, shape: (queries: Int, vectors: Int)) {
        var rng = SeededGenerator(seed: 44)
        // 7 × 9: one partial query group, only the single-vector tail; 37 × 45: two full
        // groups of 16 queries plus a partial one, two 16-vector micro-kernels plus a tail.
        let queryCount = shape.queries, vectorCount = shape.vectors, outStride = vectorCount + 2
        let queries = TestData.uniform(queryCount * dimension + 1, rng: &rng)
        let vectors = TestData.uniform(vectorCount * dimension + 1, rng: &rng)
        var out = [Float](repeating: .nan, count: queryCount * outStride)
        queries.withUnsafeBufferPointer { qb in
            vectors.withUnsafeBufferPointer { vb in
                out.withUnsafeMutableBufferPointer { ob in
                    // Start one float in, so rows are unaligned.
                    Distance.dotBatch(
                        queries: qb.baseAddress! + 1, queryCount: queryCount,
                        vectors: vb.baseAddress! + 1, vectorCount: vectorCount,
                        dimension: dimension, into: ob.baseAddress!, outStride: outStride
                    )
                }
                for q in 0..<queryCount {
                    for v in 0..<vectorCount {
                        let a = qb.baseAddress! + 1 + q * dimension
                        let b = vb.baseAddress! + 1 + v * dimension
                        let scalar = Distance.dotScalar(a, b, count: dimension)
                        let absSum = (0..<dimension).reduce(Float(0)) { $0 + abs(a[$1] * b[$1]) }
                        #expect(abs(out[q * outStride + v] - scalar) <= bound(dimension, absSum), "q=\(q) v=\(v)")
                    }
                }
            }
        }
        // Entries beyond vectorCount in each row are untouched.
        for q in 0..<queryCount {
            #expect(out[q * outStride + vectorCount].isNaN && out[q * outStride + vectorCount + 1].isNaN)
        }
    }

    @Test("NaN in either input propagates to every kernel's result")
    func nanPropagates() {
        var a = [Float](repeating: 1, count: 40)
        let b = [Float](repeating: 1, count: 40)
        for position in [0, 17, 39] {
            a[position] = .nan
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    #expect(Distance.dot(pa.baseAddress!, pb.baseAddress!, count: 40).isNaN)
                    #expect(Distance.squaredL2(pa.baseAddress!, pb.baseAddress!, count: 40).isNaN)
                    #expect(Distance.cosine(pa.baseAddress!, pb.baseAddress!, count: 40).isNaN)
                    #expect(Distance.dotScalar(pa.baseAddress!, pb.baseAddress!, count: 40).isNaN)
                }
            }
            a[position] = 1
        }
    }

    @Test("cosine of a zero vector is 1; of identical vectors is 0")
    func cosineEdgeCases() {
        let zero = [Float](repeating: 0, count: 20)
        let v: [Float] = (0..<20).map { Float($0) - 7 }
        zero.withUnsafeBufferPointer { z in
            v.withUnsafeBufferPointer { x in
                #expect(Distance.cosine(z.baseAddress!, x.baseAddress!, count: 20) == 1)
                #expect(Distance.cosineScalar(z.baseAddress!, x.baseAddress!, count: 20) == 1)
                #expect(abs(Distance.cosine(x.baseAddress!, x.baseAddress!, count: 20)) < 1e-6)
            }
        }
    }
}
