/// Seeded pseudo-random generator (Steele, Lea & Flood's SplitMix64), used wherever an
/// index needs randomness (HNSW levels), so a build is a pure function of its inputs and
/// seed. Not cryptographic.
///
/// Invariant: the sequence depends only on the seed; `next()` advances `state` by the
/// golden-ratio increment and mixes it.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform `Float` in [0, 1) from the top 24 bits.
    @inlinable
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }
}
