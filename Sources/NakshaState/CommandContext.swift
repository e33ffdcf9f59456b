/// What applying one command knows besides the command itself: the entry's place in the log
/// and the leader's timestamp stamped when the entry was appended. The coordinator builds it
/// from the Raft layer's `ApplyContext` (this target does not import the Raft targets).
///
/// Invariant (the log guarantees it): `index` grows strictly and `timestampMillis` never
/// decreases from one applied command to the next. Every replica sees the same context for
/// the same entry, so ids, lease tokens, expiries and jitter derived from it are identical
/// everywhere.
public struct CommandContext: Sendable, Hashable, Codable {
    public var index: UInt64
    public var term: UInt64
    /// Milliseconds since the Unix epoch on the leader that appended the entry.
    public var timestampMillis: UInt64

    public init(index: UInt64, term: UInt64, timestampMillis: UInt64) {
        self.index = index
        self.term = term
        self.timestampMillis = timestampMillis
    }
}
