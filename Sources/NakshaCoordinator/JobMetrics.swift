import CoreMetrics
import NakshaCore
import NakshaGraph
import NakshaState
import Synchronization

/// The job queue's metrics. Every replica applies every entry, but only the leader reports
/// what entries did (`leading`, set by a leader-only loop), so a cluster-wide sum counts each
/// job once:
/// `naksha_jobs_submitted_total{graph}`, `naksha_jobs_finished_total{graph,status}`,
/// `naksha_job_duration_seconds{graph}` (submit to finish, leader timestamps; child jobs of
/// subgraph calls are counted when they finish, under their own graph),
/// `naksha_task_attempts_total{result}` (`succeeded`, `retrying`, `failed`, `dead_lettered`,
/// `expired`), and the gauges `naksha_tasks_ready`, `naksha_tasks_leased`,
/// `naksha_cluster_state_bytes` (the encoded state, sampled by the leader).
///
/// Labels are bounded: graph names come from the registry, statuses and results are enums.
final class JobMetrics: Sendable {
    static let shared = JobMetrics()

    let leading = Atomic<Bool>(false)

    func submitted(graph: String) {
        Counter(label: "naksha_jobs_submitted_total", dimensions: [("graph", graph)]).increment()
    }

    /// Reports what one applied command did, on the leader only.
    func applied(_ outcome: ClusterOutcome, state: ClusterState) {
        guard leading.load(ordering: .relaxed) else { return }
        switch outcome {
        case .jobSubmitted(let id, _, let existing):
            if !existing, let job = state.job(id) { submitted(graph: job.graph.name) }
            finishedIfDone(id, state: state)
        case .taskCompleted(let task, _):
            attempt("succeeded")
            finishedIfDone(task.job, state: state)
        case .tasksCompleted(let outcomes):
            var jobs: [JobID] = []
            for outcome in outcomes where outcome.error == nil {
                attempt("succeeded")
                if !jobs.contains(outcome.task.job) { jobs.append(outcome.task.job) }
            }
            for job in jobs { finishedIfDone(job, state: state) }  // once per job, however many of its tasks finished
        case .taskFailed(let task, let taskState, _, _):
            attempt(taskState == .retrying ? "retrying" : taskState == .deadLettered ? "dead_lettered" : "failed")
            finishedIfDone(task.job, state: state)
        case .leasesExpired(let tasks):
            for task in tasks {
                attempt("expired")
                finishedIfDone(task.job, state: state)
            }
        case .jobCancelled(let id):
            finishedIfDone(id, state: state)
        case .workersRemoved(_, let tasks):
            for task in tasks { finishedIfDone(task.job, state: state) }
        case .graphRegistered, .graphConcurrencySet, .tasksLeased, .jobResumed, .workerRegistered, .jobsEvicted, .keyConcurrencySet,
            .providerRateSet, .providerThrottled, .collectionCreated, .collectionDropped, .shardMovesStarted, .shardMoveFinished, .shardReplicaRefused:
            break
        }
    }

    /// Samples the gauges (leader only).
    func sample(_ state: ClusterState, encodedBytes: Int?) {
        let counts = state.taskCounts
        Gauge(label: "naksha_tasks_ready").record(counts.ready + counts.retrying)
        Gauge(label: "naksha_tasks_leased").record(counts.leased)
        if let encodedBytes { Gauge(label: "naksha_cluster_state_bytes").record(encodedBytes) }
    }

    private func attempt(_ result: String) {
        Counter(label: "naksha_task_attempts_total", dimensions: [("result", result)]).increment()
    }

    /// Counts `id` if the entry finished it, and each parent job (subgraph calls) the same
    /// entry finished with it.
    private func finishedIfDone(_ id: JobID, state: ClusterState) {
        finishedOne(id, state: state)
        var parent = state.job(id)?.parent
        while let task = parent {
            finishedOne(task.job, state: state)
            parent = state.job(task.job)?.parent
        }
    }

    private func finishedOne(_ id: JobID, state: ClusterState) {
        guard let job = state.job(id), job.status.isFinished, let finished = job.finishedMillis, finished == job.updatedMillis,
            state.lastAppliedIndex == job.events.last?.index
        else { return }
        Counter(label: "naksha_jobs_finished_total", dimensions: [("graph", job.graph.name), ("status", job.status.rawValue)]).increment()
        let seconds = Double(finished &- job.createdMillis) / 1000
        CoreMetrics.Timer(label: "naksha_job_duration_seconds", dimensions: [("graph", job.graph.name)]).recordNanoseconds(Int64(seconds * 1e9))
    }
}
