import NakshaCore
import NakshaGraph
import NakshaState

/// The job API's JSON, written by hand so that graph values (inputs, outputs, state) go out
/// as the JSON they are, keys sorted: the same job always renders to the same text.
enum JobJSON {
    /// A JSON object built in key order.
    struct Object {
        private var fields: [(String, String)] = []

        mutating func set(_ key: String, raw: String) { fields.append((key, raw)) }
        mutating func set(_ key: String, _ text: String?) { set(key, raw: text.map(JSONText.quoted) ?? "null") }
        mutating func set(_ key: String, _ number: UInt64?) { set(key, raw: number.map { "\($0)" } ?? "null") }
        mutating func set(_ key: String, _ number: Int) { set(key, raw: "\(number)") }
        mutating func set(_ key: String, _ flag: Bool) { set(key, raw: flag ? "true" : "false") }
        mutating func set(_ key: String, _ values: [String: GraphValue]?) { set(key, raw: values.map { GraphValue.map($0).jsonText } ?? "null") }

        var text: String {
            "{" + fields.sorted { $0.0 < $1.0 }.map { JSONText.quoted($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
        }
    }

    static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }

    static func job(_ job: JobRecord) -> String {
        var object = Object()
        object.set("id", "\(job.id)")
        object.set("status", job.status.rawValue)
        object.set("graph", job.graph.name)
        object.set("graph_version", job.graph.version)
        object.set("content_hash", job.contentHash)
        object.set("priority", job.priority)
        object.set("idempotency_key", job.idempotencyKey)
        object.set("input", job.input)
        object.set("state", job.values)
        object.set("created_ms", job.createdMillis)
        object.set("updated_ms", job.updatedMillis)
        object.set("started_ms", job.startedMillis)
        object.set("finished_ms", job.finishedMillis)
        object.set("error", raw: job.error.map(failure) ?? "null")
        object.set("tasks", raw: array(job.tasks.map(task)))
        if let parent = job.parent { object.set("parent_task", "\(parent)") }
        return object.text
    }

    static func failure(_ failure: JobFailure) -> String {
        var object = Object()
        object.set("code", failure.code)
        object.set("message", failure.message)
        object.set("task", failure.task.map { "\($0)" })
        return object.text
    }

    static func task(_ task: TaskRecord) -> String {
        var object = Object()
        object.set("id", "\(task.id)")
        object.set("node", task.node)
        object.set("state", task.state.rawValue)
        object.set("attempt", task.attempt)
        object.set("output", task.output)
        if let usage = task.usage {
            var spent = Object()
            spent.set("model", usage.model)
            spent.set("prompt_tokens", usage.promptTokens)
            spent.set("completion_tokens", usage.completionTokens)
            let fraction = String(usage.costMicroUSD % 1_000_000)
            spent.set("cost_usd", raw: "\(usage.costMicroUSD / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)")
            object.set("usage", raw: spent.text)
        }
        object.set("error", task.error)
        object.set("worker", task.lease.map { $0.worker.rawValue })
        object.set("lease_expires_ms", task.lease?.expiresMillis)
        object.set("created_ms", task.createdMillis)
        object.set("ready_at_ms", task.readyAtMillis)
        object.set("started_ms", task.startedMillis)
        object.set("finished_ms", task.finishedMillis)
        if let child = task.child { object.set("child_job", "\(child)") }
        return object.text
    }

    static func summary(_ job: JobSummary) -> String {
        var object = Object()
        object.set("id", "\(job.id)")
        object.set("status", job.status.rawValue)
        object.set("graph", job.graph.name)
        object.set("graph_version", job.graph.version)
        object.set("priority", job.priority)
        object.set("created_ms", job.createdMillis)
        object.set("updated_ms", job.updatedMillis)
        object.set("finished_ms", job.finishedMillis)
        return object.text
    }

    static func event(_ event: JobEvent, job: JobID) -> String {
        var object = Object()
        object.set("id", event.index)
        object.set("job", "\(job)")
        object.set("timestamp_ms", event.timestampMillis)
        object.set("changes", raw: array(event.changes.map(change)))
        return object.text
    }

    static func change(_ change: JobChange) -> String {
        var object = Object()
        switch change {
        case .status(let status):
            object.set("status", status.rawValue)
        case .task(let task, let state, let attempt):
            object.set("task", "\(task)")
            object.set("state", state.rawValue)
            object.set("attempt", attempt)
        }
        return object.text
    }

    static func graphVersion(_ info: GraphVersionInfo) -> String {
        var object = Object()
        object.set("name", info.name)
        object.set("version", info.version)
        object.set("content_hash", info.contentHash)
        object.set("registered_ms", info.registeredMillis)
        return object.text
    }
}
