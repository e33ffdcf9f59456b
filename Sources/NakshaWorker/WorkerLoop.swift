import AsyncHTTPClient
import Logging
import NakshaActors
import NakshaClusterAPI
import NakshaCore
import NakshaGraph
import NakshaProviders
import NakshaState
import ServiceLifecycle
import Synchronization

/// The task loop, a `Service`: register, then long-poll for leases up to the free
/// concurrency, run each task as a child task, heartbeat the leases held, and report each
/// result once.
///
/// On graceful shutdown (SIGTERM) it stops leasing, lets the tasks in flight finish for up to
/// `shutdownGrace`, then stops the rest and deregisters, which releases their leases at once
/// so other workers take them over without waiting for expiry.
final class WorkerLoop: Service, Sendable {
    let configuration: WorkerConfiguration
    let connection: ClusterConnection
    let graphs: GraphCache
    let providers: ModelProviders
    let vectors: VectorCollections
    /// The shards this worker serves (nil without a cold store), and where routers reach them.
    let shards: ShardServer?
    let shardAddress: String?
    let httpClient: HTTPClient
    let cache = NodeOutputCache()
    let logger: Logger
    private let book: Mutex<LeaseBook>
    private let leaseDurationMillis = Atomic<UInt64>(10_000)
    private let registered = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)

    init(
        configuration: WorkerConfiguration, connection: ClusterConnection, providers: ModelProviders, vectors: VectorCollections,
        shards: ShardServer? = nil, shardAddress: String? = nil, httpClient: HTTPClient, logger: Logger
    ) {
        self.shards = shards
        self.shardAddress = shardAddress
        self.configuration = configuration
        self.connection = connection
        self.graphs = GraphCache(connection: connection)
        self.providers = providers
        self.vectors = vectors
        self.httpClient = httpClient
        self.logger = logger
        self.book = Mutex(LeaseBook(capacity: configuration.concurrency))
    }

    /// Registered and heard from the leader within three lease durations.
    func isReady() async -> Bool {
        guard registered.load(ordering: .relaxed), !stopping.load(ordering: .relaxed), let last = await connection.lastContact else { return false }
        return ContinuousClock.now - last < .milliseconds(Int64(leaseDurationMillis.load(ordering: .relaxed) * 3))
    }

    var runningCount: Int { book.withLock { $0.running.count } }

    func run() async throws {
        await withGracefulShutdownHandler {
            await self.runUntilStopped()
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
        }
        logger.info("worker stopped", metadata: ["worker": "\(configuration.id)"])
    }

    private func runUntilStopped() async {
        while !stopping.load(ordering: .relaxed), !Task.isCancelled {
            do {
                try await register()
                break
            } catch {
                logger.warning("cannot register yet; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))  // cancelled: the loop condition ends it
            }
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.heartbeatLoop() }
            if let shards = self.shards {
                group.addTask { await shards.followAssignments(self.connection) }
                group.addTask { await shards.pollChanges() }
            }
            await self.leaseLoop(group: &group)
            // Draining: tasks in flight may finish within the grace period.
            let graceEnd = ContinuousClock.now + configuration.shutdownGrace
            while runningCount > 0, ContinuousClock.now < graceEnd, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(20))  // cancelled: the loop condition ends it
            }
            let left = book.withLock { book in book.stop(book.held) }
            if !left.isEmpty { logger.warning("grace period over; releasing tasks in flight", metadata: ["tasks": "\(left.map(\.task))"]) }
            group.cancelAll()
        }
        do {
            try await connection.call("deregister", within: .seconds(10)) { [id = configuration.id] in try await $0.deregister(id) }
            logger.info("deregistered; leases released", metadata: ["worker": "\(configuration.id)"])
        } catch {
            logger.warning("could not deregister; the leader expires this worker after missed heartbeats", metadata: ["error": "\(error)"])
        }
    }

    private func register() async throws {
        let registration = WorkerRegistration(
            worker: configuration.id, capacity: configuration.concurrency, labels: configuration.labels,
            memoryBudgetBytes: configuration.memoryBudgetBytes, shardAddress: shardAddress)
        let answer = try await connection.call("register", within: .seconds(30)) { try await $0.register(registration) }
        leaseDurationMillis.store(answer.leaseDurationMillis, ordering: .relaxed)
        registered.store(true, ordering: .relaxed)
        logger.info(
            "worker registered",
            metadata: ["worker": "\(configuration.id)", "capacity": "\(configuration.concurrency)", "lease_ms": "\(answer.leaseDurationMillis)"])
    }

    /// Registers again after the cluster forgot this worker. A failure is logged; the next
    /// poll or heartbeat (whichever comes first) tries again, and meanwhile nothing is leased.
    private func registerAgain() async {
        do {
            try await register()
        } catch {
            logger.warning("registering again failed; retrying at the next poll", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Leasing

    private func leaseLoop(group: inout DiscardingTaskGroup) async {
        let wait = configuration.leaseWaitMillis
        while !stopping.load(ordering: .relaxed), !Task.isCancelled {
            let free = book.withLock { $0.free }
            guard free > 0 else {
                try? await Task.sleep(for: .milliseconds(10))  // cancelled: the loop condition ends it
                continue
            }
            do {
                let request = LeaseRequest(worker: configuration.id, max: free, waitMillis: wait)
                // A poll in flight at SIGTERM is cancelled; whatever it leased is released by
                // the deregistration at the end.
                let granted = try await cancelWhenGracefulShutdown {
                    try await self.connection.call("lease", within: .seconds(60), callTimeout: .milliseconds(Int64(wait) + 10_000)) {
                        try await $0.lease(request)
                    }
                }
                let started = book.withLock { $0.granted(granted) }
                WorkerMetrics.running(runningCount)
                for assignment in started {
                    group.addTask { await self.execute(assignment) }
                }
            } catch let error as ClusterAPIError where error.code == ClusterAPIError.unknownWorker {
                logger.warning("the cluster forgot this worker; registering again", metadata: ["error": "\(error)"])
                await registerAgain()
            } catch {
                if stopping.load(ordering: .relaxed) || Task.isCancelled { break }
                logger.warning("lease poll failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))  // cancelled: the loop condition ends it
            }
        }
    }

    // MARK: Heartbeats

    private func heartbeatLoop() async {
        var lastAnswered = ContinuousClock.now
        while !Task.isCancelled {
            let interval = max(leaseDurationMillis.load(ordering: .relaxed) / 3, 50)
            do {
                try await Task.sleep(for: .milliseconds(Int64(interval)))
            } catch {
                return
            }
            let held = book.withLock { $0.held }
            do {
                let beat = WorkerHeartbeat(worker: configuration.id, leases: held)
                let answer = try await connection.call("heartbeat", within: .milliseconds(Int64(interval)), callTimeout: .seconds(5)) {
                    try await $0.heartbeat(beat)
                }
                leaseDurationMillis.store(answer.leaseDurationMillis, ordering: .relaxed)
                lastAnswered = .now
                let stopped = book.withLock { $0.stop(answer.stop) }
                if !stopped.isEmpty { logger.info("stopping tasks the cluster no longer holds for this worker", metadata: ["tasks": "\(stopped.map(\.task))"]) }
            } catch let error as ClusterAPIError where error.code == ClusterAPIError.unknownWorker {
                logger.warning("the cluster forgot this worker; registering again", metadata: ["error": "\(error)"])
                await registerAgain()
            } catch {
                logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
                // Self-fencing: past one lease duration without an answer, the leader may
                // have granted these leases to another worker; stop them here rather than run
                // a side effect twice.
                if ContinuousClock.now - lastAnswered > .milliseconds(Int64(leaseDurationMillis.load(ordering: .relaxed))) {
                    let stopped = book.withLock { book in book.stop(book.held) }
                    if !stopped.isEmpty {
                        logger.warning("no heartbeat answered for a lease duration; stopping the tasks held", metadata: ["tasks": "\(stopped.map(\.task))"])
                    }
                }
            }
        }
    }

    // MARK: Running one task

    private func execute(_ assignment: TaskAssignment) async {
        let clock = ContinuousClock.now
        let lease = assignment.lease
        var kind = "unknown"
        defer {
            book.withLock { $0.finished(lease) }
            WorkerMetrics.running(runningCount)
        }
        let outcome: Result<NodeResult, NodeFailure>
        var cached = false
        do {
            let graph = try await graphs.definition(contentHash: assignment.contentHash)
            guard let node = graph.nodes[assignment.node] else {
                throw NodeFailure(.graphUnavailable, "graph \(graph.reference) has no node \"\(assignment.node)\"")
            }
            kind = node.kind.rawValue
            let context = NodeContext(
                assignment: assignment, node: node, graph: graph, providers: providers, vectors: vectors, httpClient: httpClient,
                logger: logger, environment: configuration.environment)
            let cacheKey = try node.cache.map { policy throws(NodeFailure) in try NodeOutputCache.key(policy: policy, context: context) }
            if let cacheKey, let output = await cache.output(for: cacheKey) {
                cached = true
                outcome = .success(NodeResult(output: output))
            } else {
                let result = try await runGuarded(context)
                if let cacheKey, let ttl = node.cache?.ttlMillis { await cache.store(result.output, for: cacheKey, ttlMillis: ttl) }
                outcome = .success(result)
            }
        } catch let failure as NodeFailure {
            outcome = .failure(failure)
        } catch {
            outcome = .failure(NodeFailure(.cancelled, "stopped: \(error)", retryable: true))
        }
        let seconds = Double((ContinuousClock.now - clock).components.attoseconds) / 1e18 + Double((ContinuousClock.now - clock).components.seconds)
        if book.withLock({ $0.isStopped(lease) }) || Task.isCancelled {
            logger.info("task stopped; nothing reported", metadata: ["task": "\(assignment.task)", "node": "\(assignment.node)"])
            WorkerMetrics.finished(kind: kind, result: "stopped", seconds: seconds)
            return
        }
        let result = await report(outcome, for: assignment)
        WorkerMetrics.finished(kind: kind, result: cached && result == "succeeded" ? "cached" : result, seconds: seconds)
    }

    /// Runs the node until it ends, its timeout passes, or its lease is stopped — whichever
    /// comes first. The node runs in a task of its own that is cancelled, not awaited, when it
    /// loses the race, so work that ignores cancellation (a blocked database call, a long
    /// computation) cannot hold the task's slot or its report past the timeout.
    private func runGuarded(_ context: NodeContext) async throws -> NodeResult {
        let executor = NodeRegistry.executor(for: context.node.kind)
        let lease = context.assignment.lease
        let timeout = context.timeout
        let first = FirstResult()
        let work = Task { () async throws -> NodeResult in try await executor.run(context) }
        let waiter = Task {
            do { first.resume(with: .success(try await work.value)) } catch { first.resume(with: .failure(error)) }
        }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }  // cancelled: the race is over
            first.resume(with: .failure(NodeFailure(.timeout, "node \"\(context.node.name)\" ran past its timeout of \(timeout)", retryable: true)))
        }
        let watcher = Task {
            while !Task.isCancelled, !self.book.withLock({ $0.isStopped(lease) }) { try? await Task.sleep(for: .milliseconds(50)) }  // polled
            first.resume(with: .failure(NodeFailure(.cancelled, "the lease is no longer current (job cancelled, or the lease expired)")))
        }
        defer {
            work.cancel()
            timer.cancel()
            watcher.cancel()
            waiter.cancel()
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<NodeResult, any Error>) in
                first.arm(continuation)
            }
        } onCancel: {
            first.resume(with: .failure(CancellationError()))
        }
    }

    /// Reports the task's result under its lease, retrying across leader changes; returns the
    /// metrics result.
    private func report(_ outcome: Result<NodeResult, NodeFailure>, for assignment: TaskAssignment) async -> String {
        let budget = Duration.milliseconds(Int64(max(leaseDurationMillis.load(ordering: .relaxed) * 3, 30_000)))
        do {
            switch outcome {
            case .success(let result):
                let completion = TaskCompletion(task: assignment.task, token: assignment.token, output: result.output, usage: result.usage)
                try await connection.call("complete", within: budget) { try await $0.complete(completion) }
                logger.info("task succeeded", metadata: ["task": "\(assignment.task)", "node": "\(assignment.node)", "attempt": "\(assignment.attempt)"])
                return "succeeded"
            case .failure(let failure):
                if let millis = failure.throttleMillis, let provider = assignment.provider {
                    let throttle = ProviderThrottle(worker: configuration.id, provider: provider, retryAfterMillis: millis)
                    try await connection.call("throttle", within: budget) { try await $0.throttle(throttle) }
                    WorkerMetrics.throttled(provider: provider)
                }
                let report = TaskFailureReport(task: assignment.task, token: assignment.token, reason: failure.description, retryable: failure.retryable)
                try await connection.call("fail", within: budget) { try await $0.fail(report) }
                logger.warning(
                    "task failed",
                    metadata: ["task": "\(assignment.task)", "node": "\(assignment.node)", "attempt": "\(assignment.attempt)", "retryable": "\(failure.retryable)", "error": "\(failure)"])
                return failure.retryable ? "retrying" : "failed"
            }
        } catch let error as RemoteCallError where error.code == .serializationFailed {
            // The result cannot be sent at all (too large or too deep for a frame): retrying
            // it, or the task, gives the same. The task fails for good with the reason.
            let report = TaskFailureReport(
                task: assignment.task, token: assignment.token, reason: "the task's result cannot be sent: \(error)", retryable: false)
            do {
                try await connection.call("fail", within: budget) { try await $0.fail(report) }
            } catch {
                logger.error("cannot report the task's failure", metadata: ["task": "\(assignment.task)", "error": "\(error)"])
            }
            return "failed"
        } catch let error as ClusterAPIError where error.code == ClusterAPIError.staleLease {
            // The lease was not current: expired and re-granted, the job cancelled — or an
            // earlier try of this same report applied and its answer was lost. Either way
            // there is nothing left to report.
            logger.info("result not recorded: the lease is not current", metadata: ["task": "\(assignment.task)", "error": "\(error.message)"])
            return "not_recorded"
        } catch {
            logger.error(
                "cannot report the task's result; the lease expires and the task runs again",
                metadata: ["task": "\(assignment.task)", "error": "\(error)"])
            return "not_recorded"
        }
    }
}

/// The first of several racers to finish resumes the continuation; the rest are ignored.
private final class FirstResult: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<NodeResult, any Error>?, early: Result<NodeResult, any Error>?, done: Bool)>((nil, nil, false))

    func arm(_ continuation: CheckedContinuation<NodeResult, any Error>) {
        let early: Result<NodeResult, any Error>? = state.withLock { state in
            if let early = state.early {
                state.early = nil
                return early
            }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func resume(with result: Result<NodeResult, any Error>) {
        let continuation: CheckedContinuation<NodeResult, any Error>? = state.withLock { state in
            guard !state.done else { return nil }
            state.done = true
            guard let continuation = state.continuation else {
                state.early = result
                return nil
            }
            state.continuation = nil
            return continuation
        }
        continuation?.resume(with: result)
    }
}
