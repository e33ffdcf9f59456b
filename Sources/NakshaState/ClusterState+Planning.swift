import NakshaCore
import NakshaGraph

extension ClusterState {
    /// Takes in what a planner call decided for `job`: ready tasks (new ones or retries,
    /// with their backoff plus jitter) join the ready queue; an interrupt holds its tasks; a
    /// finished or failed run ends the job.
    mutating func absorb(_ step: PlannerStep, into job: inout JobRecord, context: CommandContext) {
        let now = context.timestampMillis
        let graph = definition(of: job)
        for ready in step.ready {
            if graph.nodes[ready.task.node]?.subgraph != nil {
                // A subgraph call runs as a child job, started once this entry's changes to
                // the job are stored (`settleChildJobs`).
                let taskID = markWaiting(ready.task, in: &job, context: context)
                childWork.append(.start(taskID))
                continue
            }
            let delay = Self.jitteredDelay(ready.delayMillis, seed: context.index, job: job.id, graphTask: ready.task.id)
            let readyAt = now + delay
            let isRetry = ready.task.attempt > 1
            let state: TaskState = isRetry ? .retrying : .ready
            let taskID: TaskID
            if let index = job.taskIndex(of: ready.task.id) {
                taskID = job.tasks[index].id
                job.tasks[index].attempt = ready.task.attempt
                job.tasks[index].item = ready.task.item
                job.tasks[index].state = state
                job.tasks[index].lease = nil
                job.tasks[index].readyAtMillis = readyAt
            } else {
                taskID = appendTask(ready.task, state: state, readyAt: readyAt, to: &job, context: context)
            }
            enqueue(taskID, priority: job.priority, readyAtMillis: readyAt)
            Self.record(.task(taskID, state: state, attempt: ready.task.attempt), in: &job, context: context, limits: limits)
        }
        switch step.status {
        case .running:
            if job.status == .interrupted || job.status == .queued {
                setStatus(job.startedMillis == nil ? .queued : .running, of: &job, context: context)
            }
        case .interrupted:
            for held in job.planner.held where job.taskIndex(of: held.id) == nil {
                let taskID = appendTask(held, state: .interrupted, readyAt: now, to: &job, context: context)
                Self.record(.task(taskID, state: .interrupted, attempt: held.attempt), in: &job, context: context, limits: limits)
            }
            setStatus(.interrupted, of: &job, context: context)
        case .finished:
            finish(&job, status: .succeeded, failure: nil, context: context)
        case .failed(let failure):
            let task = failure.node.flatMap { node in job.tasks.last { $0.node == node }?.id }
            finish(&job, status: .failed, failure: JobFailure(code: failure.code.description, message: failure.message, task: task), context: context)
        }
    }

    /// Records a subgraph task as `waiting` (a retry reuses its record).
    private func markWaiting(_ task: GraphTask, in job: inout JobRecord, context: CommandContext) -> TaskID {
        let taskID: TaskID
        if let index = job.taskIndex(of: task.id) {
            taskID = job.tasks[index].id
            job.tasks[index].attempt = task.attempt
            job.tasks[index].item = task.item
            job.tasks[index].state = .waiting
            job.tasks[index].lease = nil
            job.tasks[index].child = nil
            job.tasks[index].readyAtMillis = context.timestampMillis
        } else {
            taskID = appendTask(task, state: .waiting, readyAt: context.timestampMillis, to: &job, context: context)
        }
        Self.record(.task(taskID, state: .waiting, attempt: task.attempt), in: &job, context: context, limits: limits)
        return taskID
    }

    private func appendTask(_ task: GraphTask, state: TaskState, readyAt: UInt64, to job: inout JobRecord, context: CommandContext) -> TaskID {
        let id = TaskID(job: job.id, number: UInt32(job.tasks.count + 1))
        job.tasks.append(
            TaskRecord(
                id: id, graphTask: task.id, item: task.item, attempt: task.attempt, state: state, lease: nil, output: nil,
                error: nil, createdMillis: context.timestampMillis, readyAtMillis: readyAt, startedMillis: nil, finishedMillis: nil))
        return id
    }

    func setStatus(_ status: JobStatus, of job: inout JobRecord, context: CommandContext) {
        guard job.status != status else { return }
        job.status = status
        Self.record(.status(status), in: &job, context: context, limits: limits)
    }

    /// Ends a job: every task not yet final is cancelled (dropped from the queue, its lease
    /// revoked; a worker still running it learns at its next heartbeat).
    mutating func finish(_ job: inout JobRecord, status: JobStatus, failure: JobFailure?, context: CommandContext) {
        precondition(status.isFinished, "finish needs a final status")
        for index in job.tasks.indices where !job.tasks[index].state.isFinal {
            let id = job.tasks[index].id
            switch job.tasks[index].state {
            case .ready, .retrying: dequeue(id)
            case .leased: removeLeased(id)
            case .waiting: if let child = job.tasks[index].child { childWork.append(.cancel(child)) }
            case .interrupted, .succeeded, .failed, .deadLettered, .cancelled: break
            }
            job.tasks[index].state = .cancelled
            job.tasks[index].lease = nil
            job.tasks[index].finishedMillis = context.timestampMillis
            Self.record(.task(id, state: .cancelled, attempt: job.tasks[index].attempt), in: &job, context: context, limits: limits)
        }
        job.error = failure
        job.finishedMillis = context.timestampMillis
        setStatus(status, of: &job, context: context)
        if job.parent != nil { childWork.append(.finished(job.id)) }
    }

    /// The planner's backoff with "equal jitter": half the delay, plus a pseudo-random part
    /// of the other half drawn from a generator seeded by the entry's index and the task, so
    /// every replica computes the same value and concurrent retries spread out.
    static func jitteredDelay(_ delayMillis: Int, seed: UInt64, job: JobID, graphTask: GraphTaskID) -> UInt64 {
        guard delayMillis > 1 else { return UInt64(max(0, delayMillis)) }
        let base = UInt64(delayMillis)
        var mix = fnv1a(Array(graphTask.description.utf8)) ^ (job.rawValue &* 0x9E37_79B9_7F4A_7C15)
        mix ^= seed
        var generator = SeededGenerator(seed: mix)
        let half = base / 2
        return (base - half) + generator.next(below: half + 1)
    }
}
