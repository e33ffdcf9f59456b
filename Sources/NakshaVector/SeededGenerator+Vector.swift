import NakshaCore

extension SeededGenerator {
    /// A uniform `Float` in [0, 1) from the top 24 bits (HNSW level draws, test data).
    @inlinable
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }
}
