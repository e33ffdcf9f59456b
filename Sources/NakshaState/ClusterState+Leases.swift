import NakshaCore
import NakshaGraph

extension ClusterState {
    mutating func leaseTasks(_ lease: LeaseTasks, context: CommandContext) -> ClusterResult {
        guard let worker = workers[lease.worker] else {
            return .failure(ClusterError(.unknownWorker, "worker \(lease.worker) is not registered; register it before leasing"))
        }
        guard lease.max >= 1, lease.leaseDurationMillis >= 1 else {
            return .failure(ClusterError(.invalidCommand, "a lease needs max >= 1 and a positive duration"))
        }
        let now = context.timestampMillis
        let held = leasedTasks.reduce(0) { count, id in task(id)?.lease?.worker == lease.worker ? count + 1 : count }
        let budget = min(lease.max, worker.capacity - held, limits.maxLeaseBatch)
        guard budget > 0 else { return .success(.tasksLeased([])) }
        var leasedPerGraph = graphConcurrency.isEmpty ? [:] : leasedCountsByGraph()
        var taken: [Int] = []
        for (position, entry) in readyQueue.enumerated() where taken.count < budget {
            guard entry.readyAtMillis <= now, let job = jobs[entry.task.job] else { continue }
            if let limit = graphConcurrency[job.graph.name] {
                let current = leasedPerGraph[job.graph.name] ?? 0
                guard current < limit else { continue }
                leasedPerGraph[job.graph.name] = current + 1
            }
            taken.append(position)
        }
        let token = LeaseToken(rawValue: context.index)
        let expires = now + lease.leaseDurationMillis
        var assignments: [TaskAssignment] = []
        for position in taken {
            let id = readyQueue[position].task
            guard var job = jobs[id.job] else { continue }
            let index = Int(id.number) - 1
            job.tasks[index].state = .leased
            job.tasks[index].lease = TaskLease(worker: lease.worker, token: token, expiresMillis: expires)
            job.tasks[index].startedMillis = now
            if job.startedMillis == nil {
                job.startedMillis = now
                if job.status == .queued { setStatus(.running, of: &job, context: context) }
            }
            Self.record(.task(id, state: .leased, attempt: job.tasks[index].attempt), in: &job, context: context, limits: limits)
            let task = job.tasks[index]
            assignments.append(
                TaskAssignment(
                    task: id, token: token, expiresMillis: expires, graph: job.graph, contentHash: job.contentHash,
                    graphTask: task.graphTask, item: task.item, attempt: task.attempt, state: job.values))
            jobs[id.job] = job
            addLeased(id)
        }
        let takenSet = Set(taken)
        readyQueue = readyQueue.enumerated().filter { !takenSet.contains($0.offset) }.map(\.element)
        return .success(.tasksLeased(assignments))
    }

    func leasedCountsByGraph() -> [String: Int] {
        var counts: [String: Int] = [:]
        for id in leasedTasks {
            if let graph = jobs[id.job]?.graph.name { counts[graph, default: 0] += 1 }
        }
        return counts
    }

    /// The task's record, or the error a completion or failure for it gets.
    func leasedTask(_ id: TaskID, token: LeaseToken) -> Result<TaskRecord, ClusterError> {
        guard let job = jobs[id.job] else { return .failure(ClusterError(.unknownJob, "job \(id.job) is not in the cluster state")) }
        guard id.number >= 1, Int(id.number) <= job.tasks.count else {
            return .failure(ClusterError(.unknownTask, "job \(id.job) has no task \(id)"))
        }
        let task = job.tasks[Int(id.number) - 1]
        guard task.state == .leased, let lease = task.lease, lease.token == token else {
            let current = task.lease.map { "its lease is \($0.token)" } ?? "it is \(task.state.rawValue)"
            return .failure(ClusterError(.staleLease, "lease \(token) of task \(id) is no longer valid (\(current)); drop the result"))
        }
        return .success(task)
    }

    mutating func expireLeases(_ listed: [LeaseReference]?, context: CommandContext) -> ClusterResult {
        let candidates: [LeaseReference]
        if let listed {
            candidates = Array(Set(listed)).sorted()
        } else {
            candidates = leasedTasks.compactMap { id in
                guard let lease = task(id)?.lease, lease.expiresMillis <= context.timestampMillis else { return nil }
                return LeaseReference(task: id, token: lease.token)
            }
        }
        var expired: [TaskID] = []
        for reference in candidates {
            guard case .success(let task) = leasedTask(reference.task, token: reference.token) else { continue }
            let worker = task.lease?.worker.rawValue ?? "?"
            _ = retryOrDeadLetter(reference.task, reason: "lease \(reference.token) on worker \(worker) expired", context: context)
            expired.append(reference.task)
        }
        return .success(.leasesExpired(expired))
    }

    /// Records a retryable failure of a leased task: the planner decides retry (with
    /// backoff) or dead letter (which fails the job). Returns the task's new state and, when
    /// retrying, when it may be leased again.
    mutating func retryOrDeadLetter(_ id: TaskID, reason: String, context: CommandContext) -> (TaskState, UInt64?, JobStatus) {
        guard var job = jobs[id.job] else { preconditionFailure("retryOrDeadLetter needs a leased task of a known job") }
        let index = Int(id.number) - 1
        removeLeased(id)
        job.tasks[index].lease = nil
        job.tasks[index].error = reason
        let planner = GraphPlanner(graph: definition(of: job))
        let step: PlannerStep
        do {
            step = try planner.failTask(&job.planner, task: job.tasks[index].graphTask, reason: reason)
        } catch {
            // The planner does not know the task as running: the run moved on without it
            // (it cannot happen while the job's records and checkpoint agree). Fail the task.
            job.tasks[index].state = .failed
            job.tasks[index].finishedMillis = context.timestampMillis
            Self.record(.task(id, state: .failed, attempt: job.tasks[index].attempt), in: &job, context: context, limits: limits)
            jobs[id.job] = job
            return (.failed, nil, job.status)
        }
        if case .failed = step.status {
            job.tasks[index].state = .deadLettered
            job.tasks[index].finishedMillis = context.timestampMillis
            Self.record(.task(id, state: .deadLettered, attempt: job.tasks[index].attempt), in: &job, context: context, limits: limits)
        }
        absorb(step, into: &job, context: context)
        let state = job.tasks[index].state
        let retryAt = state == .retrying ? job.tasks[index].readyAtMillis : nil
        jobs[id.job] = job
        return (state, retryAt, job.status)
    }

    /// The definition a job is pinned to.
    func definition(of job: JobRecord) -> GraphDefinition {
        guard let record = graphRecord(job.graph) else {
            preconditionFailure("job \(job.id) is pinned to graph \(job.graph), which is not registered")
        }
        return record.definition
    }
}
