/// A node ready to run (or running): what a worker leases.
///
/// Invariant: `attempt` starts at 1 and grows by one per retry, up to the node's
/// `retry.maxAttempts`; `item` is set exactly for fan-out tasks.
public struct GraphTask: Sendable, Hashable, Codable, CustomStringConvertible {
    public let id: GraphTaskID
    /// The fan-out element this task handles (`item` in its expressions).
    public let item: GraphValue?
    public let attempt: Int

    public init(id: GraphTaskID, item: GraphValue? = nil, attempt: Int = 1) {
        self.id = id
        self.item = item
        self.attempt = attempt
    }

    /// The node this task runs.
    public var node: String { id.node }

    public var description: String { attempt == 1 ? id.description : "\(id) (attempt \(attempt))" }
}

/// A task handed to the caller: run it after `delayMillis` (non-zero only for retries).
public struct ReadyTask: Sendable, Hashable, Codable {
    public let task: GraphTask
    public let delayMillis: Int

    public init(task: GraphTask, delayMillis: Int = 0) {
        self.task = task
        self.delayMillis = delayMillis
    }
}
