/// One entry of the replicated log.
public struct LogEntry: Equatable, Sendable, Codable {
    /// What an entry carries.
    public enum Payload: Equatable, Sendable, Codable {
        /// The entry a new leader appends at the start of its term (Raft §8), and nothing else.
        case empty
        /// An opaque command for the application's state machine.
        case command([UInt8])
        /// A single-server membership change and the whole membership it results in (so a
        /// server that joins later learns the membership from this entry alone); it takes
        /// effect on a server as soon as the entry is in its log.
        case membershipChange(MembershipChange, resulting: Membership)
    }

    public var term: Term
    public var index: LogIndex
    public var payload: Payload

    public init(term: Term, index: LogIndex, payload: Payload) {
        self.term = term
        self.index = index
        self.payload = payload
    }

    /// Approximate size used for batching (`maxMessageBytes`): the payload plus a fixed header.
    var byteCount: Int {
        switch payload {
        case .empty: return 16
        case .command(let bytes): return 16 + bytes.count
        case .membershipChange: return 32
        }
    }

    /// The membership change this entry carries, if any.
    public var membershipChange: MembershipChange? {
        switch payload {
        case .membershipChange(let change, _): return change
        case .empty, .command: return nil
        }
    }

    /// The membership in force once this entry is in a log, if it is a membership change.
    public var resultingMembership: Membership? {
        switch payload {
        case .membershipChange(_, let resulting): return resulting
        case .empty, .command: return nil
        }
    }
}
