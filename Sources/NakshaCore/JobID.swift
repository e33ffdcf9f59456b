/// Identifies one job: the Raft index of the entry that submitted it.
///
/// Invariant: unique for the life of a cluster (log indexes never repeat) and ordered by
/// submission, so paging in id order is paging in submission order.
public struct JobID: RawRepresentable, Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Parses the decimal form written by `description`.
    public init?(parsing text: String) {
        guard let value = UInt64(text) else { return nil }
        self.rawValue = value
    }

    public static func < (lhs: JobID, rhs: JobID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}
