import NakshaCore
import NakshaGraph
import NakshaRaftStorage
import NakshaSimulation
import NakshaState
import Testing

/// `ClusterState` — the job queue — in the Raft simulator: the real write-ahead log and
/// snapshot code on a simulated disk, with crashes, restarts, partitions, dropped and
/// duplicated messages, leader changes and disk faults, driven by scripted clients that
/// retry with the same request id after an unknown outcome and re-send submits and
/// completions blindly. No acknowledged job may be lost, no task's output recorded twice, and
/// every replica at the same index must hold the same bytes.
@Suite struct ClusterStateSimulationTests {
    /// `ClusterState` as a replicated state machine (what the coordinator hosts as tag 1).
    struct QueueMachine: ReplicatedStateMachine {
        var state = ClusterState()

        mutating func apply(_ command: [UInt8], context: ApplyContext) -> [UInt8] {
            state.apply(commandBytes: command, context: CommandContext(index: context.index, term: context.term, timestampMillis: context.timestampMillis))
        }

        func snapshot() throws -> [UInt8] { state.encoded() }

        mutating func restore(_ snapshot: [UInt8]) throws { state = try ClusterState.decode(snapshot) }
    }

    static let graphs: [(name: String, yaml: String)] = [
        ("two", """
            name: two
            version: 1
            state: { x: string, y: string }
            nodes:
              a: { type: transform, params: { set: { x: "'1'" } } }
              b: { type: transform, params: { set: { y: "'2'" } } }
            edges:
              - { from: START, to: a }
              - { from: a, to: b }
              - { from: b, to: END }
            """),
        ("child", """
            name: child
            version: 1
            state: { z: string }
            nodes:
              c: { type: transform, params: { set: { z: "'3'" } } }
            edges:
              - { from: START, to: c }
              - { from: c, to: END }
            """),
        ("parent", """
            name: parent
            version: 1
            state: { z: string }
            nodes:
              call:
                type: subgraph
                params: { graph: child@1, input: {} }
                writes: [z]
                retry: { maxAttempts: 3, backoff: fixed, initialDelay: 1ms }
            edges:
              - { from: START, to: call }
              - { from: call, to: END }
            """),
    ]

    static func output(for node: String) -> [String: GraphValue] {
        switch node {
        case "a": return ["x": "1"]
        case "b": return ["y": "2"]
        default: return ["z": "3"]
        }
    }

    /// Scripted clients and workers, and what they were told.
    struct QueueWorkload: SimulationWorkload {
        var sequence: UInt64 = 0
        var sent: [(bytes: [UInt8], requestID: RequestID, command: ClusterCommand)] = []
        var commandByRequest: [RequestID: ClusterCommand] = [:]
        var registered: Set<String> = []
        var keys: [String] = []
        var keyJob: [String: JobID] = [:]
        var acknowledgedJobs: Set<JobID> = []
        var assignments: [TaskAssignment] = []
        var recordedOutputs: [TaskID: [String: GraphValue]] = [:]
        /// Which request recorded each task's output: the same request answered again (a
        /// retry under its request id, answered from the log's memory) is not a second record.
        var recordedBy: [TaskID: RequestID] = [:]
        var dedupedAnswers = 0
        var violations: [String] = []
        var completions = 0
        var idempotentHits = 0
        var staleRefusals = 0
        var repeatedRequests = 0

        func makeMachine() -> any ReplicatedStateMachine { QueueMachine() }

        mutating func nextCommand(_ random: inout SeededGenerator, nowMillis: UInt64) -> (bytes: [UInt8], requestID: RequestID)? {
            // A client whose answer was lost sends the same request again (same request id).
            if !sent.isEmpty, random.next(below: 10) == 0 {
                let again = sent[Int(random.next(below: UInt64(sent.count)))]
                repeatedRequests += 1
                return (again.bytes, again.requestID)
            }
            let command: ClusterCommand
            if let missing = ClusterStateSimulationTests.graphs.first(where: { !registered.contains($0.name) }) {
                command = .registerGraph(RegisterGraph(name: missing.name, yaml: missing.yaml, contentHash: SHA256.hexDigest(Array(missing.yaml.utf8))))
            } else {
                switch random.next(below: 100) {
                case 0..<25:
                    let key = "k\(keys.count)"
                    keys.append(key)
                    command = .submitJob(SubmitJob(graph: .named(random.next(below: 3) == 0 ? "parent" : "two", version: nil), idempotencyKey: key))
                case 25..<32 where !sent.isEmpty:
                    // A blind re-send under a new request id: idempotency keys and lease
                    // tokens must make it harmless.
                    let old = sent[Int(random.next(below: UInt64(sent.count)))].command
                    command = old
                case 32..<42:
                    command = .registerWorker(RegisterWorker(worker: WorkerID(rawValue: "w\(random.next(below: 3))"), capacity: 8))
                case 42..<60:
                    command = .leaseTasks(LeaseTasks(worker: WorkerID(rawValue: "w\(random.next(below: 3))"), max: 4, leaseDurationMillis: 150))
                case 60..<88 where !assignments.isEmpty:
                    // Mostly a recent lease; sometimes an old one, whose token may be stale.
                    let window = random.next(below: 4) == 0 ? assignments.count : min(assignments.count, 6)
                    let pick = assignments[assignments.count - 1 - Int(random.next(below: UInt64(window)))]
                    command = .completeTask(CompleteTask(task: pick.task, token: pick.token, output: ClusterStateSimulationTests.output(for: pick.node)))
                case 88..<93 where !assignments.isEmpty:
                    let pick = assignments[Int(random.next(below: UInt64(assignments.count)))]
                    command = .failTask(FailTask(task: pick.task, token: pick.token, reason: "simulated", retryable: true))
                default:
                    command = .expireLeases(nil)
                }
            }
            sequence += 1
            let requestID = RequestID(client: SimulationWorkloadTag.firstClient, sequence: sequence)
            let bytes = ClusterState.encodeCommand(command)
            sent.append((bytes, requestID, command))
            if sent.count > 200 { sent.removeFirst(sent.count - 200) }
            commandByRequest[requestID] = command
            return (bytes, requestID)
        }

