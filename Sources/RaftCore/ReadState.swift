/// The result of a ReadIndex request: once the state machine has applied `index`, the read
/// identified by `requestID` may be served from local state and is linearizable.
public struct ReadState: Equatable, Sendable, Codable {
    public var requestID: UInt64
    public var index: LogIndex

    public init(requestID: UInt64, index: LogIndex) {
        self.requestID = requestID
        self.index = index
    }
}
