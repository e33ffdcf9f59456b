/// A call the planner refused; the state passed in is left unchanged.
///
/// These are caller errors (a stale or duplicate completion, a resume of a run that is not
/// paused, an input with unknown keys), as opposed to `PlannerFailure`, which ends a run.
public struct PlannerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable error code.
    public enum Code: String, Sendable, Hashable, Codable, CaseIterable {
        /// The input names an undeclared key or has a value of the wrong type.
        case invalidInput = "invalid_input"
        /// The task is not running (already completed, never issued, or from an old step).
        case unknownTask = "unknown_task"
        /// The run is not running (finished, failed or interrupted).
        case notRunning = "not_running"
        /// `resume` on a run that is not interrupted.
        case notInterrupted = "not_interrupted"
    }

    public let code: Code
    public let message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
