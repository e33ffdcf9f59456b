/// FNV-1a, 64 bits: a small, stable, non-cryptographic hash — the same value on every
/// machine, in every run and every release (unlike `Hasher`, which is seeded per process).
/// Used where a hash is stored or replicated: idempotency-key bodies, the offline embedder's
/// feature slots, a vector id's shard.
public enum FNV1a {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var hash = offsetBasis
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* prime
        }
        return hash
    }
}
