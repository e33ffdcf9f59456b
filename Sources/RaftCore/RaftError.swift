/// An error returned by the Raft core. The `code` is stable; `detail` says what to do.
public struct RaftError: Error, Equatable, Sendable, Codable {
    /// A stable error code.
    public struct Code: Equatable, Hashable, Sendable, Codable, CustomStringConvertible {
        private enum Base: String, Equatable, Hashable, Sendable, CaseIterable {
            case notLeader
            case leaderTransferInProgress
            case membershipChangePending
            case invalidMembershipChange
            case misaddressedMessage
            case invalidCompaction
            case tooManyUncommittedEntries
            case outcomeUnknown
            case commandTooLarge
            case nodeStopped
            case deadlineExceeded
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The stable name (`notLeader`, …), which is also the encoded form.
        public var description: String { base.rawValue }

        public init(from decoder: any Decoder) throws {
            let name = try decoder.singleValueContainer().decode(String.self)
            guard let base = Base(rawValue: name) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown RaftError code \(name)"))
            }
            self.base = base
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(base.rawValue)
        }

        /// This server is not the leader; retry at `leaderHint` if known.
        public static let notLeader = Code(.notLeader)
        /// The leader is handing over leadership and accepts no proposals meanwhile.
        public static let leaderTransferInProgress = Code(.leaderTransferInProgress)
        /// An earlier membership change is not yet committed (or the leader has not yet
        /// committed an entry of its term); retry later.
        public static let membershipChangePending = Code(.membershipChangePending)
        /// The requested membership change does not apply to the current membership.
        public static let invalidMembershipChange = Code(.invalidMembershipChange)
        /// A message addressed to another server was stepped into this one.
        public static let misaddressedMessage = Code(.misaddressedMessage)
        /// A compaction index outside (snapshot index, applied index].
        public static let invalidCompaction = Code(.invalidCompaction)
        /// The leader has `maxUncommittedEntries` uncommitted entries; retry later.
        public static let tooManyUncommittedEntries = Code(.tooManyUncommittedEntries)
        /// The command may or may not have been applied (the leader appended it, then the
        /// answer was lost: leadership moved, a snapshot replaced the log, the connection
        /// dropped). Never retried automatically: read back, or retry with the same request
        /// id, which the state machine applies at most once.
        public static let outcomeUnknown = Code(.outcomeUnknown)
        /// The command is larger than `maxCommandBytes`; nothing was appended.
        public static let commandTooLarge = Code(.commandTooLarge)
        /// The node stopped after a storage failure (fail-stop); restart it.
        public static let nodeStopped = Code(.nodeStopped)
        /// A local call's deadline passed before it was answered (reads: retry; proposals
        /// are reported as `outcomeUnknown` instead).
        public static let deadlineExceeded = Code(.deadlineExceeded)
    }

    public var code: Code
    public var leaderHint: ReplicaID?
    public var detail: String

    public init(code: Code, leaderHint: ReplicaID? = nil, detail: String) {
        self.code = code
        self.leaderHint = leaderHint
        self.detail = detail
    }

    public static func notLeader(leaderHint: ReplicaID?) -> RaftError {
        let hint = leaderHint.map { "; retry at leader \($0)" } ?? "; no leader known, retry later"
        return RaftError(code: .notLeader, leaderHint: leaderHint, detail: "not the leader" + hint)
    }

    public static var leaderTransferInProgress: RaftError {
        RaftError(code: .leaderTransferInProgress, detail: "leadership transfer in progress; retry at the new leader")
    }

    public static var membershipChangePending: RaftError {
        RaftError(code: .membershipChangePending, detail: "a membership change is still pending; retry after it commits")
    }

    public static func invalidMembershipChange(_ reason: String) -> RaftError {
        RaftError(code: .invalidMembershipChange, detail: "invalid membership change: \(reason)")
    }

    public static func misaddressedMessage(to: ReplicaID, at: ReplicaID) -> RaftError {
        RaftError(code: .misaddressedMessage, detail: "message for \(to) stepped into \(at); check the routing")
    }

    public static var tooManyUncommittedEntries: RaftError {
        RaftError(code: .tooManyUncommittedEntries, detail: "too many uncommitted entries (is a quorum reachable?); retry later")
    }

    public static func outcomeUnknown(_ reason: String, leaderHint: ReplicaID? = nil) -> RaftError {
        RaftError(
            code: .outcomeUnknown, leaderHint: leaderHint,
            detail: "outcome unknown: \(reason); the command may have been applied — read it back, or retry with the same request id")
    }

    public static func commandTooLarge(bytes: Int, limit: Int) -> RaftError {
        RaftError(code: .commandTooLarge, detail: "command of \(bytes) bytes is over the limit of \(limit) bytes (maxCommandBytes); nothing was appended")
    }

    public static func nodeStopped(_ reason: String) -> RaftError {
        RaftError(code: .nodeStopped, detail: "the node stopped after a storage failure (\(reason)); it answers nothing until restarted")
    }

    public static func deadlineExceeded(_ what: String) -> RaftError {
        RaftError(code: .deadlineExceeded, detail: "\(what) did not finish before its deadline")
    }

    public static func invalidCompaction(_ reason: String) -> RaftError {
        RaftError(code: .invalidCompaction, detail: "cannot compact: \(reason)")
    }
}

extension RaftError: CustomStringConvertible {
    public var description: String { detail }
}
