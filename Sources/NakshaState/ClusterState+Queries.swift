import NakshaCore
import NakshaGraph

/// One page of `ClusterState.jobs(status:graph:limit:after:)`.
public struct JobPage: Sendable, Hashable {
    public var jobs: [JobSummary]
    /// Pass as `after` for the next page; nil on the last page.
    public var nextCursor: JobID?
}

/// A job in a listing.
public struct JobSummary: Sendable, Hashable {
    public var id: JobID
    public var graph: GraphReference
    public var status: JobStatus
    public var priority: Int
    public var createdMillis: UInt64
    public var updatedMillis: UInt64
    public var finishedMillis: UInt64?
}

/// Tasks waiting and running, cluster-wide.
public struct TaskCounts: Sendable, Hashable {
    /// In the ready queue for the first time.
    public var ready: Int
    /// In the ready queue after a failure or an expired lease.
    public var retrying: Int
    public var leased: Int
}

/// A job's events after a given index.
public struct JobEventPage: Sendable, Hashable {
    public var events: [JobEvent]
    /// True when events after the requested index were dropped (the bound per job): the
    /// reader should reload the job instead of trusting the stream to be complete.
    public var missedSome: Bool
}

extension ClusterState {
    public func job(_ id: JobID) -> JobRecord? { jobs[id] }

    public func task(_ id: TaskID) -> TaskRecord? {
        guard let job = jobs[id.job], id.number >= 1, Int(id.number) <= job.tasks.count else { return nil }
        return job.tasks[Int(id.number) - 1]
    }

    /// Jobs in id (submission) order after `cursor`, filtered by status and graph name.
    public func jobs(status: JobStatus? = nil, graph: String? = nil, limit: Int = 100, after cursor: JobID? = nil) -> JobPage {
        precondition(limit >= 1, "a page holds at least one job")
        var start = 0
        if let cursor {
            var low = 0
            var high = jobOrder.count
            while low < high {
                let middle = (low + high) / 2
                if jobOrder[middle] <= cursor { low = middle + 1 } else { high = middle }
            }
            start = low
        }
        var page: [JobSummary] = []
        var position = start
        while position < jobOrder.count, page.count < limit {
            defer { position += 1 }
            guard let job = jobs[jobOrder[position]] else { continue }
            if let status, job.status != status { continue }
            if let graph, job.graph.name != graph { continue }
            page.append(
                JobSummary(
                    id: job.id, graph: job.graph, status: job.status, priority: job.priority, createdMillis: job.createdMillis,
                    updatedMillis: job.updatedMillis, finishedMillis: job.finishedMillis))
        }
        let more = page.count == limit && jobOrder[position...].contains { id in
            guard let job = jobs[id] else { return false }
            return (status == nil || job.status == status) && (graph == nil || job.graph.name == graph)
        }
        return JobPage(jobs: page, nextCursor: more ? page.last?.id : nil)
    }

    /// The number of jobs held (evicted ones not counted).
    public var jobCount: Int { jobOrder.count }

    public var taskCounts: TaskCounts {
        var ready = 0
        var retrying = 0
        for entry in readyQueue {
            if task(entry.task)?.state == .retrying { retrying += 1 } else { ready += 1 }
        }
        return TaskCounts(ready: ready, retrying: retrying, leased: leasedTasks.count)
    }

    /// The job's events with an index after `index` (all retained ones when nil).
    public func events(of id: JobID, after index: UInt64? = nil) -> JobEventPage? {
        guard let job = jobs[id] else { return nil }
        let after = index ?? 0
        return JobEventPage(events: job.events.filter { $0.index > after }, missedSome: job.eventsDroppedThrough > after)
    }

    /// Leases whose recorded expiry is at or before `nowMillis` (what the leader proposes to
    /// expire when no heartbeat extended them), in task order.
    public func leases(expiringAtOrBefore nowMillis: UInt64) -> [LeaseReference] {
        leasedTasks.compactMap { id in
            guard let lease = task(id)?.lease, lease.expiresMillis <= nowMillis else { return nil }
            return LeaseReference(task: id, token: lease.token)
        }
    }

    /// Every current lease, in task order (a new leader's heartbeat table starts from it).
    public var leases: [(LeaseReference, TaskLease)] {
        leasedTasks.compactMap { id in task(id)?.lease.map { (LeaseReference(task: id, token: $0.token), $0) } }
    }

    /// Whether the lease is still the task's current one (a heartbeat's answer: false after
    /// cancel, expiry or a new lease).
    public func isCurrent(_ lease: LeaseReference) -> Bool {
        guard let task = task(lease.task) else { return false }
        return task.state == .leased && task.lease?.token == lease.token
    }

    /// Registered graph names, sorted.
    public var graphNames: [String] { graphs.keys.sorted() }

    /// The versions of a graph, ascending.
    public func graphVersions(named name: String) -> [GraphVersionInfo] { (graphs[name] ?? []).map(\.info) }

    /// The YAML and parsed definition of one version (what a worker fetches).
    public func graphVersion(_ reference: GraphReference) -> (info: GraphVersionInfo, yaml: String, definition: GraphDefinition)? {
        graphRecord(reference).map { ($0.info, $0.yaml, $0.definition) }
    }

    public func graphConcurrencyLimit(of graph: String) -> Int? { graphConcurrency[graph] }

    /// The concurrency limit of a fairness key (`setKeyConcurrency`).
    public func keyConcurrencyLimit(of key: String) -> Int? { keyConcurrency[key] }

    /// Every per-graph concurrency limit, by graph name.
    public var graphConcurrencyLimits: [(name: String, limit: Int)] { graphConcurrency.keys.sorted().map { ($0, graphConcurrency[$0] ?? 0) } }

    /// Every per-fairness-key concurrency limit, by key.
    public var keyConcurrencyLimits: [(name: String, limit: Int)] { keyConcurrency.keys.sorted().map { ($0, keyConcurrency[$0] ?? 0) } }

    /// Provider keys the governor holds a bucket or a throttle for, sorted.
    public var providerNames: [String] { providers.keys.sorted() }

    /// The governor's bucket of a provider key as of leader time `nowMillis` (refilled to
    /// then, without taking anything); nil when the provider is not governed.
    public func providerStatus(_ provider: String, atMillis nowMillis: UInt64) -> ProviderStatus? {
        guard let bucket = providers[provider]?.refilled(at: nowMillis) else { return nil }
        let limited = bucket.milliTokensPerSecond != nil
        return ProviderStatus(
            provider: provider, tokensPerSecond: bucket.milliTokensPerSecond.map { Double($0) / 1000 },
            burst: limited ? bucket.burst : nil,
            availableTokens: limited ? Int(bucket.levelMicrotokens / ProviderBucket.microtokensPerToken) : nil,
            closedUntilMillis: bucket.closedUntilMillis > nowMillis ? bucket.closedUntilMillis : nil)
    }

    public func worker(_ id: WorkerID) -> WorkerRecord? { workers[id] }

    /// Registered workers, by id.
    public var workerList: [WorkerRecord] { workers.keys.sorted().compactMap { workers[$0] } }

    /// The job an idempotency key names, while the key is remembered.
    public func job(forIdempotencyKey key: String) -> JobID? { idempotency[key]?.job }

    /// Remembered idempotency keys (expired ones go at the next submit).
    public var idempotencyKeyCount: Int { idempotency.count }
}
