extension Distance {
    /// Queries per packed group in the batched kernel: one `SIMD16<Float>` register.
    static let queryGroup = 16
    /// Vectors per micro-kernel call: the 16 accumulators of `dotKernel16x16`.
    static let kernelVectors = 16

    /// Batched inner products for exact search: `out[q·outStride + v] = ⟨query q, vector v⟩`
    /// for every query `q < queryCount` and vector `v < vectorCount`, all of `dimension`
    /// components, stored row-major and contiguous. Entries of `out` beyond `vectorCount` in a
    /// row are not written.
    ///
    /// A GEMM in the BLAS style with the query block packed: queries are interleaved in
    /// groups of 16 (component `i` of 16 queries contiguous, one `SIMD16<Float>`), vectors are
    /// read in place; the 16 × 16 micro-kernel keeps 16 accumulators (one per vector, lanes
    /// = queries) in registers and per component does one vector load, 16 scalar broadcasts
    /// and 16 multiply-adds — no horizontal sums and no repacking of the stored vectors.
    /// Allocates the packed queries and a score buffer (`FlatIndex.search(batch:)` reuses
    /// its own for a whole call).
    ///
    /// Contract: each entry is accumulated in `Float` over the components in order,
    /// `acc = multiplyAdd(acc, q[i], x[i])`, so it agrees with `dotScalar` within
    /// `n·ε·Σ|a[i]·b[i]|` (inside the SIMD kernels' stated `2·n·ε·Σ|a[i]·b[i]|`), and does not
    /// depend on the batch shape or on the position of a query or vector in it. NaN in a
    /// query or vector gives NaN in that row or column only.
    ///
    /// - Precondition: `outStride >= vectorCount`, buffers large enough (programmer error).
    public static func dotBatch(
        queries: UnsafePointer<Float>, queryCount: Int,
        vectors: UnsafePointer<Float>, vectorCount: Int,
        dimension: Int,
        into out: UnsafeMutablePointer<Float>, outStride: Int
    ) {
        precondition(outStride >= vectorCount, "dotBatch: outStride \(outStride) < vectorCount \(vectorCount)")
        guard queryCount > 0, vectorCount > 0 else { return }
        let groups = (queryCount &+ queryGroup &- 1) / queryGroup
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: groups * queryGroup * dimension)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: vectorCount * queryGroup)
        defer { packed.deallocate(); scores.deallocate() }
        packQueryGroups(queries, count: queryCount, dimension: dimension, into: packed)
        for g in 0..<groups {
            dotGroup(packed + g &* queryGroup &* dimension, vectors: vectors, vectorCount: vectorCount,
                     dimension: dimension, into: scores)
            for lane in 0..<min(queryGroup, queryCount &- g &* queryGroup) {
                let row = out + (g &* queryGroup &+ lane) &* outStride
                for v in 0..<vectorCount { row[v] = scores[v &* queryGroup &+ lane] }
            }
        }
    }

    /// Packs `count` row-major queries into groups of `queryGroup`:
    /// `packed[(g·dimension + i)·16 + j] = queries[(16·g + j)·dimension + i]`, with zeros for
    /// `16·g + j ≥ count`. Writes `roundUp(count, 16) · dimension` floats.
    static func packQueryGroups(_ queries: UnsafePointer<Float>, count: Int, dimension: Int, into packed: UnsafeMutablePointer<Float>) {
        let width = queryGroup
        var group = 0
        while group &* width < count {
            let first = group &* width
            let live = min(width, count &- first)
            let base = packed + group &* dimension &* width
            if live < width { base.initialize(repeating: 0, count: dimension &* width) }
            for i in 0..<dimension {
                let out = base + i &* width
                for j in 0..<live { out[j] = queries[(first &+ j) &* dimension &+ i] }
            }
            group &+= 1
        }
    }

    /// One packed query group against `vectorCount` row-major vectors:
    /// `out[v·16 + j] = ⟨query j of the group, vector v⟩` (lanes of padding queries hold 0
    /// for finite vectors).
    static func dotGroup(
        _ packedGroup: UnsafePointer<Float>, vectors: UnsafePointer<Float>, vectorCount: Int,
        dimension: Int, into out: UnsafeMutablePointer<Float>
    ) {
        var v = 0
        while v &+ kernelVectors <= vectorCount {
            dotKernel16x16(packedGroup, vectors + v &* dimension, dimension: dimension, out: out + v &* queryGroup)
            v &+= kernelVectors
        }
        while v < vectorCount {
            let x = vectors + v &* dimension
            let q = UnsafeRawPointer(packedGroup)
            var acc = SIMD16<Float>()
            for i in 0..<dimension {
                acc = multiplyAdd(acc, q.loadUnaligned(fromByteOffset: i &* 64, as: SIMD16<Float>.self), SIMD16(repeating: x[i]))
            }
            UnsafeMutableRawPointer(out + v &* queryGroup).storeBytes(of: acc, as: SIMD16<Float>.self)
            v &+= 1
        }
    }

    /// The 16 × 16 micro-kernel: one packed query group against 16 consecutive row-major
    /// vectors; `out[v·16 + j]` for `v < 16`.
    @inline(__always)
    static func dotKernel16x16(
        _ pq: UnsafePointer<Float>, _ x: UnsafePointer<Float>, dimension: Int, out: UnsafeMutablePointer<Float>
    ) {
        var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>(), c3 = SIMD16<Float>()
        var c4 = SIMD16<Float>(), c5 = SIMD16<Float>(), c6 = SIMD16<Float>(), c7 = SIMD16<Float>()
        var c8 = SIMD16<Float>(), c9 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
        var c12 = SIMD16<Float>(), c13 = SIMD16<Float>(), c14 = SIMD16<Float>(), c15 = SIMD16<Float>()
        let d = dimension
        let x0 = x, x1 = x + d, x2 = x + 2 &* d, x3 = x + 3 &* d
        let x4 = x + 4 &* d, x5 = x + 5 &* d, x6 = x + 6 &* d, x7 = x + 7 &* d
        let x8 = x + 8 &* d, x9 = x + 9 &* d, x10 = x + 10 &* d, x11 = x + 11 &* d
        let x12 = x + 12 &* d, x13 = x + 13 &* d, x14 = x + 14 &* d, x15 = x + 15 &* d
        let q = UnsafeRawPointer(pq)
        for i in 0..<d {
            let a = q.loadUnaligned(fromByteOffset: i &* 64, as: SIMD16<Float>.self)
            c0 = multiplyAdd(c0, a, SIMD16(repeating: x0[i])); c1 = multiplyAdd(c1, a, SIMD16(repeating: x1[i]))
            c2 = multiplyAdd(c2, a, SIMD16(repeating: x2[i])); c3 = multiplyAdd(c3, a, SIMD16(repeating: x3[i]))
            c4 = multiplyAdd(c4, a, SIMD16(repeating: x4[i])); c5 = multiplyAdd(c5, a, SIMD16(repeating: x5[i]))
            c6 = multiplyAdd(c6, a, SIMD16(repeating: x6[i])); c7 = multiplyAdd(c7, a, SIMD16(repeating: x7[i]))
            c8 = multiplyAdd(c8, a, SIMD16(repeating: x8[i])); c9 = multiplyAdd(c9, a, SIMD16(repeating: x9[i]))
            c10 = multiplyAdd(c10, a, SIMD16(repeating: x10[i])); c11 = multiplyAdd(c11, a, SIMD16(repeating: x11[i]))
            c12 = multiplyAdd(c12, a, SIMD16(repeating: x12[i])); c13 = multiplyAdd(c13, a, SIMD16(repeating: x13[i]))
            c14 = multiplyAdd(c14, a, SIMD16(repeating: x14[i])); c15 = multiplyAdd(c15, a, SIMD16(repeating: x15[i]))
        }
        let o = UnsafeMutableRawPointer(out)
        o.storeBytes(of: c0, toByteOffset: 0, as: SIMD16<Float>.self)
        o.storeBytes(of: c1, toByteOffset: 64, as: SIMD16<Float>.self)
        o.storeBytes(of: c2, toByteOffset: 128, as: SIMD16<Float>.self)
        o.storeBytes(of: c3, toByteOffset: 192, as: SIMD16<Float>.self)
        o.storeBytes(of: c4, toByteOffset: 256, as: SIMD16<Float>.self)
        o.storeBytes(of: c5, toByteOffset: 320, as: SIMD16<Float>.self)
        o.storeBytes(of: c6, toByteOffset: 384, as: SIMD16<Float>.self)
        o.storeBytes(of: c7, toByteOffset: 448, as: SIMD16<Float>.self)
        o.storeBytes(of: c8, toByteOffset: 512, as: SIMD16<Float>.self)
        o.storeBytes(of: c9, toByteOffset: 576, as: SIMD16<Float>.self)
        o.storeBytes(of: c10, toByteOffset: 640, as: SIMD16<Float>.self)
        o.storeBytes(of: c11, toByteOffset: 704, as: SIMD16<Float>.self)
        o.storeBytes(of: c12, toByteOffset: 768, as: SIMD16<Float>.self)
        o.storeBytes(of: c13, toByteOffset: 832, as: SIMD16<Float>.self)
        o.storeBytes(of: c14, toByteOffset: 896, as: SIMD16<Float>.self)
        o.storeBytes(of: c15, toByteOffset: 960, as: SIMD16<Float>.self)
    }
}
