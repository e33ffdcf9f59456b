/// 8-bit scalar quantization: each component is stored as one byte `c` in 0…255 standing
/// for `lower[i] + step[i]·c`.
///
/// Invariants: `lower.count == step.count == dimension`; every `step[i] > 0` (a constant
/// dimension gets a tiny positive step so decoding is exact for it). With `.global` ranges
/// all dimensions share one `lower` and `step`.
///
/// Error: a value inside the trained range is decoded within `step[i]/2`; values outside
/// are clamped to the range. Quantized distances are used only to pick candidates; the
/// index rescoring them holds the exact vectors.
public struct ScalarQuantizer: Sendable, Hashable {
    /// How the per-component ranges are trained.
    public enum Ranges: String, Sendable, Hashable, CaseIterable {
        /// One min/max per dimension (best accuracy when dimensions differ in spread).
        case perDimension
        /// One min/max over all components (uniform step; simplest).
        case global
    }

    public let dimension: Int
    public let ranges: Ranges
    /// Per-dimension lower bound of the trained range.
    public private(set) var lower: [Float]
    /// Per-dimension quantization step (`(max − min)/255`).
    public private(set) var step: [Float]

    /// Trains ranges on `samples` (row-major, `samples.count / dimension` vectors).
    /// With no samples the range is [−1, 1] for every dimension.
    /// - Precondition: `samples.count % dimension == 0` (indexes check first).
    public init(dimension: Int, ranges: Ranges, samples: [Float]) {
        self = samples.withUnsafeBufferPointer { ScalarQuantizer(dimension: dimension, ranges: ranges, samples: $0) }
    }

    /// Trains ranges on the vectors in `samples` (row-major) without copying them.
    /// - Precondition: `samples.count % dimension == 0`.
    public init(dimension: Int, ranges: Ranges, samples: UnsafeBufferPointer<Float>) {
        precondition(dimension > 0 && samples.count % dimension == 0, "ScalarQuantizer: bad sample shape")
        self.dimension = dimension
        self.ranges = ranges
        var low = [Float](repeating: samples.isEmpty ? -1 : .infinity, count: dimension)
        var high = [Float](repeating: samples.isEmpty ? 1 : -.infinity, count: dimension)
        var row = 0
        while row < samples.count {
            for i in 0..<dimension {
                let v = samples[row + i]
                if v < low[i] { low[i] = v }
                if v > high[i] { high[i] = v }
            }
            row += dimension
        }
        switch ranges {
        case .perDimension:
            break
        case .global:
            let lo = low.min() ?? -1, hi = high.max() ?? 1
            low = Array(repeating: lo, count: dimension)
            high = Array(repeating: hi, count: dimension)
        }
        self.lower = low
        self.step = zip(low, high).map { lo, hi in max((hi - lo) / 255, Float.leastNormalMagnitude * 1024) }
    }

    /// Encodes `vector` into `codes` (both `dimension` long), rounding to nearest and
    /// clamping to the trained range.
    public func encode(_ vector: UnsafePointer<Float>, into codes: UnsafeMutablePointer<UInt8>) {
        for i in 0..<dimension {
            let t = ((vector[i] - lower[i]) / step[i]).rounded()
            codes[i] = UInt8(min(255, max(0, t)))
        }
    }

    /// Decodes `codes` back to floats (for tests and diagnostics).
    public func decode(_ codes: [UInt8]) -> [Float] {
        (0..<dimension).map { lower[$0] + step[$0] * Float(codes[$0]) }
    }
}

extension Distance {
    /// Reorders `count` floats into the *byte-interleaved* layout the code kernels read:
    /// within each full block of 64 components, position `16·j + i` holds component
    /// `4·i + j` (so lane `i` of sub-vector `j` lines up with byte `j` of the `i`-th 32-bit
    /// word of the codes); the `count % 64` tail stays in natural order.
    public static func interleaveForCodes(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        let blocks = count / 64
        for b in 0..<blocks {
            for j in 0..<4 {
                for i in 0..<16 { destination[64 * b + 16 * j + i] = source[64 * b + 4 * i + j] }
            }
        }
        for i in (blocks * 64)..<count { destination[i] = source[i] }
    }

