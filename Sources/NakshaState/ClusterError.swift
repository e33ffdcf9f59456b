/// Why `ClusterState` refused a command (or, for `outputTooLarge`, refused a task's output and
/// failed the task). Stable codes, as `PlannerError`: a struct over a private enum.
public struct ClusterError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, Codable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable, Codable, CaseIterable {
            case unknownGraph = "unknown_graph"
            case invalidGraph = "invalid_graph"
            case graphVersionConflict = "graph_version_conflict"
            case invalidInput = "invalid_input"
            case invalidCommand = "invalid_command"
            case idempotencyConflict = "idempotency_conflict"
            case staleLease = "stale_lease"
            case unknownJob = "unknown_job"
            case unknownTask = "unknown_task"
            case unknownWorker = "unknown_worker"
            case outputTooLarge = "output_too_large"
            case stateTooLarge = "state_too_large"
            case notCancellable = "not_cancellable"
            case notInterrupted = "not_interrupted"
            case malformedCommand = "malformed_command"
            case malformedState = "malformed_state"
            case unknownVersion = "unknown_version"
            case unknownCollection = "unknown_collection"
        }

        let base: Base

        /// No registered graph of that name (and version).
        public static let unknownGraph = Code(base: .unknownGraph)
        /// No vector collection of that name.
        public static let unknownCollection = Code(base: .unknownCollection)
        /// A graph definition that does not load or validate, or whose name is not the one given.
        public static let invalidGraph = Code(base: .invalidGraph)
        /// A graph version already registered with other content (bump `version:`).
        public static let graphVersionConflict = Code(base: .graphVersionConflict)
        /// A job input (or resume input) that does not fit the graph's state schema.
        public static let invalidInput = Code(base: .invalidInput)
        /// A command with out-of-range parameters (a zero lease duration, a worker capacity of 0 …).
        public static let invalidCommand = Code(base: .invalidCommand)
        /// An idempotency key reused with a different submit body.
        public static let idempotencyConflict = Code(base: .idempotencyConflict)
        /// The lease token is not the task's current lease (expired, re-leased, finished or cancelled).
        public static let staleLease = Code(base: .staleLease)
        public static let unknownJob = Code(base: .unknownJob)
        public static let unknownTask = Code(base: .unknownTask)
        public static let unknownWorker = Code(base: .unknownWorker)
        /// A task output over `ClusterLimits.maxTaskOutputBytes`; the task is failed.
        public static let outputTooLarge = Code(base: .outputTooLarge)
        /// A job state over `ClusterLimits.maxJobStateBytes`.
        public static let stateTooLarge = Code(base: .stateTooLarge)
        /// Cancel of a job that already ended.
        public static let notCancellable = Code(base: .notCancellable)
        /// Resume of a job that is not interrupted.
        public static let notInterrupted = Code(base: .notInterrupted)
        /// Command bytes that do not decode.
        public static let malformedCommand = Code(base: .malformedCommand)
        /// Snapshot bytes that do not decode.
        public static let malformedState = Code(base: .malformedState)
        /// Command or snapshot bytes of a format version this build does not know.
        public static let unknownVersion = Code(base: .unknownVersion)

        /// Every code, for documentation and exhaustive tests.
        public static var all: [Code] { Base.allCases.map { Code(base: $0) } }

        public var description: String { base.rawValue }

        init(base: Base) { self.base = base }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let raw = try container.decode(String.self)
            guard let base = Base(rawValue: raw) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown ClusterError code \(raw)")
            }
            self.base = base
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(base.rawValue)
        }
    }

    public let code: Code
    /// What was wrong and what to do, for the user.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
