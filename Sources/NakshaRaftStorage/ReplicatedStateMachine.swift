import NakshaCore

/// What applying one committed command knows besides the command: its place in the log, the
/// leader's timestamp stamped when the entry was appended, and the command's request id.
///
/// Invariant: every replica sees the same context for the same entry, so a state machine may
/// derive ids, lease expiries and seeded jitter from it deterministically. `timestampMillis`
/// never decreases along the log, across leaders too (a leader stamps at least the newest
/// timestamp in its log). Never read the local clock inside `apply`.
public struct ApplyContext: Sendable, Equatable {
    public var index: UInt64
    public var term: UInt64
    /// Milliseconds since the Unix epoch on the leader that appended the entry.
    public var timestampMillis: UInt64
    public var requestID: RequestID

    public init(index: UInt64, term: UInt64, timestampMillis: UInt64, requestID: RequestID) {
        self.index = index
        self.term = term
        self.timestampMillis = timestampMillis
        self.requestID = requestID
    }
}

/// What a replica applies committed commands to.
///
/// Invariants: `apply` is deterministic — every replica that applies the same commands with
/// the same contexts in the same order reaches the same state and returns the same results;
/// `snapshot` followed by `restore` on another replica yields an equal state. `snapshot`
/// throws rather than return something `restore` would read as another state (an empty
/// snapshot is never "the empty state" by accident), and both carry a format version that
/// `restore` checks.
public protocol ReplicatedStateMachine: Sendable {
    /// Applies one committed command and returns its result for the proposer.
    mutating func apply(_ command: [UInt8], context: ApplyContext) -> [UInt8]
    /// The whole state, for a snapshot.
    func snapshot() throws -> [UInt8]
    /// Replaces the whole state with a snapshot's; throws on bytes it does not understand
    /// (an unknown version included), changing nothing.
    mutating func restore(_ snapshot: [UInt8]) throws
}

/// Why a state machine refused a snapshot or a command.
public struct StateMachineError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        /// A snapshot or command of a format version this build does not know.
        public static let unknownVersion = Code(name: "unknownVersion")
        /// Bytes that do not decode.
        public static let malformed = Code(name: "malformed")
        /// A command for a sub-machine that this node does not host.
        public static let unknownMachine = Code(name: "unknownMachine")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "StateMachineError.\(code): \(message)" }
}
