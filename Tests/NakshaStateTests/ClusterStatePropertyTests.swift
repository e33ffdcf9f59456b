import NakshaCore
import NakshaGraph
import Testing

@testable import NakshaState

/// Random command sequences on two replicas: one applies commands as values, the other as
/// log bytes (and is replaced by a snapshot restore halfway). They must agree on every
/// result and on the state's bytes, and the invariants must hold after every step.
@Suite struct ClusterStatePropertyTests {
    static let seeds: [UInt64] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    static let stepsPerSeed = 400

    /// What the model remembers about the run, to check the state against.
    struct Model {
        var submitted: [JobID] = []
        /// Child jobs seen (subgraph calls), by id.
        var children: Set<JobID> = []
        var evicted: Set<JobID> = []
        var keyToJob: [String: JobID] = [:]
        var completed: Set<TaskID> = []
        var granted: [LeaseReference] = []
        var lastSubmit: ClusterCommand?
    }

    /// Accepted and refused commands by kind, to show what the generator exercised.
    struct Tally {
        var accepted: [String: Int] = [:]
        var refused: [String: Int] = [:]
        var idempotentHits = 0
        var retries = 0
        var deadLetters = 0
        var leasesExpired = 0
        var restores = 0
        var children = 0

        mutating func add(_ other: Tally) {
            children += other.children
            accepted.merge(other.accepted, uniquingKeysWith: +)
            refused.merge(other.refused, uniquingKeysWith: +)
            idempotentHits += other.idempotentHits
            retries += other.retries
            deadLetters += other.deadLetters
            leasesExpired += other.leasesExpired
            restores += other.restores
        }
    }

    @Test func randomCommandsOnTwoReplicasGiveIdenticalResultsStatesAndBytes() throws {
        var total = Tally()
        for seed in Self.seeds {
            total.add(try run(seed: seed))
        }
        // The generator must have exercised every path it claims to test.
        let minimums = [
            "submit_job": 200, "lease_tasks": 200, "complete_task": 200, "fail_task": 40, "expire_leases": 40,
            "cancel_job": 20, "resume_job": 10, "register_worker": 30, "deregister_worker": 5, "evict_jobs": 10,
            "set_key_concurrency": 10, "set_provider_rate": 5, "throttle_provider": 5, "complete_tasks": 60, "complete_tasks_item": 100,
        ]
        for (kind, minimum) in minimums.sorted(by: { $0.key < $1.key }) {
            #expect((total.accepted[kind] ?? 0) >= minimum, "only \(total.accepted[kind] ?? 0) accepted \(kind) commands")
        }
        #expect((total.refused["complete_task"] ?? 0) >= 20, "stale completions exercised")
        #expect((total.refused["complete_tasks_item"] ?? 0) >= 10, "stale and repeated completions inside batches exercised")
        #expect((total.refused["submit_job"] ?? 0) >= 5, "idempotency conflicts exercised")
        #expect(total.idempotentHits >= 20)
        #expect(total.retries >= 20)
        #expect(total.deadLetters >= 3)
        #expect(total.leasesExpired >= 20)
        #expect(total.restores == Self.seeds.count)
        #expect(total.children >= 50, "only \(total.children) child jobs (subgraph calls) were started")
    }

