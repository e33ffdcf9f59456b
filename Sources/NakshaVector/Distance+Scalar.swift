/// Distance kernels. `Distance` is a namespace; the scalar functions here are the reference
/// every SIMD kernel is tested against, and the tail path every SIMD kernel uses.
public enum Distance {}

extension Distance {
    /// Inner product `Σ a[i]·b[i]`, scalar reference.
    ///
    /// Contract: one `Float` accumulator, summed in index order (recursive summation, error
    /// ≤ n·ε·Σ|a[i]·b[i]|); NaN in either input gives NaN; `count == 0` gives 0.
    @inlinable
    public static func dotScalar(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var sum: Float = 0
        for i in 0..<count { sum += a[i] * b[i] }
        return sum
    }

    /// Squared Euclidean distance `Σ (a[i] − b[i])²`, scalar reference.
    ///
    /// Contract: one `Float` accumulator in index order; NaN in either input gives NaN.
    @inlinable
    public static func squaredL2Scalar(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var sum: Float = 0
        for i in 0..<count {
            let d = a[i] - b[i]
            sum += d * d
        }
        return sum
    }

    /// Cosine distance `1 − ⟨a,b⟩/(‖a‖·‖b‖)`, scalar reference.
    ///
    /// Contract: three `Float` accumulators (dot, ‖a‖², ‖b‖²) in index order; if either
    /// norm is zero the vectors are treated as orthogonal and the result is 1; NaN in either
    /// input gives NaN. The result is not clamped: rounding may give values a few ulp outside
    /// [0, 2].
    @inlinable
    public static func cosineScalar(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var dot: Float = 0
        var na: Float = 0
        var nb: Float = 0
        for i in 0..<count {
            dot += a[i] * b[i]
            na += a[i] * a[i]
            nb += b[i] * b[i]
        }
        return cosineFromParts(dot: dot, normSquaredA: na, normSquaredB: nb)
    }

    /// Shared by the scalar and SIMD cosine kernels so both apply the same zero-norm rule.
    @inlinable
    static func cosineFromParts(dot: Float, normSquaredA: Float, normSquaredB: Float) -> Float {
        let denominator = (normSquaredA * normSquaredB).squareRoot()
        if denominator == 0 { return dot.isNaN ? .nan : 1 }
        return 1 - dot / denominator
    }
}
