/// A finished job as kept in the archive (`naksha_jobs` + `naksha_job_nodes`).
///
/// Invariants: `id` is the job id from ClusterState, unique; archiving is first-write-wins
/// (a second archive of the same id is a no-op), so the archiver may retry freely.
/// `input` and `finalState` are opaque bytes (the binary-codec encoding the coordinator uses).
public struct ArchivedJob: Sendable, Equatable {
    /// How a job or one of its nodes ended.
    public enum Outcome: String, Sendable, Equatable, CaseIterable {
        case succeeded
        case failed
        case cancelled
        case deadLettered = "dead_lettered"
    }

    /// One graph node's execution record.
    public struct NodeRun: Sendable, Equatable {
        public var nodeID: String
        public var attempts: Int
        public var startedAtMillis: Int64
        public var finishedAtMillis: Int64
        public var outcome: Outcome

        public init(nodeID: String, attempts: Int, startedAtMillis: Int64, finishedAtMillis: Int64, outcome: Outcome) {
            self.nodeID = nodeID
            self.attempts = attempts
            self.startedAtMillis = startedAtMillis
            self.finishedAtMillis = finishedAtMillis
            self.outcome = outcome
        }
    }

    public var id: String
    public var graphName: String
    public var graphVersion: Int
    public var input: [UInt8]
    public var outcome: Outcome
    public var finalState: [UInt8]
    /// Ordered by `nodeID` when read back.
    public var nodeRuns: [NodeRun]
    public var promptTokens: Int64
    public var completionTokens: Int64
    /// Cost in millionths of a US dollar.
    public var costMicroUSD: Int64
    public var error: String?
    public var submittedAtMillis: Int64
    public var finishedAtMillis: Int64

    public init(
        id: String, graphName: String, graphVersion: Int, input: [UInt8], outcome: Outcome,
        finalState: [UInt8], nodeRuns: [NodeRun], promptTokens: Int64 = 0, completionTokens: Int64 = 0,
        costMicroUSD: Int64 = 0, error: String? = nil, submittedAtMillis: Int64, finishedAtMillis: Int64
    ) {
        self.id = id
        self.graphName = graphName
        self.graphVersion = graphVersion
        self.input = input
        self.outcome = outcome
        self.finalState = finalState
        self.nodeRuns = nodeRuns
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.costMicroUSD = costMicroUSD
        self.error = error
        self.submittedAtMillis = submittedAtMillis
        self.finishedAtMillis = finishedAtMillis
    }
}
