import Foundation
import NakshaCore
import NakshaGraph
import NakshaProtocol
import NakshaState

/// The job API's values as `naksha.v1` messages (the protocol's counterpart of `JobJSON`):
/// graph values go out as the same sorted JSON text.
enum JobProto {
    static func status(_ status: JobStatus) -> Naksha_V1_JobStatus {
        switch status {
        case .queued: return .queued
        case .running: return .running
        case .interrupted: return .interrupted
        case .succeeded: return .succeeded
        case .failed: return .failed
        case .cancelled: return .cancelled
        }
    }

    /// A listing filter: nil for UNSPECIFIED (all).
    static func status(_ status: Naksha_V1_JobStatus) throws -> JobStatus? {
        switch status {
        case .unspecified: return nil
        case .queued: return .queued
        case .running: return .running
        case .interrupted: return .interrupted
        case .succeeded: return .succeeded
        case .failed: return .failed
        case .cancelled: return .cancelled
        case .UNRECOGNIZED(let value): throw RPCError(.invalidArgument, "unknown job status \(value)", reason: "invalidInput")
        }
    }

    static func state(_ state: TaskState) -> Naksha_V1_TaskState {
        switch state {
        case .ready: return .ready
        case .leased: return .leased
        case .succeeded: return .succeeded
        case .retrying: return .retrying
        case .failed: return .failed
        case .deadLettered: return .deadLettered
        case .interrupted: return .interrupted
        case .cancelled: return .cancelled
        case .waiting: return .waiting
        }
    }

    static func json(_ values: [String: GraphValue]) -> String { GraphValue.map(values).jsonText }

    static func job(_ job: JobRecord) -> Naksha_V1_Job {
        var message = Naksha_V1_Job()
        message.id = job.id.rawValue
        message.status = status(job.status)
        message.graph = job.graph.name
        message.graphVersion = UInt32(clamping: job.graph.version)
        message.contentHash = job.contentHash
        message.priority = Int32(clamping: job.priority)
        message.idempotencyKey = job.idempotencyKey ?? ""
        message.inputJson = json(job.input)
        message.stateJson = json(job.values)
        message.createdMs = job.createdMillis
        message.updatedMs = job.updatedMillis
        message.startedMs = job.startedMillis ?? 0
        message.finishedMs = job.finishedMillis ?? 0
        if let failure = job.error {
            var error = Naksha_V1_JobError()
            error.code = failure.code
            error.message = failure.message
            error.taskID = failure.task.map { "\($0)" } ?? ""
            message.error = error
        }
        message.tasks = job.tasks.map(task)
        message.parentTaskID = job.parent.map { "\($0)" } ?? ""
        return message
    }

    static func task(_ task: TaskRecord) -> Naksha_V1_Task {
        var message = Naksha_V1_Task()
        message.id = "\(task.id)"
        message.node = task.node
        message.state = state(task.state)
        message.attempt = UInt32(clamping: task.attempt)
        message.outputJson = task.output.map(json) ?? ""
        if let usage = task.usage {
            var spent = Naksha_V1_TaskUsage()
            spent.model = usage.model
            spent.promptTokens = UInt64(clamping: usage.promptTokens)
            spent.completionTokens = UInt64(clamping: usage.completionTokens)
            spent.costMicroUsd = UInt64(clamping: usage.costMicroUSD)
            message.usage = spent
        }
        message.error = task.error ?? ""
        message.worker = task.lease?.worker.rawValue ?? ""
        message.leaseExpiresMs = task.lease?.expiresMillis ?? 0
        message.createdMs = task.createdMillis
        message.readyAtMs = task.readyAtMillis
        message.startedMs = task.startedMillis ?? 0
        message.finishedMs = task.finishedMillis ?? 0
        message.childJobID = task.child?.rawValue ?? 0
        return message
    }

