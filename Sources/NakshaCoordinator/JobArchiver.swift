import Distributed
import Logging
import NakshaCore
import NakshaGraph
import NakshaRaft
import NakshaState
import NakshaStore

/// The leader's archiver: finished jobs go to the cold store, then one `evictJobs` entry
/// (fenced by term) removes them from `ClusterState`, which so stays bounded however many
/// jobs pass through. `GET /v1/jobs/{id}` reads the state first, then the archive.
///
/// Archiving is first-write-wins in the store, so a leader that dies between the write and
/// the eviction only makes the next leader write the same rows again, harmlessly. Each job's
/// archived `finalState` is its whole JSON rendering (`JobJSON.job`): every task with its
/// output, keyed by task id, so fan-out and loops that repeat a node's name stay apart; its
/// node runs are keyed by task id too.
struct JobArchiver {
    let coordinator: Coordinator
    let store: any ColdStore
    /// Jobs archived per round.
    var batchSize = 200

    /// Runs while this node leads in `term` (a `LeaderLoop` body).
    func run(term: UInt64, interval: Duration = .milliseconds(500)) async throws {
        let client = RequestID.random().client
        var sequence: UInt64 = 0
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            let limit = batchSize
            let finished = await coordinator.localState { state -> [JobRecord] in
                var found: [JobRecord] = []
                for status in [JobStatus.succeeded, .failed, .cancelled] where found.count < limit {
                    let page = state.jobs(status: status, limit: limit - found.count)
                    found += page.jobs.compactMap { state.job($0.id) }
                }
                return found
            } ?? []
            guard !finished.isEmpty else { continue }
            do {
                try await store.archiveJobs(finished.map(Self.archived))
            } catch {
                coordinator.logger.warning("archive write failed; retrying", metadata: ["jobs": "\(finished.count)", "error": "\(error)"])
                continue
            }
            sequence += 1
            let bytes = ClusterState.encodeCommand(.evictJobs(finished.map(\.id)))
            let requestID = RequestID(client: client, sequence: sequence)
            _ = try await coordinator.node.whenLocal { node in
                try await node.propose(bytes, machine: ClusterStateMachine.tag, requestID: requestID, asLeaderOf: term)
            }
            coordinator.logger.info("jobs archived", metadata: ["count": "\(finished.count)", "raft.term": "\(term)"])
        }
    }

    static func archived(_ job: JobRecord) -> ArchivedJob {
        ArchivedJob(
            id: "\(job.id)", graphName: job.graph.name, graphVersion: job.graph.version,
            input: Array(GraphValue.map(job.input).jsonText.utf8), outcome: outcome(job.status),
            finalState: Array(JobJSON.job(job).utf8),
            nodeRuns: job.tasks.map { task in
                ArchivedJob.NodeRun(
                    nodeID: "\(task.id)", attempts: task.attempt, startedAtMillis: Int64(task.startedMillis ?? task.createdMillis),
                    finishedAtMillis: Int64(task.finishedMillis ?? job.finishedMillis ?? job.updatedMillis), outcome: outcome(task.state))
            },
            error: job.error.map(\.description), submittedAtMillis: Int64(job.createdMillis),
            finishedAtMillis: Int64(job.finishedMillis ?? job.updatedMillis))
    }

    static func outcome(_ status: JobStatus) -> ArchivedJob.Outcome {
        switch status {
        case .succeeded: return .succeeded
        case .failed: return .failed
        case .cancelled, .queued, .running, .interrupted: return .cancelled
        }
    }

    static func outcome(_ state: TaskState) -> ArchivedJob.Outcome {
        switch state {
        case .succeeded: return .succeeded
        case .failed: return .failed
        case .deadLettered: return .deadLettered
        case .cancelled, .ready, .leased, .retrying, .interrupted, .waiting: return .cancelled
        }
    }
}
