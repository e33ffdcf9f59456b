extension Distance {
    /// `acc + a·b` lane-wise: the one multiply-accumulate every SIMD kernel uses.
    ///
    /// Built with `-DNAKSHA_FMA` it is a fused multiply-add (one rounding); otherwise a
    /// multiply then an add (two roundings). Set `NAKSHA_FMA` only together with a
    /// `-target-cpu` that has FMA (e.g. `x86-64-v3`, `sapphirerapids`): without hardware
    /// FMA, LLVM lowers `addingProduct` to a libm `fmaf` call per lane, which is an order of
    /// magnitude slower. Both variants meet the kernels' stated error bounds.
    @inlinable @inline(__always)
    static func multiplyAdd(_ acc: SIMD16<Float>, _ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        #if NAKSHA_FMA
        return acc.addingProduct(a, b)
        #else
        return acc + a * b
        #endif
    }

    /// Sum of the 16 lanes by a tree of halvings (16 → 8 → 4 → 2 → 1): four dependent
    /// vector adds instead of the fifteen dependent scalar adds of `sum()`, which dominate
    /// a 384-component kernel whose operands are in cache.
    @inlinable @inline(__always)
    static func horizontalSum(_ v: SIMD16<Float>) -> Float {
        let eight = v.lowHalf + v.highHalf
        let four = eight.lowHalf + eight.highHalf
        let two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }

    /// Inner product with `SIMD16<Float>` lanes.
    ///
    /// Contract: four `SIMD16<Float>` accumulators (64 independent partial sums) over blocks
    /// of 64 components, then one accumulator over remaining blocks of 16, then the last
    /// `count % 16` components by the scalar path; the partial sums are combined pairwise
    /// and reduced by `horizontalSum`. Accumulation is `Float`; the summation order differs from
    /// `dotScalar` (and each step is `multiplyAdd`, fused or not), so results agree within
    /// the recursive-summation bound
    /// `2·n·ε·Σ|a[i]·b[i]|`, not bit for bit. NaN in either input gives NaN. Loads are
    /// unaligned, so any `Float`-aligned pointer works.
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        let ra = UnsafeRawPointer(a)
        let rb = UnsafeRawPointer(b)
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>(), acc2 = SIMD16<Float>(), acc3 = SIMD16<Float>()
        var i = 0
        while i + 64 <= count {
            let o = i &* 4
            acc0 = multiplyAdd(acc0, ra.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), rb.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
            acc1 = multiplyAdd(acc1, ra.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self), rb.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self))
            acc2 = multiplyAdd(acc2, ra.loadUnaligned(fromByteOffset: o &+ 128, as: SIMD16<Float>.self), rb.loadUnaligned(fromByteOffset: o &+ 128, as: SIMD16<Float>.self))
            acc3 = multiplyAdd(acc3, ra.loadUnaligned(fromByteOffset: o &+ 192, as: SIMD16<Float>.self), rb.loadUnaligned(fromByteOffset: o &+ 192, as: SIMD16<Float>.self))
            i &+= 64
        }
        while i + 16 <= count {
            let o = i &* 4
            acc0 = multiplyAdd(acc0, ra.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), rb.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
            i &+= 16
        }
        var sum = horizontalSum((acc0 + acc1) + (acc2 + acc3))
        if i < count { sum += dotScalar(a + i, b + i, count: count &- i) }
        return sum
    }

    /// Squared L2 distance with `SIMD16<Float>` lanes.
    ///
    /// Contract: as `dot` (four `SIMD16<Float>` accumulators, blocks of 64 then 16, scalar
    /// tail for `count % 16`, `Float` accumulation); agrees with `squaredL2Scalar` within
    /// `2·n·ε·Σ(a[i]−b[i])²`; the result is ≥ 0 for finite input; NaN in gives NaN out.
    @inlinable
    public static func squaredL2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        let ra = UnsafeRawPointer(a)
        let rb = UnsafeRawPointer(b)
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>(), acc2 = SIMD16<Float>(), acc3 = SIMD16<Float>()
        var i = 0
        while i + 64 <= count {
            let o = i &* 4
            let d0 = ra.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
                - rb.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            let d1 = ra.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self)
                - rb.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self)
            let d2 = ra.loadUnaligned(fromByteOffset: o &+ 128, as: SIMD16<Float>.self)
                - rb.loadUnaligned(fromByteOffset: o &+ 128, as: SIMD16<Float>.self)
            let d3 = ra.loadUnaligned(fromByteOffset: o &+ 192, as: SIMD16<Float>.self)
                - rb.loadUnaligned(fromByteOffset: o &+ 192, as: SIMD16<Float>.self)
            acc0 = multiplyAdd(acc0, d0, d0)
            acc1 = multiplyAdd(acc1, d1, d1)
            acc2 = multiplyAdd(acc2, d2, d2)
            acc3 = multiplyAdd(acc3, d3, d3)
            i &+= 64
        }
        while i + 16 <= count {
            let o = i &* 4
            let d0 = ra.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
                - rb.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            acc0 = multiplyAdd(acc0, d0, d0)
            i &+= 16
        }
        var sum = horizontalSum((acc0 + acc1) + (acc2 + acc3))
        if i < count { sum += squaredL2Scalar(a + i, b + i, count: count &- i) }
        return sum
    }

    /// Cosine distance with `SIMD16<Float>` lanes.
    ///
    /// Contract: two `SIMD16<Float>` accumulators for each of dot, ‖a‖², ‖b‖² over blocks of
    /// 32, one over remaining blocks of 16, scalar tail for `count % 16`; `Float`
    /// accumulation; the zero-norm rule and NaN behaviour of `cosineScalar`. Indexes do not
    /// call this per vector: they normalise once on insert and use `dot`.
    @inlinable
    public static func cosine(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        let ra = UnsafeRawPointer(a)
        let rb = UnsafeRawPointer(b)
        var dot0 = SIMD16<Float>(), dot1 = SIMD16<Float>()
        var na0 = SIMD16<Float>(), na1 = SIMD16<Float>()
        var nb0 = SIMD16<Float>(), nb1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= count {
            let o = i &* 4
            let x0 = ra.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            let y0 = rb.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            let x1 = ra.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self)
            let y1 = rb.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self)
            dot0 = multiplyAdd(dot0, x0, y0); dot1 = multiplyAdd(dot1, x1, y1)
            na0 = multiplyAdd(na0, x0, x0); na1 = multiplyAdd(na1, x1, x1)
            nb0 = multiplyAdd(nb0, y0, y0); nb1 = multiplyAdd(nb1, y1, y1)
            i &+= 32
        }
        while i + 16 <= count {
            let o = i &* 4
            let x0 = ra.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            let y0 = rb.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            dot0 = multiplyAdd(dot0, x0, y0)
            na0 = multiplyAdd(na0, x0, x0)
            nb0 = multiplyAdd(nb0, y0, y0)
            i &+= 16
        }
        var dot = horizontalSum(dot0 + dot1)
        var na = horizontalSum(na0 + na1)
        var nb = horizontalSum(nb0 + nb1)
        while i < count {
            dot += a[i] * b[i]
            na += a[i] * a[i]
            nb += b[i] * b[i]
            i &+= 1
        }
        return cosineFromParts(dot: dot, normSquaredA: na, normSquaredB: nb)
    }

    /// Squared L2 norm `Σ a[i]²` (the `dot` kernel applied to `a` with itself).
    @inlinable
    public static func squaredNorm(_ a: UnsafePointer<Float>, count: Int) -> Float {
        dot(a, a, count: count)
    }
}