    private func run(seed: UInt64) throws -> Tally {
        var generator = SeededGenerator(seed: seed)
        var replicaA = ClusterState(limits: ClusterLimits(maxTaskOutputBytes: 256, maxEventsPerJob: 16))
        var replicaB = replicaA
        var model = Model()
        var tally = Tally()
        var index: UInt64 = 0
        var now: UInt64 = 1_700_000_000_000

        @discardableResult
        func step(_ command: ClusterCommand, advance: UInt64) throws -> ClusterResult {
            index += 1
            now += advance
            let context = CommandContext(index: index, term: 1, timestampMillis: now)
            let result = replicaA.apply(command, context: context)
            let bytes = replicaB.apply(commandBytes: ClusterState.encodeCommand(command), context: context)
            #expect(ClusterState.encodeResult(result) == bytes, "seed \(seed) index \(index): the replicas' results differ")
            #expect(try ClusterState.decodeResult(bytes) == result)
            record(command, result, replicaA, &model, &tally)
            for id in replicaA.jobOrder where replicaA.jobs[id]?.parent != nil && !model.children.contains(id) {
                #expect(!model.submitted.contains(id), "seed \(seed): child job \(id) has a submitted job's id")
                model.children.insert(id)
                tally.children += 1
            }
            try checkInvariants(replicaA, model, seed: seed, index: index)
            return result
        }

        for _ in 0..<2 {
            for yaml in [Graphs.pipeline, Graphs.approval, Graphs.chat, Graphs.helper, Graphs.delegate] {
                let name = try GraphDefinition.load(yaml: yaml, fileName: "t").name
                try step(.registerGraph(RegisterGraph(name: name, yaml: yaml, contentHash: Graphs.hash(yaml))), advance: 1)
            }
        }
        for stepNumber in 0..<Self.stepsPerSeed {
            let command = randomCommand(replicaA, &model, &generator)
            let advance = generator.next(below: 10) == 0 ? 40_000 : generator.next(below: 2_000)
            try step(command, advance: advance)
            if stepNumber == Self.stepsPerSeed / 2 {
                let bytes = replicaA.encoded()
                let restored = try ClusterState.decode(bytes)
                #expect(restored == replicaA, "seed \(seed): the restored state differs")
                #expect(restored.encoded() == bytes, "seed \(seed): snapshot → restore → encode is not byte-identical")
                replicaB = restored
                tally.restores += 1
            }
        }
        // Drain: every lease expires or completes, every interrupt resumes, every job ends
        // (with the fairness-key limits and the provider's rate lifted, so it ends quickly).
        for key in Self.fairnessKeys { try step(.setKeyConcurrency(key: key, maxLeasedTasks: nil), advance: 1) }
        try step(.setProviderRate(provider: Self.provider, tokensPerSecond: .infinity, burst: 0), advance: 1)
        try step(.registerWorker(RegisterWorker(worker: "drain", capacity: 1_000)), advance: 1)
        for _ in 0..<100 where !replicaA.jobOrder.allSatisfy({ replicaA.jobs[$0]?.status.isFinished == true }) {
            try step(.expireLeases(nil), advance: 86_400_000)
            for id in replicaA.jobOrder where replicaA.jobs[id]?.status == .interrupted {
                try step(.resumeJob(ResumeJob(job: id, input: ["approved": true])), advance: 1)
            }
            try step(.registerWorker(RegisterWorker(worker: "drain", capacity: 1_000)), advance: 1)
            let result = try step(.leaseTasks(LeaseTasks(worker: "drain", max: 256, leaseDurationMillis: 60_000)), advance: 1)
            guard case .success(.tasksLeased(let leased)) = result else { continue }
            for assignment in leased {
                try step(.completeTask(CompleteTask(task: assignment.task, token: assignment.token, output: Graphs.output(for: assignment.node))), advance: 1)
            }
        }
        #expect(replicaA.jobOrder.allSatisfy { replicaA.jobs[$0]?.status.isFinished == true }, "seed \(seed): jobs left unfinished after the drain")
        // Every leased task ended succeeded, dead-lettered, failed or cancelled (retries re-leased it first).
        for lease in model.granted {
            guard !model.evicted.contains(lease.task.job), let task = replicaA.task(lease.task) else { continue }
            #expect(task.state.isFinal, "seed \(seed): task \(lease.task) leased with \(lease.token) ended \(task.state)")
        }
        #expect(replicaA == replicaB, "seed \(seed): the replicas' states differ")
        #expect(replicaA.encoded() == replicaB.encoded(), "seed \(seed): the replicas' bytes differ")
        return tally
    }

