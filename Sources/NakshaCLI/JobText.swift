import Foundation
import NakshaProtocol

/// How the CLI writes the protocol's jobs, tasks and errors.
enum JobText {
    static func name(_ status: Naksha_V1_JobStatus) -> String {
        switch status {
        case .queued: return "queued"
        case .running: return "running"
        case .interrupted: return "interrupted"
        case .succeeded: return "succeeded"
        case .failed: return "failed"
        case .cancelled: return "cancelled"
        case .unspecified, .UNRECOGNIZED: return "unknown"
        }
    }

    static func name(_ state: Naksha_V1_TaskState) -> String {
        switch state {
        case .ready: return "ready"
        case .leased: return "leased"
        case .succeeded: return "succeeded"
        case .retrying: return "retrying"
        case .failed: return "failed"
        case .deadLettered: return "deadLettered"
        case .interrupted: return "interrupted"
        case .cancelled: return "cancelled"
        case .waiting: return "waiting"
        case .unspecified, .UNRECOGNIZED: return "unknown"
        }
    }

    static func status(named text: String) -> Naksha_V1_JobStatus? {
        [Naksha_V1_JobStatus.queued, .running, .interrupted, .succeeded, .failed, .cancelled].first { name($0) == text }
    }

    static func isFinished(_ status: Naksha_V1_JobStatus) -> Bool { [.succeeded, .failed, .cancelled].contains(status) }

    static func mark(_ state: String) -> String {
        switch state {
        case "succeeded": return "✓"
        case "failed", "deadLettered", "cancelled": return "✗"
        case "retrying": return "↻"
        default: return "…"
        }
    }

    static func describe(_ error: RPCError) -> String {
        var text = "\(error.code.name)"
        if !error.reason.isEmpty { text += " (\(error.reason))" }
        text += ": \(error.message)"
        if error.reason == "connectFailed" { text += " — is a coordinator listening there? --server or NAKSHA_SERVER sets the addresses" }
        return text
    }

    /// A JSON text field parsed, or the text itself when it is not JSON (or empty: null).
    static func parsed(_ text: String) -> Any {
        guard !text.isEmpty else { return NSNull() }
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
    }

    /// The job as the HTTP API writes it: snake-case keys, graph values as JSON.
    static func object(_ job: Naksha_V1_Job) -> [String: Any] {
        if job.archived, let archived = parsed(job.archivedJson) as? [String: Any] { return archived.merging(["archived": true]) { $1 } }
        var object: [String: Any] = [
            "id": "\(job.id)", "status": name(job.status), "graph": job.graph, "graph_version": job.graphVersion,
            "content_hash": job.contentHash, "priority": job.priority, "input": parsed(job.inputJson), "state": parsed(job.stateJson),
            "created_ms": job.createdMs, "updated_ms": job.updatedMs,
        ]
        object["idempotency_key"] = job.idempotencyKey.isEmpty ? NSNull() : job.idempotencyKey
        if !job.parentTaskID.isEmpty { object["parent_task"] = job.parentTaskID }
        object["started_ms"] = job.startedMs == 0 ? NSNull() : job.startedMs
        object["finished_ms"] = job.finishedMs == 0 ? NSNull() : job.finishedMs
        object["error"] = job.hasError ? ["code": job.error.code, "message": job.error.message, "task": job.error.taskID] : NSNull()
        object["tasks"] = job.tasks.map { task -> [String: Any] in
            var item: [String: Any] = [
                "id": task.id, "node": task.node, "state": name(task.state), "attempt": task.attempt, "output": parsed(task.outputJson),
                "created_ms": task.createdMs, "ready_at_ms": task.readyAtMs,
            ]
            item["error"] = task.error.isEmpty ? NSNull() : task.error
            item["worker"] = task.worker.isEmpty ? NSNull() : task.worker
            item["started_ms"] = task.startedMs == 0 ? NSNull() : task.startedMs
            item["finished_ms"] = task.finishedMs == 0 ? NSNull() : task.finishedMs
            if task.childJobID != 0 { item["child_job"] = "\(task.childJobID)" }
            if task.hasUsage {
                item["usage"] = [
                    "model": task.usage.model, "prompt_tokens": task.usage.promptTokens, "completion_tokens": task.usage.completionTokens,
                    "cost_micro_usd": task.usage.costMicroUsd,
                ]
            }
            return item
        }
        return object
    }

    static func jsonText(_ object: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else {
            return "\(object)"
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// A job for people: a header line, one line per task, the error, and the state.
    static func render(_ job: Naksha_V1_Job) -> String {
        var lines = ["job \(job.id) · \(job.graph)@\(job.graphVersion) · \(name(job.status))" + (job.archived ? " (archived)" : "")]
        for task in job.tasks {
            var line = "  \(mark(name(task.state))) \(task.id) \(task.node) \(name(task.state))"
            if task.attempt > 1 { line += " (attempt \(task.attempt))" }
            if task.startedMs > 0, task.finishedMs >= task.startedMs { line += " \(task.finishedMs - task.startedMs) ms" }
            if !task.worker.isEmpty { line += " on \(task.worker)" }
            if task.childJobID != 0 { line += " → child job \(task.childJobID)" }
            if !task.error.isEmpty { line += " — \(task.error)" }
            lines.append(line)
        }
        if job.hasError { lines.append("error: \(job.error.code): \(job.error.message)") }
        let state = job.archived ? (parsed(job.archivedJson) as? [String: Any])?["state"] ?? NSNull() : parsed(job.stateJson)
        lines.append("state: \(jsonText(state))")
        return lines.joined(separator: "\n")
    }
}
