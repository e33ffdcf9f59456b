extension Distance {
    /// Batched inner products for exact search: `out[q·outStride + v] = ⟨query q, vector v⟩`
    /// for every query `q < queryCount` and vector `v < vectorCount`, all of `dimension`
    /// components, stored row-major and contiguous.
    ///
    /// The work is tiled 4 queries × 4 vectors: each `SIMD16<Float>` load of a query is used
    /// against four vectors and each vector load against four queries, so the kernel does two
    /// multiply-adds per load instead of one per two loads, and a block of vectors that
    /// fits in L2 is read from memory once per batch instead of once per query.
    ///
    /// Contract: sixteen `SIMD16<Float>` accumulators (one per query × vector pair) over
    /// blocks of 16 components, each reduced by `horizontalSum`, then the `dimension % 16` tail
    /// by the scalar path; edge rows and columns that do not fill a tile use `dot`. Results
    /// agree with `dotScalar` within `2·n·ε·Σ|a[i]·b[i]|`. NaN in gives NaN in the affected
    /// entries only. Nothing is allocated.
    ///
    /// - Precondition: `outStride >= vectorCount`, buffers large enough (programmer error).
    @inlinable
    public static func dotBatch(
        queries: UnsafePointer<Float>, queryCount: Int,
        vectors: UnsafePointer<Float>, vectorCount: Int,
        dimension: Int,
        into out: UnsafeMutablePointer<Float>, outStride: Int
    ) {
        precondition(outStride >= vectorCount, "dotBatch: outStride \(outStride) < vectorCount \(vectorCount)")
        let fullQueries = queryCount & ~3
        let fullVectors = vectorCount & ~3
        var q = 0
        while q < fullQueries {
            var v = 0
            while v < fullVectors {
                dotTile4x4(
                    queries + q &* dimension, vectors + v &* dimension, dimension: dimension,
                    out: out + (q &* outStride &+ v), outStride: outStride
                )
                v &+= 4
            }
            while v < vectorCount {
                for qq in q..<(q &+ 4) {
                    out[qq &* outStride &+ v] = dot(queries + qq &* dimension, vectors + v &* dimension, count: dimension)
                }
                v &+= 1
            }
            q &+= 4
        }
        while q < queryCount {
            for v in 0..<vectorCount {
                out[q &* outStride &+ v] = dot(queries + q &* dimension, vectors + v &* dimension, count: dimension)
            }
            q &+= 1
        }
    }

    /// One 4 × 4 tile of `dotBatch`. See its contract.
    @inlinable
    static func dotTile4x4(
        _ q: UnsafePointer<Float>, _ x: UnsafePointer<Float>, dimension: Int,
        out: UnsafeMutablePointer<Float>, outStride: Int
    ) {
        let rq = UnsafeRawPointer(q)
        let rx = UnsafeRawPointer(x)
        let rowBytes = dimension &* 4
        var a00 = SIMD16<Float>(), a01 = SIMD16<Float>(), a02 = SIMD16<Float>(), a03 = SIMD16<Float>()
        var a10 = SIMD16<Float>(), a11 = SIMD16<Float>(), a12 = SIMD16<Float>(), a13 = SIMD16<Float>()
        var a20 = SIMD16<Float>(), a21 = SIMD16<Float>(), a22 = SIMD16<Float>(), a23 = SIMD16<Float>()
        var a30 = SIMD16<Float>(), a31 = SIMD16<Float>(), a32 = SIMD16<Float>(), a33 = SIMD16<Float>()
        var i = 0
        while i + 16 <= dimension {
            let o = i &* 4
            let x0 = rx.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            let x1 = rx.loadUnaligned(fromByteOffset: o &+ rowBytes, as: SIMD16<Float>.self)
            let x2 = rx.loadUnaligned(fromByteOffset: o &+ 2 &* rowBytes, as: SIMD16<Float>.self)
            let x3 = rx.loadUnaligned(fromByteOffset: o &+ 3 &* rowBytes, as: SIMD16<Float>.self)
            let q0 = rq.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            a00 = multiplyAdd(a00, q0, x0); a01 = multiplyAdd(a01, q0, x1)
            a02 = multiplyAdd(a02, q0, x2); a03 = multiplyAdd(a03, q0, x3)
            let q1 = rq.loadUnaligned(fromByteOffset: o &+ rowBytes, as: SIMD16<Float>.self)
            a10 = multiplyAdd(a10, q1, x0); a11 = multiplyAdd(a11, q1, x1)
            a12 = multiplyAdd(a12, q1, x2); a13 = multiplyAdd(a13, q1, x3)
            let q2 = rq.loadUnaligned(fromByteOffset: o &+ 2 &* rowBytes, as: SIMD16<Float>.self)
            a20 = multiplyAdd(a20, q2, x0); a21 = multiplyAdd(a21, q2, x1)
            a22 = multiplyAdd(a22, q2, x2); a23 = multiplyAdd(a23, q2, x3)
            let q3 = rq.loadUnaligned(fromByteOffset: o &+ 3 &* rowBytes, as: SIMD16<Float>.self)
            a30 = multiplyAdd(a30, q3, x0); a31 = multiplyAdd(a31, q3, x1)
            a32 = multiplyAdd(a32, q3, x2); a33 = multiplyAdd(a33, q3, x3)
            i &+= 16
        }
        out[0] = horizontalSum(a00); out[1] = horizontalSum(a01); out[2] = horizontalSum(a02); out[3] = horizontalSum(a03)
        out[outStride] = horizontalSum(a10); out[outStride &+ 1] = horizontalSum(a11)
        out[outStride &+ 2] = horizontalSum(a12); out[outStride &+ 3] = horizontalSum(a13)
        out[2 &* outStride] = horizontalSum(a20); out[2 &* outStride &+ 1] = horizontalSum(a21)
        out[2 &* outStride &+ 2] = horizontalSum(a22); out[2 &* outStride &+ 3] = horizontalSum(a23)
        out[3 &* outStride] = horizontalSum(a30); out[3 &* outStride &+ 1] = horizontalSum(a31)
        out[3 &* outStride &+ 2] = horizontalSum(a32); out[3 &* outStride &+ 3] = horizontalSum(a33)
        if i < dimension {
            let rest = dimension &- i
            for qi in 0..<4 {
                for xi in 0..<4 {
                    out[qi &* outStride &+ xi] += dotScalar(
                        q + (qi &* dimension &+ i), x + (xi &* dimension &+ i), count: rest
                    )
                }
            }
        }
    }
}
