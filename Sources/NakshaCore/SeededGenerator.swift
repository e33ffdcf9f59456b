/// A small, fast, seeded pseudo-random generator (SplitMix64).
///
/// Invariant: the sequence of values is a pure function of the seed, on every platform and
/// in every build mode, so a simulation or a robustness test that prints its seed can be
/// replayed exactly. It is not cryptographically secure; never use it for keys or tokens.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable {
    /// The current internal state; advancing it by the golden-ratio increment yields the
    /// next output after mixing.
    public private(set) var state: UInt64

    /// Creates a generator whose whole future sequence is determined by `seed`.
    public init(seed: UInt64) {
        self.state = seed
    }

    /// The next 64 pseudo-random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed &>> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed &>> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed &>> 31)
    }

    /// A value uniformly distributed in `0..<upperBound` (Lemire's multiply-shift with
    /// rejection, so there is no modulo bias). `upperBound` must be positive.
    public mutating func next(below upperBound: UInt64) -> UInt64 {
        precondition(upperBound > 0, "SeededGenerator.next(below:) needs a positive bound")
        let threshold = (0 &- upperBound) % upperBound
        while true {
            let product = next().multipliedFullWidth(by: upperBound)
            if product.low >= threshold {
                return product.high
            }
        }
    }

    /// A derived generator for an independent sub-stream (for example one per simulated
    /// node), so that adding draws in one stream does not shift the others.
    public mutating func fork() -> SeededGenerator {
        SeededGenerator(seed: next())
    }
}
