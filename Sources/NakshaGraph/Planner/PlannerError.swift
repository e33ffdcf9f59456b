/// A call the planner refused; the state passed in is left unchanged.
///
/// These are caller errors (a stale or duplicate completion, a resume of a run that is not
/// paused, an input with unknown keys), as opposed to `PlannerFailure`, which ends a run.
public struct PlannerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code (a struct over a private enum, so new codes can be added compatibly).
    public struct Code: Sendable, Hashable, Codable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable, Codable, CaseIterable {
            case invalidInput = "invalid_input"
            case unknownTask = "unknown_task"
            case notRunning = "not_running"
            case notInterrupted = "not_interrupted"
        }

        let base: Base

        /// The input names an undeclared key or has a value of the wrong type.
        public static let invalidInput = Code(base: .invalidInput)
        /// The task is not running (already completed, never issued, or from an old step).
        public static let unknownTask = Code(base: .unknownTask)
        /// The run is not running (finished, failed or interrupted).
        public static let notRunning = Code(base: .notRunning)
        /// `resume` on a run that is not interrupted.
        public static let notInterrupted = Code(base: .notInterrupted)

        /// Every code, for documentation and exhaustive tests.
        public static var all: [Code] { Base.allCases.map { Code(base: $0) } }

        public var description: String { base.rawValue }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let raw = try container.decode(String.self)
            guard let base = Base(rawValue: raw) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown PlannerError code \(raw)")
            }
            self.base = base
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(base.rawValue)
        }

        init(base: Base) { self.base = base }
    }

    public let code: Code
    public let message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