    /// Widens the 64 bytes of `words` to four `SIMD16<Float>`: sub-vector `j` holds byte
    /// `j` of each 32-bit word. Exact (uses the 2²³ exponent trick: `0x4B000000 | byte`
    /// is the float `8388608 + byte`), and compiles to shifts, masks and one subtract —
    /// no per-lane conversion calls.
    @inlinable @inline(__always)
    static func widenBytes(_ words: SIMD16<UInt32>) -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
        let mask = SIMD16<UInt32>(repeating: 0xFF), magic = SIMD16<UInt32>(repeating: 0x4B00_0000)
        let bias = SIMD16<Float>(repeating: 8_388_608)
        return (
            unsafeBitCast((words & mask) | magic, to: SIMD16<Float>.self) - bias,
            unsafeBitCast(((words &>> 8) & mask) | magic, to: SIMD16<Float>.self) - bias,
            unsafeBitCast(((words &>> 16) & mask) | magic, to: SIMD16<Float>.self) - bias,
            unsafeBitCast((words &>> 24) | magic, to: SIMD16<Float>.self) - bias
        )
    }

    /// `Σ w[i]·c[i]` for float weights `w` in the interleaved layout of
    /// `interleaveForCodes` and byte codes `c` in natural order.
    ///
    /// Contract: blocks of 64 codes loaded as one `SIMD16<UInt32>` and widened exactly by
    /// `widenBytes`, four `SIMD16<Float>` accumulators (one per byte position), scalar tail
    /// for `count % 64`; `Float` accumulation; agrees with the natural-order scalar sum
    /// within `2·n·ε·Σ|w[i]·c[i]|`. NaN in `w` gives NaN.
    @inlinable
    public static func dotCodes(_ w: UnsafePointer<Float>, _ c: UnsafePointer<UInt8>, count: Int) -> Float {
        let rw = UnsafeRawPointer(w), rc = UnsafeRawPointer(c)
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>(), acc2 = SIMD16<Float>(), acc3 = SIMD16<Float>()
        var i = 0
        while i + 64 <= count {
            let (f0, f1, f2, f3) = widenBytes(rc.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt32>.self))
            let o = i &* 4
            acc0 = multiplyAdd(acc0, rw.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), f0)
            acc1 = multiplyAdd(acc1, rw.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self), f1)
            acc2 = multiplyAdd(acc2, rw.loadUnaligned(fromByteOffset: o &+ 128, as: SIMD16<Float>.self), f2)
            acc3 = multiplyAdd(acc3, rw.loadUnaligned(fromByteOffset: o &+ 192, as: SIMD16<Float>.self), f3)
            i &+= 64
        }
        var sum = horizontalSum((acc0 + acc1) + (acc2 + acc3))
        while i < count {
            sum += w[i] * Float(c[i])
            i &+= 1
        }
        return sum
    }

    /// `Σ w[i]·(t[i] − c[i])²` (the quantized L2 distance with `w = step²`,
    /// `t = (q − lower)/step`), `w` and `t` in the interleaved layout. Contract as `dotCodes`.
    @inlinable
    public static func weightedSquaredL2Codes(
        _ w: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ c: UnsafePointer<UInt8>, count: Int
    ) -> Float {
        let rw = UnsafeRawPointer(w), rt = UnsafeRawPointer(t), rc = UnsafeRawPointer(c)
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>(), acc2 = SIMD16<Float>(), acc3 = SIMD16<Float>()
        var i = 0
        while i + 64 <= count {
            let (f0, f1, f2, f3) = widenBytes(rc.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt32>.self))
            let o = i &* 4
            let d0 = rt.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self) - f0
            let d1 = rt.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self) - f1
            let d2 = rt.loadUnaligned(fromByteOffset: o &+ 128, as: SIMD16<Float>.self) - f2
            let d3 = rt.loadUnaligned(fromByteOffset: o &+ 192, as: SIMD16<Float>.self) - f3
            acc0 = multiplyAdd(acc0, rw.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self) * d0, d0)
            acc1 = multiplyAdd(acc1, rw.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self) * d1, d1)
            acc2 = multiplyAdd(acc2, rw.loadUnaligned(fromByteOffset: o &+ 128, as: SIMD16<Float>.self) * d2, d2)
            acc3 = multiplyAdd(acc3, rw.loadUnaligned(fromByteOffset: o &+ 192, as: SIMD16<Float>.self) * d3, d3)
            i &+= 64
        }
        var sum = horizontalSum((acc0 + acc1) + (acc2 + acc3))
        while i < count {
            let d = t[i] - Float(c[i])
            sum += w[i] * d * d
            i &+= 1
        }
        return sum
    }
}
