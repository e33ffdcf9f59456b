import NakshaCore
import NakshaGraph

extension ClusterState {
    mutating func completeTask(_ complete: CompleteTask, context: CommandContext) -> ClusterResult {
        let record: TaskRecord
        switch leasedTask(complete.task, token: complete.token) {
        case .failure(let error): return .failure(error)
        case .success(let found): record = found
        }
        return recordOutput(complete.task, record: record, output: complete.output, usage: complete.usage, context: context)
    }

    mutating func completeTasks(_ completions: [CompleteTask], context: CommandContext) -> ClusterResult {
        guard (1...ClusterLimits.maxCompletionsPerEntry).contains(completions.count) else {
            return .failure(ClusterError(.invalidCommand, "a batch holds 1…\(ClusterLimits.maxCompletionsPerEntry) completions, not \(completions.count)"))
        }
        var outcomes: [TaskCompletionOutcome] = []
        outcomes.reserveCapacity(completions.count)
        for completion in completions {
            switch completeTask(completion, context: context) {
            case .success(.taskCompleted(_, let status)): outcomes.append(TaskCompletionOutcome(task: completion.task, jobStatus: status))
            case .success(let other): outcomes.append(TaskCompletionOutcome(task: completion.task, error: ClusterError(.invalidCommand, "unexpected outcome \(other)")))
            case .failure(let error): outcomes.append(TaskCompletionOutcome(task: completion.task, error: error))
            }
        }
        return .success(.tasksCompleted(outcomes))
    }

    /// Records a running task's output (a worker's completion under its lease, or a child
    /// job's result) and moves its job on.
    mutating func recordOutput(_ id: TaskID, record: TaskRecord, output: [String: GraphValue], usage: TaskUsage?, context: CommandContext) -> ClusterResult {
        guard var job = jobs[id.job] else { return .failure(ClusterError(.unknownJob, "job \(id.job) is gone")) }
        let index = Int(id.number) - 1
        let outputSize = Self.encodedSize(of: output)
        if outputSize > limits.maxTaskOutputBytes {
            let message = "task \(id) (node \"\(record.node)\") produced \(outputSize) bytes of output; the limit is \(limits.maxTaskOutputBytes)"
            failTaskForGood(&job, index: index, state: .failed, code: "output_too_large", message: message, context: context)
            jobs[id.job] = job
            return .failure(ClusterError(.outputTooLarge, message + "; the task and its job failed"))
        }
        let planner = GraphPlanner(graph: definition(of: job))
        var checkpoint = job.planner
        let step: PlannerStep
        do {
            step = try planner.complete(&checkpoint, task: record.graphTask, output: output)
        } catch {
            return .failure(ClusterError(.unknownTask, "task \(id) is not running in its job's plan: \(error.message)"))
        }
        job.planner = checkpoint
        removeLeased(id)
        job.tasks[index].lease = nil
        job.tasks[index].finishedMillis = context.timestampMillis
        if case .failed(let failure) = step.status, failure.code == .undeclaredWrite || failure.code == .outputTypeMismatch {
            // The planner refused the output itself (a key outside `writes`, a wrong type):
            // it is not recorded, and the run failed.
            job.tasks[index].state = .failed
            job.tasks[index].error = failure.message
        } else {
            job.tasks[index].state = .succeeded
            job.tasks[index].output = output
            job.tasks[index].usage = usage
        }
        Self.record(.task(id, state: job.tasks[index].state, attempt: record.attempt), in: &job, context: context, limits: limits)
        var runFailed = false
        if case .failed = step.status { runFailed = true }
        if !step.stateUpdate.isEmpty, !runFailed {
            let stateSize = Self.encodedSize(of: job.planner.values)
            if stateSize > limits.maxJobStateBytes {
                finish(
                    &job, status: .failed,
                    failure: JobFailure(
                        code: "state_too_large", message: "the job state grew to \(stateSize) bytes; the limit is \(limits.maxJobStateBytes)", task: id),
                    context: context)
                jobs[id.job] = job
                return .success(.taskCompleted(id, jobStatus: job.status))
            }
        }
        absorb(step, into: &job, context: context)
        jobs[id.job] = job
        return .success(.taskCompleted(id, jobStatus: job.status))
    }

    mutating func failTask(_ failure: FailTask, context: CommandContext) -> ClusterResult {
        if case .failure(let error) = leasedTask(failure.task, token: failure.token) { return .failure(error) }
        let id = failure.task
        if failure.retryable {
            let (state, retryAt, status) = retryOrDeadLetter(id, reason: failure.reason, context: context)
            return .success(.taskFailed(id, state: state, retryAtMillis: retryAt, jobStatus: status))
        }
        guard var job = jobs[id.job] else { return .failure(ClusterError(.unknownJob, "job \(id.job) is gone")) }
        let index = Int(id.number) - 1
        let message = "task \(id) (node \"\(job.tasks[index].node)\") failed and is not retryable: \(failure.reason)"
        failTaskForGood(&job, index: index, state: .failed, code: "task_failed", message: message, context: context)
        jobs[id.job] = job
        return .success(.taskFailed(id, state: .failed, retryAtMillis: nil, jobStatus: job.status))
    }

