/// Proves that a worker holds the current lease of a task: the Raft index of the entry that
/// granted the lease. A completion or failure must carry it; a token from an earlier lease of
/// the same task is stale and refused, so a task's output is recorded once.
///
/// Invariant: a task's successive leases carry strictly increasing tokens.
public struct LeaseToken: RawRepresentable, Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public static func < (lhs: LeaseToken, rhs: LeaseToken) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}