    /// A job read from the archive: its JSON as archived, with the top-level fields copied
    /// into the message.
    static func archived(_ id: JobID, json text: String) -> Naksha_V1_Job {
        var message = Naksha_V1_Job()
        message.id = id.rawValue
        message.archived = true
        message.archivedJson = text
        // The archive's text always goes out whole in `archived_json`; the fields below are a
        // convenience copied from it, so text that does not parse just leaves them empty.
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return message }
        if let raw = object["status"] as? String, let parsed = JobStatus(rawValue: raw) { message.status = status(parsed) }
        message.graph = object["graph"] as? String ?? ""
        message.graphVersion = UInt32(clamping: (object["graph_version"] as? NSNumber)?.intValue ?? 0)
        message.contentHash = object["content_hash"] as? String ?? ""
        message.priority = Int32(clamping: (object["priority"] as? NSNumber)?.intValue ?? 0)
        message.idempotencyKey = object["idempotency_key"] as? String ?? ""
        for (key, path) in [("input", \Naksha_V1_Job.inputJson), ("state", \Naksha_V1_Job.stateJson)] {
            if let value = object[key], let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) {
                message[keyPath: path] = String(decoding: data, as: UTF8.self)
            }
        }
        for (key, path) in [
            ("created_ms", \Naksha_V1_Job.createdMs), ("updated_ms", \Naksha_V1_Job.updatedMs),
            ("started_ms", \Naksha_V1_Job.startedMs), ("finished_ms", \Naksha_V1_Job.finishedMs),
        ] {
            message[keyPath: path] = (object[key] as? NSNumber)?.uint64Value ?? 0
        }
        return message
    }

    static func summary(_ job: JobSummary) -> Naksha_V1_JobSummary {
        var message = Naksha_V1_JobSummary()
        message.id = job.id.rawValue
        message.status = status(job.status)
        message.graph = job.graph.name
        message.graphVersion = UInt32(clamping: job.graph.version)
        message.priority = Int32(clamping: job.priority)
        message.createdMs = job.createdMillis
        message.updatedMs = job.updatedMillis
        message.finishedMs = job.finishedMillis ?? 0
        return message
    }

    static func event(_ event: JobEvent, job: JobID, nodes: [TaskID: String], missedEarlier: Bool) -> Naksha_V1_JobEvent {
        var message = Naksha_V1_JobEvent()
        message.eventID = event.index
        message.jobID = job.rawValue
        message.timestampMs = event.timestampMillis
        message.missedEarlier = missedEarlier
        message.changes = event.changes.map { change in
            var item = Naksha_V1_JobChange()
            switch change {
            case .status(let value):
                item.status = status(value)
            case .task(let id, let value, let attempt):
                var task = Naksha_V1_TaskChange()
                task.taskID = "\(id)"
                task.node = nodes[id] ?? ""
                task.state = state(value)
                task.attempt = UInt32(clamping: attempt)
                item.task = task
            }
            return item
        }
        return message
    }

    static func graphVersion(_ info: GraphVersionInfo) -> Naksha_V1_GraphVersion {
        var message = Naksha_V1_GraphVersion()
        message.name = info.name
        message.version = UInt32(clamping: info.version)
        message.contentHash = info.contentHash
        message.registeredMs = info.registeredMillis
        return message
    }

    static func clusterStatus(_ report: ClusterStatusReport) -> Naksha_V1_ClusterStatusResponse {
        var message = Naksha_V1_ClusterStatusResponse()
        message.leader = report.leader ?? 0
        message.term = report.term
        message.commitIndex = report.commitIndex
        message.appliedIndex = report.appliedIndex
        message.servedBy = report.servedBy
        message.answeredBy = report.answeredBy
        message.members = report.members.map { member in
            var item = Naksha_V1_ClusterMember()
            item.id = member.id
            item.role = member.role
            item.address = member.address ?? ""
            item.matchIndex = member.matchIndex ?? 0
            return item
        }
        return message
    }
}
