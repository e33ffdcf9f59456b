/// The in-memory replicated log of one server.
///
/// Layout: a compacted prefix ending at `snapshotIndex` (term `snapshotTerm`), then `entries`.
/// `stableIndex` splits the entries into a persisted (stable) prefix and an unstable suffix
/// that the next `Ready` hands to the shell. Invariant: `entries[k].index == snapshotIndex + 1 + k`
/// and `snapshotIndex <= applied <= committed <= lastIndex`.
struct RaftLog: Sendable, Equatable {
    private(set) var snapshotIndex: LogIndex
    private(set) var snapshotTerm: Term
    private(set) var entries: [LogEntry]
    /// The last index known to be on stable storage.
    private(set) var stableIndex: LogIndex
    private(set) var committed: LogIndex
    /// The last index handed to the shell for applying.
    private(set) var applied: LogIndex
    /// A snapshot received from the leader and not yet persisted by the shell.
    private(set) var unstableSnapshot: Snapshot?

    init(snapshotIndex: LogIndex, snapshotTerm: Term, entries: [LogEntry], committed: LogIndex) {
        self.snapshotIndex = snapshotIndex
        self.snapshotTerm = snapshotTerm
        self.entries = entries
        let last = snapshotIndex + LogIndex(entries.count)
        self.stableIndex = last
        self.committed = min(max(committed, snapshotIndex), last)
        self.applied = snapshotIndex
        self.unstableSnapshot = nil
    }

    var firstIndex: LogIndex { snapshotIndex + 1 }
    var lastIndex: LogIndex { snapshotIndex + LogIndex(entries.count) }
    var lastTerm: Term { entries.last?.term ?? snapshotTerm }

    /// The term of the entry at `index`, or nil when it is compacted away or beyond the end.
    func term(at index: LogIndex) -> Term? {
        if index == snapshotIndex { return snapshotTerm }
        guard index > snapshotIndex, index <= lastIndex else { return nil }
        return entries[position(of: index)].term
    }

    func entry(at index: LogIndex) -> LogEntry? {
        guard index > snapshotIndex, index <= lastIndex else { return nil }
        return entries[position(of: index)]
    }

    func matchTerm(_ index: LogIndex, _ term: Term) -> Bool {
        self.term(at: index) == term
    }

    /// Raft §5.4.1: a log is at least as up-to-date as ours if its last term is higher, or
    /// equal with an index at least as large.
    func isUpToDate(lastIndex candidateIndex: LogIndex, lastTerm candidateTerm: Term) -> Bool {
        candidateTerm > lastTerm || (candidateTerm == lastTerm && candidateIndex >= lastIndex)
    }

    private func position(of index: LogIndex) -> Int {
        Int(index - snapshotIndex - 1)
    }

    /// Entries in `from...lastIndex`, at least one (if any) and otherwise at most `maxBytes`.
    /// Nil when `from` is compacted away.
    func entries(from index: LogIndex, maxBytes: Int) -> [LogEntry]? {
        guard index > snapshotIndex else { return nil }
        guard index <= lastIndex else { return [] }
        var result: [LogEntry] = []
        var bytes = 0
        for entry in entries[position(of: index)...] {
            bytes += entry.byteCount
            if !result.isEmpty && bytes > maxBytes { break }
            result.append(entry)
        }
        return result
    }

    /// Entries in `from...through` (both inside the log).
    func entries(from index: LogIndex, through last: LogIndex) -> [LogEntry] {
        guard index <= last, index > snapshotIndex, last <= lastIndex else { return [] }
        return Array(entries[position(of: index)...position(of: last)])
    }

    /// Entries not yet persisted.
    var unstableEntries: [LogEntry] {
        entries(from: stableIndex + 1, through: lastIndex)
    }

    /// Committed entries not yet handed out for applying.
    var entriesToApply: [LogEntry] {
        entries(from: max(applied, snapshotIndex) + 1, through: committed)
    }

    /// Appends `newEntries` (contiguous, starting at most at `lastIndex + 1`), truncating any
    /// conflicting suffix. Returns the index of the first entry that was truncated, if any.
    @discardableResult
    mutating func append(_ newEntries: [LogEntry]) -> LogIndex? {
        guard let first = newEntries.first else { return nil }
        precondition(first.index > committed, "RaftLog.append would overwrite committed index \(first.index)")
        precondition(first.index <= lastIndex + 1, "RaftLog.append leaves a gap at \(first.index)")
        var truncatedAt: LogIndex?
        if first.index <= lastIndex {
            truncatedAt = first.index
            entries.removeSubrange(position(of: first.index)...)
            stableIndex = min(stableIndex, first.index - 1)
        }
        entries.append(contentsOf: newEntries)
        return truncatedAt
    }

    /// The index of the first entry of `newEntries` that the log lacks or holds with another
    /// term, or nil when the log already contains them all (Figure 2, AppendEntries step 3).
    func firstConflict(in newEntries: [LogEntry]) -> LogEntry? {
        for entry in newEntries where !matchTerm(entry.index, entry.term) {
            return entry
        }
        return nil
    }

    /// The largest index `<= index` whose term is `<= term` (fast backtracking), with its term.
    func lastIndex(atOrBelow index: LogIndex, withTermAtMost term: Term) -> (index: LogIndex, term: Term) {
        var candidate = min(index, lastIndex)
        while candidate > snapshotIndex, let candidateTerm = self.term(at: candidate), candidateTerm > term {
            candidate -= 1
        }
        return (candidate, self.term(at: candidate) ?? 0)
    }

    mutating func commit(to index: LogIndex) {
        guard index > committed else { return }
        precondition(index <= lastIndex, "RaftLog.commit(to: \(index)) beyond last index \(lastIndex)")
        committed = index
    }

    mutating func markHandedOutForApply(through index: LogIndex) {
        applied = max(applied, index)
    }

    /// Records that the shell persisted entries through `index` with `term` (ignored if the
    /// log was truncated since).
    mutating func markStable(through index: LogIndex, term: Term) {
        guard matchTerm(index, term), index > stableIndex else { return }
        stableIndex = index
    }

    mutating func markSnapshotStable(index: LogIndex) {
        if unstableSnapshot?.metadata.index == index {
            unstableSnapshot = nil
        }
    }

    /// Replaces the whole log by `snapshot` (InstallSnapshot, §7).
    mutating func restore(_ snapshot: Snapshot) {
        snapshotIndex = snapshot.metadata.index
        snapshotTerm = snapshot.metadata.term
        entries = []
        stableIndex = snapshotIndex
        committed = snapshotIndex
        applied = snapshotIndex
        unstableSnapshot = snapshot
    }

    /// Drops entries through `index` (already applied and captured in a snapshot).
    mutating func compact(through index: LogIndex) {
        guard index > snapshotIndex, index <= lastIndex, let term = term(at: index) else { return }
        entries.removeSubrange(...position(of: index))
        snapshotIndex = index
        snapshotTerm = term
        stableIndex = max(stableIndex, index)
    }
}
