/// A Raft term: a logical epoch in which at most one leader exists (Raft §5.1).
public typealias Term = UInt64

/// A position in the replicated log. Index 0 is the empty prefix; real entries start at 1.
public typealias LogIndex = UInt64

/// The identity of one member of a Raft group. Stable across restarts, never reused.
public struct ReplicaID: RawRepresentable, Hashable, Sendable, Codable {
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: UInt64) {
        self.rawValue = rawValue
    }
}

extension ReplicaID: Comparable {
    public static func < (lhs: ReplicaID, rhs: ReplicaID) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}

extension ReplicaID: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: UInt64) {
        self.rawValue = value
    }
}

extension ReplicaID: CustomStringConvertible {
    public var description: String { "r\(rawValue)" }
}
