/// Everything the core asks its shell to do, as plain values.
///
/// Ordering contract (as etcd-io/raft's `Ready`): the shell must, in this order,
/// 1. durably persist `snapshot` (if any), then `entries` (first truncating any stored entries
///    at or after `entries.first.index`), then `hardState` (if any), and sync;
/// 2. only then send `messages` — they may acknowledge or vote on the persisted state, so
///    sending them first could lose acknowledged entries or let a server vote twice in a term;
/// 3. install `snapshot` in the state machine and apply `committedEntries` in order;
/// 4. serve `readStates` once the state machine has applied each one's `index`;
/// 5. call `advance(_:)` with this value before asking for the next `Ready`.
public struct Ready: Equatable, Sendable, Codable {
    public var softState: SoftState?
    public var hardState: HardState?
    public var snapshot: Snapshot?
    public var entries: [LogEntry]
    public var messages: [RaftMessage]
    public var committedEntries: [LogEntry]
    public var readStates: [ReadState]

    public init(
        softState: SoftState? = nil,
        hardState: HardState? = nil,
        snapshot: Snapshot? = nil,
        entries: [LogEntry] = [],
        messages: [RaftMessage] = [],
        committedEntries: [LogEntry] = [],
        readStates: [ReadState] = []
    ) {
        self.softState = softState
        self.hardState = hardState
        self.snapshot = snapshot
        self.entries = entries
        self.messages = messages
        self.committedEntries = committedEntries
        self.readStates = readStates
    }
}