        mutating func applied(index: UInt64, requestID: RequestID, result: [UInt8]) {
            guard let command = commandByRequest[requestID], let decoded = try? ClusterState.decodeResult(result) else {
                violations.append("index \(index): a result that does not decode, or an unknown request \(requestID)")
                return
            }
            switch decoded {
            case .failure(let error):
                if error.code == .staleLease { staleRefusals += 1 }
            case .success(let outcome):
                switch (command, outcome) {
                case (.registerGraph(let register), .graphRegistered): registered.insert(register.name ?? "")
                case (.submitJob(let submit), .jobSubmitted(let id, _, let existing)):
                    if let key = submit.idempotencyKey {
                        if let known = keyJob[key], known != id { violations.append("key \(key) named job \(known), then job \(id)") }
                        if existing { idempotentHits += 1 }
                        keyJob[key] = id
                    }
                    acknowledgedJobs.insert(id)
                case (_, .tasksLeased(let tasks)):
                    assignments += tasks
                    if assignments.count > 64 { assignments.removeFirst(assignments.count - 64) }
                case (.completeTask(let complete), .taskCompleted(let id, _)):
                    if let earlier = recordedBy[id] {
                        if earlier == requestID {
                            dedupedAnswers += 1
                        } else {
                            violations.append("task \(id)'s output was recorded twice (requests \(earlier) and \(requestID), index \(index))")
                        }
                        return
                    }
                    recordedOutputs[id] = complete.output
                    recordedBy[id] = requestID
                    completions += 1
                default:
                    break
                }
            }
        }
    }

    static let seeds: [UInt64] = Array(1...40)

    @Test func noAcknowledgedJobIsLostAndNoOutputIsRecordedTwice() throws {
        var totals = (applied: 0, jobs: 0, completions: 0, repeats: 0, deduped: 0, idempotent: 0, stale: 0, children: 0, crashes: 0)
        for seed in Self.seeds {
            var simulation = Simulation(options: SimulationOptions(seed: seed, nodeCount: 3, safetyTicks: 600, livenessTicks: 400), workload: QueueWorkload())
            let result = simulation.run()
            #expect(result.violations.isEmpty, "seed \(seed): \(result.violations)")
            let workload = try #require(simulation.workload as? QueueWorkload)
            #expect(workload.violations.isEmpty, "seed \(seed): \(workload.violations)")
            let machines = simulation.workloadMachines().compactMap { ($0.machine as? QueueMachine)?.state }
            #expect(!machines.isEmpty, "seed \(seed): no replica is up")
            let newest = machines.map(\.lastAppliedIndex).max() ?? 0
            let current = machines.filter { $0.lastAppliedIndex == newest }
            for state in current {
                #expect(state.encoded() == current[0].encoded(), "seed \(seed): replicas at index \(newest) differ")
                for id in workload.acknowledgedJobs.sorted() {
                    #expect(state.job(id) != nil, "seed \(seed): acknowledged job \(id) is lost")
                }
                for (id, output) in workload.recordedOutputs.sorted(by: { $0.key < $1.key }) {
                    let task = state.task(id)
                    #expect(task?.state == .succeeded && task?.output == output, "seed \(seed): task \(id) is \(String(describing: task?.state))")
                }
            }
            if let state = current.first {
                totals.children += state.jobs(limit: 1000).jobs.filter { state.job($0.id)?.parent != nil }.count
            }
            totals.applied += result.stats.workloadCommandsApplied
            totals.jobs += workload.acknowledgedJobs.count
            totals.completions += workload.completions
            totals.repeats += workload.repeatedRequests
            totals.deduped += workload.dedupedAnswers
            totals.idempotent += workload.idempotentHits
            totals.stale += workload.staleRefusals
            totals.crashes += result.stats.crashes
        }
        // The runs exercised what they claim to.
        #expect(totals.applied >= 2_000, "\(totals)")
        #expect(totals.jobs >= 300, "\(totals)")
        #expect(totals.completions >= 200, "\(totals)")
        #expect(totals.repeats >= 100 && totals.idempotent >= 20 && totals.stale >= 20, "\(totals)")
        #expect(totals.children >= 10, "subgraph calls ran as child jobs: \(totals)")
        #expect(totals.crashes >= 20, "\(totals)")
        print("ClusterState simulation, \(Self.seeds.count) seeds: \(totals)")
    }
}
