import RaftCore

/// A simulated disk holding only what a `Ready` told the node to persist and that was synced.
/// A crash loses everything else (the in-memory `RaftCore`, unsent messages, app state).
struct SimulatedStorage: Sendable {
    var hardState = HardState()
    var snapshot: Snapshot
    var entries: [LogEntry] = []

    init(state: PersistentState) {
        hardState = state.hardState
        snapshot = state.snapshot
        entries = state.entries
    }

    var persistentState: PersistentState {
        PersistentState(hardState: hardState, snapshot: snapshot, entries: entries)
    }

    var lastIndex: LogIndex { snapshot.metadata.index + LogIndex(entries.count) }

    func term(at index: LogIndex) -> Term? {
        let base = snapshot.metadata.index
        if index == base { return snapshot.metadata.term }
        guard index > base, index <= lastIndex else { return nil }
        return entries[Int(index - base - 1)].term
    }

    /// Installs a snapshot received from the leader: it replaces the whole log.
    mutating func install(_ newSnapshot: Snapshot) {
        snapshot = newSnapshot
        entries = []
    }

    /// Records a snapshot made by compaction: drops entries it covers.
    mutating func compact(_ newSnapshot: Snapshot) {
        let index = newSnapshot.metadata.index
        guard index > snapshot.metadata.index else { return }
        let drop = min(Int(index - snapshot.metadata.index), entries.count)
        entries.removeFirst(drop)
        snapshot = newSnapshot
    }

    /// Appends entries, truncating any stored suffix they replace. Returns the removed entries.
    mutating func append(_ newEntries: [LogEntry]) -> [LogEntry] {
        guard let first = newEntries.first else { return [] }
        let base = snapshot.metadata.index
        guard first.index > base else {
            // Entries inside the snapshot can only arrive together with it; keep what is after.
            let kept = newEntries.filter { $0.index > base }
            return append(kept)
        }
        var removed: [LogEntry] = []
        let position = Int(first.index - base - 1)
        if position < entries.count {
            removed = Array(entries[position...])
            entries.removeSubrange(position...)
        }
        entries.append(contentsOf: newEntries)
        return removed
    }
}