    private func record(_ command: ClusterCommand, _ result: ClusterResult, _ state: ClusterState, _ model: inout Model, _ tally: inout Tally) {
        switch result {
        case .failure: tally.refused[command.name, default: 0] += 1
        case .success(let outcome):
            tally.accepted[command.name, default: 0] += 1
            switch outcome {
            case .jobSubmitted(let id, _, let existing):
                guard case .submitJob(let submit) = command else { break }
                if existing {
                    tally.idempotentHits += 1
                    if let key = submit.idempotencyKey { #expect(model.keyToJob[key] == id, "a key named two jobs") }
                } else {
                    #expect(!model.submitted.contains(id), "job \(id) created twice")
                    model.submitted.append(id)
                    if let key = submit.idempotencyKey { model.keyToJob[key] = id }
                }
            case .tasksLeased(let tasks): model.granted += tasks.map(\.lease)
            case .taskCompleted(let id, _):
                if state.task(id)?.state == .succeeded {
                    #expect(!model.completed.contains(id), "task \(id) recorded twice")
                    model.completed.insert(id)
                }
            case .tasksCompleted(let outcomes):
                tally.accepted["complete_tasks_item", default: 0] += outcomes.filter { $0.error == nil }.count
                tally.refused["complete_tasks_item", default: 0] += outcomes.filter { $0.error != nil }.count
                for outcome in outcomes where outcome.error == nil && state.task(outcome.task)?.state == .succeeded {
                    #expect(!model.completed.contains(outcome.task), "task \(outcome.task) recorded twice (in a batch)")
                    model.completed.insert(outcome.task)
                }
            case .taskFailed(_, let state, _, _):
                if state == .retrying { tally.retries += 1 }
                if state == .deadLettered { tally.deadLetters += 1 }
            case .leasesExpired(let ids): tally.leasesExpired += ids.count
            case .jobsEvicted(let ids): model.evicted.formUnion(ids)
            case .graphRegistered, .graphConcurrencySet, .jobCancelled, .jobResumed, .workerRegistered, .workersRemoved, .keyConcurrencySet,
                .providerRateSet, .providerThrottled, .collectionCreated, .collectionDropped, .shardMovesStarted, .shardMoveFinished, .shardReplicaRefused:
                break
            }
        }
    }

    private func checkInvariants(_ state: ClusterState, _ model: Model, seed: UInt64, index: UInt64) throws {
        let context = "seed \(seed) index \(index)"
        // No job lost or duplicated.
        #expect(zip(state.jobOrder, state.jobOrder.dropFirst()).allSatisfy { $0 < $1 }, "\(context): job order")
        #expect(Set(state.jobOrder) == Set(model.submitted).union(model.children).subtracting(model.evicted), "\(context): jobs lost or invented")
        // Subgraph calls: a waiting task's child runs and names it; a running child's parent
        // task waits on it.
        for id in state.jobOrder {
            guard let job = state.jobs[id] else { continue }
            for task in job.tasks where task.state == .waiting {
                let child = task.child.flatMap { state.jobs[$0] }
                #expect(child?.parent == task.id && child?.status.isFinished == false, "\(context): waiting task \(task.id) and its child")
            }
            if let parent = job.parent, !job.status.isFinished {
                #expect(state.task(parent)?.state == .waiting && state.task(parent)?.child == id, "\(context): running child \(id) of \(parent)")
            }
        }
        #expect(state.jobs.count == state.jobOrder.count, "\(context): job index")
        // Indexes agree with the task records.
        var queued: [TaskID: Int] = [:]
        for entry in state.readyQueue { queued[entry.task, default: 0] += 1 }
        #expect(zip(state.readyQueue, state.readyQueue.dropFirst()).allSatisfy { $0.precedes($1) }, "\(context): queue order")
        let leased = Set(state.leasedTasks)
        #expect(leased.count == state.leasedTasks.count, "\(context): a task leased twice")
        for id in state.jobOrder {
            guard let job = state.jobs[id] else { continue }
            for task in job.tasks {
                let inQueue = queued[task.id] ?? 0
                #expect(inQueue == ((task.state == .ready || task.state == .retrying) ? 1 : 0), "\(context): task \(task.id) \(task.state) queued \(inQueue)x")
                #expect((task.child != nil) == (task.state == .waiting) || task.child != nil && task.state.isFinal, "\(context): task \(task.id) child link")
                #expect(leased.contains(task.id) == (task.state == .leased), "\(context): task \(task.id) \(task.state) lease index")
                #expect((task.lease != nil) == (task.state == .leased), "\(context): task \(task.id) lease record")
                #expect((task.output != nil) == (task.state == .succeeded), "\(context): task \(task.id) output")
                if job.status.isFinished { #expect(task.state.isFinal, "\(context): finished job \(id) has task \(task.id) \(task.state)") }
            }
        }
        for id in model.completed where !model.evicted.contains(id.job) {
            #expect(state.task(id)?.state == .succeeded, "\(context): completed task \(id) is not succeeded")
        }
    }

    static let fairnessKeys = ["t0", "t1", "t2", "pipeline"]
    static let provider = "llm.chat:gpt-4o-mini"

    private func randomCommand(_ state: ClusterState, _ model: inout Model, _ generator: inout SeededGenerator) -> ClusterCommand {
        func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[Int(generator.next(below: UInt64(items.count)))] }
        let workers: [WorkerID] = ["w0", "w1", "w2"]
        let leases = state.leases.map(\.0)
        let roll = generator.next(below: 100)
        switch roll {
        case 0..<18:
            let graph = ["approval", "approval", "chat", "pipeline", "pipeline", "pipeline", "delegate", "delegate"][Int(generator.next(below: 8))]
            let input: [String: GraphValue] = graph == "approval" ? [:] : ["question": .string("q\(generator.next(below: 2))")]
            let key: String? = generator.next(below: 2) == 0 ? nil : "k\(generator.next(below: 6))"
            let fairness = pick(["t0", "t1", "t2"] as [String?] + [nil])
            let command = ClusterCommand.submitJob(
                SubmitJob(
                    graph: .named(graph, version: nil), input: input, idempotencyKey: key, priority: Int(generator.next(below: 3)),
                    fairnessKey: fairness ?? nil))
            model.lastSubmit = command
            return command
        case 18..<22:
            return model.lastSubmit ?? .expireLeases(nil)  // a client retry or a duplicated proposal
        case 22..<42:
            let worker = pick(workers) ?? "w0"
            return .leaseTasks(LeaseTasks(worker: worker, max: Int(1 + generator.next(below: 3)), leaseDurationMillis: 500 + generator.next(below: 5_000)))
        case 42..<62:
            let stale = generator.next(below: 8) == 0
            guard let lease = stale ? pick(model.granted) : pick(leases), let task = state.task(lease.task) else {
                return .expireLeases(nil)
            }
            var output = Graphs.output(for: task.node)
            switch generator.next(below: 40) {
            case 0: output = ["nonsense": 1]
            case 1: output = output.mapValues { _ in .string(String(repeating: "x", count: 300)) }
            default: break
            }
            let completion = CompleteTask(task: lease.task, token: lease.token, output: output)
            if generator.next(below: 3) == 0 {
                // A batch: more current (or stale, or repeated) leases completed in one entry.
                var batch = [completion]
                for _ in 0..<generator.next(below: 4) {
                    guard let other = generator.next(below: 5) == 0 ? pick(model.granted) : pick(leases), let otherTask = state.task(other.task) else { continue }
                    batch.append(CompleteTask(task: other.task, token: other.token, output: Graphs.output(for: otherTask.node)))
                }
                return .completeTasks(batch)
            }
            return .completeTask(completion)
        case 62..<72:
            guard let lease = pick(leases) else { return .expireLeases(nil) }
            return .failTask(FailTask(task: lease.task, token: lease.token, reason: "boom", retryable: generator.next(below: 6) != 0))
        case 72..<76:
            return .expireLeases(nil)
        case 76..<78:
            return .expireLeases(leases.filter { _ in generator.next(below: 2) == 0 })
        case 78..<81:
            return .cancelJob(pick(state.jobOrder) ?? JobID(rawValue: 1))
        case 81..<85:
            let interrupted = state.jobOrder.filter { state.jobs[$0]?.status == .interrupted }
            guard let job = pick(interrupted) else { return .expireLeases(nil) }
            return .resumeJob(ResumeJob(job: job, input: ["approved": .bool(generator.next(below: 2) == 0)]))
        case 85..<91:
            return .registerWorker(RegisterWorker(worker: pick(workers) ?? "w0", capacity: Int(1 + generator.next(below: 4)), labels: ["zone": "a"]))
        case 91..<93:
            return .deregisterWorker(pick(workers) ?? "w0")
        case 93..<94:
            return .expireWorkers(workers.filter { _ in generator.next(below: 3) == 0 })
        case 94..<97:
            let finished = state.jobOrder.filter { state.jobs[$0]?.status.isFinished == true }
            return .evictJobs(finished.filter { _ in generator.next(below: 2) == 0 })
        case 97:
            return .registerGraph(RegisterGraph(name: "pipeline", yaml: Graphs.pipeline, contentHash: Graphs.hash(Graphs.pipeline)))
        case 98:
            let limit = generator.next(below: 4)
            return .setKeyConcurrency(key: pick(Self.fairnessKeys) ?? "t0", maxLeasedTasks: limit == 0 ? nil : Int(limit))
        default:
            if generator.next(below: 2) == 0 {
                return .setProviderRate(provider: Self.provider, tokensPerSecond: 0.5 + Double(generator.next(below: 4)), burst: Int(1 + generator.next(below: 3)))
            }
            // The run's clock starts at 1_700_000_000_000 and advances about 2,000 s: closes
            // that already passed, that pass during the run and that outlast it.
            return .throttleProvider(provider: Self.provider, untilMillis: 1_700_000_000_000 + generator.next(below: 2_500_000))
        }
    }
}