    /// A leased task that will not run again: it ends in `state` and fails its job.
    private mutating func failTaskForGood(_ job: inout JobRecord, index: Int, state: TaskState, code: String, message: String, context: CommandContext) {
        let id = job.tasks[index].id
        removeLeased(id)
        job.tasks[index].state = state
        job.tasks[index].lease = nil
        job.tasks[index].error = message
        job.tasks[index].finishedMillis = context.timestampMillis
        Self.record(.task(id, state: state, attempt: job.tasks[index].attempt), in: &job, context: context, limits: limits)
        finish(&job, status: .failed, failure: JobFailure(code: code, message: message, task: id), context: context)
    }

    mutating func cancelJob(_ id: JobID, context: CommandContext) -> ClusterResult {
        guard var job = jobs[id] else { return .failure(ClusterError(.unknownJob, "job \(id) is not in the cluster state")) }
        guard !job.status.isFinished else {
            return .failure(ClusterError(.notCancellable, "job \(id) already ended (\(job.status.rawValue)); there is nothing to cancel"))
        }
        finish(&job, status: .cancelled, failure: nil, context: context)
        jobs[id] = job
        return .success(.jobCancelled(id))
    }

    mutating func resumeJob(_ resume: ResumeJob, context: CommandContext) -> ClusterResult {
        guard var job = jobs[resume.job] else { return .failure(ClusterError(.unknownJob, "job \(resume.job) is not in the cluster state")) }
        guard job.status == .interrupted else {
            return .failure(ClusterError(.notInterrupted, "job \(resume.job) is \(job.status.rawValue), not interrupted; only an interrupted job resumes"))
        }
        let planner = GraphPlanner(graph: definition(of: job))
        let step: PlannerStep
        do {
            step = try planner.resume(&job.planner, input: resume.input)
        } catch {
            return .failure(ClusterError(.invalidInput, "resume of job \(resume.job): \(error.message)"))
        }
        absorb(step, into: &job, context: context)
        jobs[resume.job] = job
        return .success(.jobResumed(resume.job, status: job.status))
    }

    mutating func registerWorker(_ register: RegisterWorker, context: CommandContext) -> ClusterResult {
        guard register.capacity >= 1, !register.worker.rawValue.isEmpty else {
            return .failure(ClusterError(.invalidCommand, "a worker needs a non-empty id and a capacity of at least 1"))
        }
        let joined = workers[register.worker] == nil
        let budgetChanged = workers[register.worker].map { $0.memoryBudgetBytes != register.memoryBudgetBytes } ?? false
        let registered = workers[register.worker]?.registeredMillis ?? context.timestampMillis
        workers[register.worker] = WorkerRecord(
            id: register.worker, capacity: register.capacity, labels: register.labels,
            memoryBudgetBytes: register.memoryBudgetBytes, registeredMillis: registered, shardAddress: register.shardAddress)
        // A worker back with another budget (or new) may hold what it refused before.
        if (joined || budgetChanged) && shardMap.forgetRefusals(of: register.worker) { shardMap.epoch += 1 }
        replaceShards(removing: [], rebalance: joined)
        return .success(.workerRegistered(register.worker))
    }

    /// Removes workers and releases their leases (each counts as an expired lease).
    mutating func removeWorkers(_ ids: [WorkerID], reason: String, context: CommandContext) -> ClusterResult {
        let removed = Array(Set(ids)).sorted().filter { workers[$0] != nil }
        for id in removed { workers[id] = nil }
        let gone = Set(removed)
        var released: [TaskID] = []
        for id in leasedTasks {
            guard let lease = task(id)?.lease, gone.contains(lease.worker) else { continue }
            released.append(id)
        }
        for id in released {
            guard let lease = task(id)?.lease, case .success = leasedTask(id, token: lease.token) else { continue }
            _ = retryOrDeadLetter(id, reason: "\(reason) while holding lease \(lease.token)", context: context)
        }
        replaceShards(removing: gone)
        return .success(.workersRemoved(removed, releasedTasks: released))
    }

    mutating func evictJobs(_ ids: [JobID]) -> ClusterResult {
        let evicted = Array(Set(ids)).sorted().filter { jobs[$0]?.status.isFinished == true }
        guard !evicted.isEmpty else { return .success(.jobsEvicted([])) }
        for id in evicted { jobs[id] = nil }
        let gone = Set(evicted)
        jobOrder.removeAll { gone.contains($0) }
        return .success(.jobsEvicted(evicted))
    }
}
