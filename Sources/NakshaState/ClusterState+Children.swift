import NakshaCore
import NakshaGraph

/// Child-job work one entry started, settled in order before `apply` returns.
enum ChildWork: Sendable, Equatable {
    /// Start the child job of this waiting `subgraph` task.
    case start(TaskID)
    /// This child job finished: end its parent task with it.
    case finished(JobID)
    /// The parent ended first: cancel this child job.
    case cancel(JobID)
}

/// Subgraphs as child jobs.
///
/// A `subgraph` task never reaches a worker: when it becomes ready its job records it as
/// `waiting` and the same entry starts a child job of the referenced graph version, with the
/// node's `input` evaluated on the parent's state. The child is an ordinary job (its own id,
/// tasks, events, limits and archive; the parent's priority and fairness key) that knows its
/// parent task. When it finishes, the same entry ends the parent task: succeeded with the
/// child's final values of the keys the node `writes`, or — failed, cancelled — as a
/// retryable failure, so the node's retry policy starts a new child or dead-letters the task.
/// A parent that ends first cancels its running children. All of it is deterministic: child
/// ids come from `newJobID`, work is settled in the order it arose.
extension ClusterState {
    /// The id of a job created by the entry at `context.index`: above every id given out,
    /// and the entry's index when that is free (so a submit's id is usually its index).
    mutating func newJobID(context: CommandContext) -> JobID {
        lastJobID = max(context.index, lastJobID + 1)
        return JobID(rawValue: lastJobID)
    }

    mutating func settleChildJobs(context: CommandContext) {
        var position = 0
        while position < childWork.count {
            let work = childWork[position]
            position += 1
            switch work {
            case .start(let task): startChild(of: task, context: context)
            case .finished(let child): childFinished(child, context: context)
            case .cancel(let child): cancelChild(child, context: context)
            }
        }
        childWork.removeAll()
    }

    private mutating func startChild(of taskID: TaskID, context: CommandContext) {
        guard var parent = jobs[taskID.job], !parent.status.isFinished else { return }
        let index = Int(taskID.number) - 1
        guard parent.tasks.indices.contains(index), parent.tasks[index].state == .waiting, parent.tasks[index].child == nil else { return }
        let record = parent.tasks[index]
        let task = GraphTask(id: record.graphTask, item: record.item, attempt: record.attempt)
        let call: SubgraphCall
        do {
            guard let found = try GraphPlanner(graph: definition(of: parent)).subgraphCall(for: task, state: parent.planner) else { return }
            call = found
        } catch {
            failWaiting(taskID, reason: "the subgraph's input does not evaluate: \(error.message)", retryable: false, context: context)
            return
        }
        guard let childGraph = graphRecord(call.graph) else {
            failWaiting(taskID, reason: "subgraph \(call.graph) is not registered", retryable: false, context: context)
            return
        }
        let started: (state: PlannerState, step: PlannerStep)
        do {
            started = try GraphPlanner(graph: childGraph.definition).start(input: call.input)
        } catch {
            failWaiting(taskID, reason: "subgraph \(call.graph) refused its input: \(error.message)", retryable: false, context: context)
            return
        }
        let id = newJobID(context: context)
        var child = JobRecord(
            id: id, graph: childGraph.info.reference, contentHash: childGraph.info.contentHash, input: call.input,
            priority: parent.priority, fairnessKey: parent.resolvedFairnessKey, idempotencyKey: nil,
            status: .queued, planner: started.state, tasks: [], error: nil, createdMillis: context.timestampMillis,
            updatedMillis: context.timestampMillis, startedMillis: nil, finishedMillis: nil, events: [], eventsDroppedThrough: 0,
            parent: taskID)
        // The parent runs from here on, even if no task of its own was ever leased.
        parent.tasks[index].child = id
        parent.tasks[index].startedMillis = context.timestampMillis
        if parent.startedMillis == nil { parent.startedMillis = context.timestampMillis }
        setStatus(.running, of: &parent, context: context)
        jobs[taskID.job] = parent
        Self.record(.status(.queued), in: &child, context: context, limits: limits)
        absorb(started.step, into: &child, context: context)
        jobs[id] = child
        jobOrder.append(id)
    }

    private mutating func childFinished(_ childID: JobID, context: CommandContext) {
        guard let child = jobs[childID], let taskID = child.parent, let parent = jobs[taskID.job], !parent.status.isFinished else { return }
        let index = Int(taskID.number) - 1
        guard parent.tasks.indices.contains(index), parent.tasks[index].state == .waiting, parent.tasks[index].child == childID else { return }
        switch child.status {
        case .succeeded:
            let output = GraphPlanner(graph: definition(of: parent)).subgraphOutput(
                for: GraphTask(id: parent.tasks[index].graphTask, item: parent.tasks[index].item, attempt: parent.tasks[index].attempt),
                childValues: child.values)
            _ = recordOutput(taskID, record: parent.tasks[index], output: output, usage: nil, context: context)
        case .failed:
            let reason = child.error.map { "\($0.code): \($0.message)" } ?? "it failed"
            failWaiting(taskID, reason: "child job \(childID) (\(child.graph)) failed: \(reason)", retryable: true, context: context)
        case .cancelled:
            failWaiting(taskID, reason: "child job \(childID) (\(child.graph)) was cancelled", retryable: true, context: context)
        case .queued, .running, .interrupted:
            return
        }
    }

    private mutating func cancelChild(_ childID: JobID, context: CommandContext) {
        guard var child = jobs[childID], !child.status.isFinished else { return }
        let parent = child.parent.map { "\($0.job)" } ?? "?"
        finish(&child, status: .cancelled, failure: JobFailure(code: "parent_ended", message: "its parent job \(parent) ended first", task: nil), context: context)
        jobs[childID] = child
    }

    /// Ends a waiting subgraph task as failed: through the node's retry policy when
    /// `retryable` (a new attempt starts a new child), else for good, failing its job.
    private mutating func failWaiting(_ taskID: TaskID, reason: String, retryable: Bool, context: CommandContext) {
        guard var job = jobs[taskID.job] else { return }
        let index = Int(taskID.number) - 1
        if retryable {
            _ = retryOrDeadLetter(taskID, reason: reason, context: context)
            return
        }
        let message = "task \(taskID) (node \"\(job.tasks[index].node)\"): \(reason)"
        job.tasks[index].state = .failed
        job.tasks[index].error = message
        job.tasks[index].finishedMillis = context.timestampMillis
        Self.record(.task(taskID, state: .failed, attempt: job.tasks[index].attempt), in: &job, context: context, limits: limits)
        finish(&job, status: .failed, failure: JobFailure(code: "subgraph_failed", message: message, task: taskID), context: context)
        jobs[taskID.job] = job
    }
}
