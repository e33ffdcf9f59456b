import RaftCore

/// A deterministic running digest (FNV-1a over 64-bit words). Unlike `Hasher`, its values are
/// identical across processes, so two runs of one seed can be compared.
public struct TraceDigest: Equatable, Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func mix(_ word: UInt64) {
        var remaining = word
        for _ in 0..<8 {
            value ^= remaining & 0xff
            value = value &* 0x100_0000_01b3
            remaining >>= 8
        }
    }

    public mutating func mix(_ bytes: [UInt8]) {
        mix(UInt64(bytes.count))
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
    }

    /// A digest of one log entry's identity (term, index, payload).
    static func entryHash(_ entry: LogEntry) -> UInt64 {
        var digest = TraceDigest()
        digest.mix(entry.term)
        digest.mix(entry.index)
        digest.mix(payloadHash(entry.payload))
        return digest.value
    }

    static func payloadHash(_ payload: LogEntry.Payload) -> UInt64 {
        var digest = TraceDigest()
        switch payload {
        case .empty:
            digest.mix(1)
        case .command(let bytes):
            digest.mix(2)
            digest.mix(bytes)
        case .membershipChange(let change, _):
            switch change {
            case .addLearner(let id): digest.mix(3); digest.mix(id.rawValue)
            case .promoteLearner(let id): digest.mix(4); digest.mix(id.rawValue)
            case .remove(let id): digest.mix(5); digest.mix(id.rawValue)
            }
        }
        return digest.value
    }
}
