import Foundation
import NakshaProtocol

/// Follows a job over `WatchJob` until it finishes or stops at an interrupt, showing each
/// task's progress: redrawn in place on a terminal, one plain line per change otherwise.
struct JobFollower {
    let client: NakshaClient
    /// Where progress goes: nil shows nothing.
    var output: ProgressOutput? = ProgressOutput()

    /// The job once it finished or was interrupted (read with `GetJob`).
    func follow(_ id: UInt64, timeout: Duration) async throws -> Naksha_V1_Job {
        let client = self.client
        let start = self.output
        let followed: Bool = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                var output = start
                defer { output?.finish() }
                do {
                    for try await event in client.watchJob(id) {
                    for change in event.changes {
                        switch change.change {
                        case .task(let task): output?.update(task)
                        case .status(let status):
                            if status == .interrupted || JobText.isFinished(status) { return true }
                        case nil: break
                        }
                    }
                    }
                } catch let error as RPCError where error.code == .failedPrecondition && error.reason == "archived" {
                    return true  // finished and archived already: GetJob below reads it from the archive
                }
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            let first = try await group.next() ?? false
            group.cancelAll()
            return first
        }
        let job = try await client.getJob(id)
        guard followed || JobText.isFinished(job.status) || job.status == .interrupted else {
            throw CLIError("job \(id) did not finish within \(timeout) (status \(JobText.name(job.status))); follow it with `naksha job watch \(id)`")
        }
        return job
    }
}

/// Task progress lines. On a terminal the lines of tasks seen so far are redrawn in place
/// after every change; otherwise each change is printed once.
struct ProgressOutput: @unchecked Sendable {
    private struct Line {
        var taskID: String
        var node: String
        var state: String
        var attempt: UInt32
    }

    private var lines: [Line] = []
    private var drawn = 0
    private let isTerminal = isatty(STDOUT_FILENO) == 1

    mutating func update(_ change: Naksha_V1_TaskChange) {
        let line = Line(taskID: change.taskID, node: change.node, state: JobText.name(change.state), attempt: change.attempt)
        if let index = lines.firstIndex(where: { $0.taskID == change.taskID }) { lines[index] = line } else { lines.append(line) }
        if isTerminal {
            var text = drawn > 0 ? "\u{1B}[\(drawn)A" : ""
            for item in lines { text += "\u{1B}[2K" + Self.text(item) + "\n" }
            print(text, terminator: "")
            fflush(nil)
            drawn = lines.count
        } else {
            print(Self.text(line))
        }
    }

    mutating func finish() {}

    private static func text(_ line: Line) -> String {
        "  \(JobText.mark(line.state)) \(line.node) \(line.state)" + (line.attempt > 1 ? " (attempt \(line.attempt))" : "")
    }
}
