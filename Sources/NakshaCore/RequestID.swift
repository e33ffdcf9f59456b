/// The identity of one client command: which client (a random 64-bit id per client process
/// or session) and its sequence number there. Every command proposed to the replicated log
/// carries one, so a state machine applies a command at most once even when a client retries
/// it after an unknown outcome.
public struct RequestID: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var client: UInt64
    public var sequence: UInt64

    public init(client: UInt64, sequence: UInt64) {
        self.client = client
        self.sequence = sequence
    }

    /// A fresh id from the system's random source (never from a seeded generator: two
    /// processes must not collide).
    public static func random() -> RequestID {
        var generator = SystemRandomNumberGenerator()
        return RequestID(client: generator.next(), sequence: generator.next())
    }

    public static func < (lhs: RequestID, rhs: RequestID) -> Bool {
        (lhs.client, lhs.sequence) < (rhs.client, rhs.sequence)
    }

    public var description: String {
        let hex = String(client, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex + "-\(sequence)"
    }
}
