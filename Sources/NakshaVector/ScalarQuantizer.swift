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
    /// Weighted product of float weights with byte codes: `Σ w[i]·c[i]`.
    ///
    /// Contract: bytes are widened to `Float` sixteen at a time (`SIMD16<UInt8>` →
    /// `SIMD16<Float>`), two `SIMD16<Float>` accumulators over blocks of 32, one over a
    /// remaining block of 16, scalar tail for `count % 16`; `Float` accumulation; agrees
    /// with the scalar sum within `2·n·ε·Σ|w[i]·c[i]|`. NaN in `w` gives NaN.
    @inlinable
    public static func dotCodes(_ w: UnsafePointer<Float>, _ c: UnsafePointer<UInt8>, count: Int) -> Float {
        let rw = UnsafeRawPointer(w), rc = UnsafeRawPointer(c)
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= count {
            let c0 = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: rc.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)))
            let c1 = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: rc.loadUnaligned(fromByteOffset: i &+ 16, as: SIMD16<UInt8>.self)))
            acc0 = acc0.addingProduct(rw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self), c0)
            acc1 = acc1.addingProduct(rw.loadUnaligned(fromByteOffset: i &* 4 &+ 64, as: SIMD16<Float>.self), c1)
            i &+= 32
        }
        if i + 16 <= count {
            let c0 = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: rc.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)))
            acc0 = acc0.addingProduct(rw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self), c0)
            i &+= 16
        }
        var sum = (acc0 + acc1).sum()
        while i < count {
            sum += w[i] * Float(c[i])
            i &+= 1
        }
        return sum
    }

    /// Weighted squared distance between float targets and byte codes:
    /// `Σ w[i]·(t[i] − c[i])²` (the quantized L2 distance with `w = step²`,
    /// `t = (q − lower)/step`). Contract as `dotCodes`.
    @inlinable
    public static func weightedSquaredL2Codes(
        _ w: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ c: UnsafePointer<UInt8>, count: Int
    ) -> Float {
        let rw = UnsafeRawPointer(w), rt = UnsafeRawPointer(t), rc = UnsafeRawPointer(c)
        var acc0 = SIMD16<Float>()
        var i = 0
        while i + 16 <= count {
            let c0 = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: rc.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)))
            let d = rt.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self) - c0
            acc0 = acc0.addingProduct(rw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self) * d, d)
            i &+= 16
        }
        var sum = acc0.sum()
        while i < count {
            let d = t[i] - Float(c[i])
            sum += w[i] * d * d
            i &+= 1
        }
        return sum
    }
}
