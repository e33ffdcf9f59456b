/// Identifies one task of a job: the job and the task's number within it (1, 2, … in the
/// order the job's tasks were first planned). Retries of a task keep its id; a loop that runs
/// a node again gets a new id, so per-task outputs can be keyed by it.
public struct TaskID: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let job: JobID
    /// 1-based position of the task in its job.
    public let number: UInt32

    public init(job: JobID, number: UInt32) {
        precondition(number >= 1, "task numbers start at 1")
        self.job = job
        self.number = number
    }

    /// Parses `<job>.<number>` as written by `description`.
    public init?(parsing text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let job = UInt64(parts[0]), let number = UInt32(parts[1]), number >= 1 else { return nil }
        self.init(job: JobID(rawValue: job), number: number)
    }

    public static func < (lhs: TaskID, rhs: TaskID) -> Bool {
        (lhs.job.rawValue, lhs.number) < (rhs.job.rawValue, rhs.number)
    }

    /// `42.3`: task 3 of job 42.
    public var description: String { "\(job.rawValue).\(number)" }
}
