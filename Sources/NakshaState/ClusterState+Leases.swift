import NakshaCore
import NakshaGraph

extension ClusterState {
    /// Grants up to `lease.max` ready tasks (bounded by the worker's free capacity and
    /// `maxLeaseBatch`):
    /// - higher priority first; a lower priority is only reached when no task of a higher
    ///   one can be leased;
    /// - within a priority, round-robin across fairness keys (`JobRecord.resolvedFairnessKey`),
    ///   in key order starting after the key served last at that priority, and FIFO within a
    ///   key: one tenant's burst never starves another tenant's single job;
    /// - a task is passed over while its backoff runs, while its graph or fairness key is at
    ///   its concurrency limit, or while its provider's bucket is closed or empty (each leased
    ///   task of a governed provider takes one token at the entry's timestamp).
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
        pruneProviders(now: now)
        var selection = LeaseSelection(
            budget: budget, now: now, leasedPerGraph: graphConcurrency.isEmpty ? [:] : leasedCountsByGraph(),
            leasedPerKey: keyConcurrency.isEmpty ? [:] : leasedCountsByKey(), buckets: providers)
        var levelStart = 0
        while levelStart < readyQueue.count, selection.taken.count < budget {
            let priority = readyQueue[levelStart].priority
            var levelEnd = levelStart
            while levelEnd < readyQueue.count, readyQueue[levelEnd].priority == priority { levelEnd += 1 }
            selectRoundRobin(positions: levelStart..<levelEnd, priority: priority, into: &selection)
            levelStart = levelEnd
        }
        providers = selection.buckets
        let token = LeaseToken(rawValue: context.index)
        let expires = now + lease.leaseDurationMillis
        var assignments: [TaskAssignment] = []
        for position in selection.taken {
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
                    graphTask: task.graphTask, item: task.item, attempt: task.attempt, state: job.values,
                    provider: providerKey(of: task, in: job)))
            jobs[id.job] = job
            addLeased(id)
        }
        let takenSet = Set(selection.taken)
        readyQueue = readyQueue.enumerated().filter { !takenSet.contains($0.offset) }.map(\.element)
        pruneFairnessCursors()
        return .success(.tasksLeased(assignments))
    }

    /// Picks tasks of one priority (`positions` of the ready queue) round-robin across
    /// fairness keys, FIFO within a key. A candidate passed over stays passed over for the
    /// rest of the batch (counts only grow and tokens only shrink within one entry), so
    /// each is looked at once.
    private mutating func selectRoundRobin(positions: Range<Int>, priority: Int, into selection: inout LeaseSelection) {
        var byKey: [String: [Int]] = [:]
        for position in positions {
            let entry = readyQueue[position]
            guard entry.readyAtMillis <= selection.now, let job = jobs[entry.task.job] else { continue }
            byKey[job.resolvedFairnessKey, default: []].append(position)
        }
        guard !byKey.isEmpty else { return }
        let sorted = byKey.keys.sorted()
        var keys = sorted
        if let cursor = fairnessCursor[priority], let next = sorted.firstIndex(where: { $0 > cursor }) {
            keys = Array(sorted[next...] + sorted[..<next])
        }
        var heads = [Int](repeating: 0, count: keys.count)
        var active = Array(keys.indices)
        var lastServed: String?
        while !active.isEmpty, selection.taken.count < selection.budget {
            var stillActive: [Int] = []
            for slot in active {
                guard selection.taken.count < selection.budget else { break }
                let key = keys[slot]
                let candidates = byKey[key] ?? []
                if let limit = keyConcurrency[key], selection.leasedPerKey[key, default: 0] >= limit { continue }
                var took = false
                while heads[slot] < candidates.count, !took {
                    let position = candidates[heads[slot]]
                    heads[slot] += 1
                    took = admit(position, key: key, into: &selection)
                }
                if took {
                    lastServed = key
                    if heads[slot] < candidates.count { stillActive.append(slot) }
                }
            }
            active = stillActive
        }
        // A priority with one key has nothing to rotate: its cursor is left as it was.
        if keys.count > 1, let lastServed { fairnessCursor[priority] = lastServed }
    }

    /// Takes the task at `position` if its graph, fairness key and provider allow it now.
    private func admit(_ position: Int, key: String, into selection: inout LeaseSelection) -> Bool {
        let id = readyQueue[position].task
        guard let job = jobs[id.job] else { return false }
        if let limit = graphConcurrency[job.graph.name], selection.leasedPerGraph[job.graph.name, default: 0] >= limit { return false }
        if !selection.buckets.isEmpty, let task = task(id), let provider = providerKey(of: task, in: job),
            var bucket = selection.buckets[provider]
        {
            guard bucket.take(at: selection.now) else { return false }
            selection.buckets[provider] = bucket
        }
        if graphConcurrency[job.graph.name] != nil { selection.leasedPerGraph[job.graph.name, default: 0] += 1 }
        if keyConcurrency[key] != nil { selection.leasedPerKey[key, default: 0] += 1 }
        selection.taken.append(position)
        return true
    }

    /// Drops the cursors of priorities with no ready task left (the state stays bounded).
    private mutating func pruneFairnessCursors() {
        guard !fairnessCursor.isEmpty else { return }
        var present: Set<Int> = []
        for entry in readyQueue { present.insert(entry.priority) }
        for priority in fairnessCursor.keys.sorted() where !present.contains(priority) { fairnessCursor[priority] = nil }
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

/// What one `leaseTasks` entry has picked so far, with the counts and buckets it changed.
private struct LeaseSelection {
    let budget: Int
    let now: UInt64
    var leasedPerGraph: [String: Int]
    var leasedPerKey: [String: Int]
    var buckets: [String: ProviderBucket]
    /// Positions in the ready queue, in the order granted.
    var taken: [Int] = []
}
