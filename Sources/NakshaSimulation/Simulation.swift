import NakshaCore
import NakshaRaftStorage
import RaftCore

/// A deterministic simulation of a Raft group: every choice — faults, delays, workload,
/// election timeouts — comes from one seeded generator, so a seed replays exactly.
public struct Simulation {
    let options: SimulationOptions
    var random: SeededGenerator
    var profile: SimulationProfile
    var nodes: [SimulatedNode] = []
    var network = SimulatedNetwork()
    var checker = InvariantChecker()
    var now: UInt64 = 0
    var digest = TraceDigest()
    var trace: [String] = []
    var stats = SimulationStats()
    var observedCommit: [ReplicaID: LogIndex] = [:]
    var readStartedAt: [UInt64: LogIndex] = [:]
    var nextCommand: UInt64 = 0
    var nextReadID: UInt64 = 0
    var faultsEnabled = true
    /// An application driven through the log next to the digest machine (see
    /// `SimulationWorkload`); nil in the plain Raft simulation.
    public internal(set) var workload: (any SimulationWorkload)?
    /// The highest index whose workload result was reported (each index once).
    var workloadReportedThrough: UInt64 = 0

    /// A simulation that also runs `workload`'s state machine (sub-machine 1) on every
    /// replica and proposes its commands among the digest machine's. The run's choices
    /// change, so a seed's trace differs from the plain simulation's.
    public init(options: SimulationOptions, workload: any SimulationWorkload) {
        self.init(options: options, optionalWorkload: workload)
    }

    public init(options: SimulationOptions) {
        self.init(options: options, optionalWorkload: nil)
    }

    private init(options: SimulationOptions, optionalWorkload: (any SimulationWorkload)?) {
        self.workload = optionalWorkload
        precondition(options.nodeCount >= 1, "a simulation needs at least one node")
        self.options = options
        var random = SeededGenerator(seed: options.seed)
        self.profile = Simulation.drawProfile(&random, options: options)
        self.random = random
        network.dropPercent = profile.dropPercent
        network.duplicatePercent = profile.duplicatePercent
        network.maxDelayTicks = profile.maxDelayTicks
        let voters = (1...UInt64(options.nodeCount)).map { ReplicaID($0) }
        for id in voters {
            addNode(id: id, state: .bootstrap(voters: voters))
        }
    }

    /// Runs the safety phase then the liveness phase and returns the result.
    public static func run(_ options: SimulationOptions) -> SimulationResult {
        var simulation = Simulation(options: options)
        return simulation.run()
    }

    public mutating func run() -> SimulationResult {
        for _ in 0..<options.safetyTicks {
            step()
            if !checker.violations.isEmpty { break }
        }
        if checker.violations.isEmpty {
            runLivenessPhase()
        }
        stats.highestCommitted = checker.highestCommitted
        stats.diskFaults = nodes.reduce(0) { $0 + $1.fileSystem.faultsInjected }
        return SimulationResult(
            seed: options.seed, violations: checker.violations, digest: digest.value, trace: trace, stats: stats)
    }

    static func drawProfile(_ random: inout SeededGenerator, options: SimulationOptions) -> SimulationProfile {
        let checkQuorum = options.checkQuorum ?? (random.next(below: 4) != 0)
        let leaseDrawn = checkQuorum && random.next(below: 4) == 0
        let messageBytes = [40, 200, 1 << 20][Int(random.next(below: 3))]
        let crashPerMille = options.crashPerMille ?? random.next(below: 20)
        return SimulationProfile(
            dropPercent: random.next(below: 4) == 0 ? 0 : random.next(below: 12),
            duplicatePercent: random.next(below: 6),
            maxDelayTicks: 1 + random.next(below: 4),
            crashPerMille: crashPerMille,
            readyCrashPerMille: options.readyCrashPerMille ?? crashPerMille / 2,
            restartPercent: 5 + random.next(below: 15),
            partitionPerMille: random.next(below: 15),
            healPercent: 2 + random.next(below: 5),
            proposePercent: 20 + random.next(below: 60),
            readPercent: random.next(below: 30),
            membershipPerMille: random.next(below: 30),
            transferPerMille: random.next(below: 20),
            compactionPerMille: random.next(below: 3) == 0 ? 100 + random.next(below: 200) : random.next(below: 60),
            maxMessageBytes: options.maxMessageBytes ?? messageBytes,
            maxInflightMessages: 1 + Int(random.next(below: 8)),
            preVote: options.preVote ?? (random.next(below: 4) != 0),
            checkQuorum: checkQuorum,
            readMode: options.readMode ?? (leaseDrawn ? .leaseBased : .safe),
            diskFaultsPerTenThousand: options.diskFaultsPerTenThousand ?? (random.next(below: 3) == 0 ? 0 : random.next(below: 40)),
            loneRestartPerMille: random.next(below: 2) == 0 ? 0 : 50 + random.next(below: 150),
            segmentSizeBytes: [256, 1 << 10, 4 << 10, 64 << 10][Int(random.next(below: 4))],
            staleLeaderProposalPercent: random.next(below: 4) == 0 ? 60 : 12,
            crashAfterCompactionPercent: random.next(below: 2) == 0 ? 0 : 10 + random.next(below: 40)
        )
    }

    // MARK: - Nodes

    func position(of id: ReplicaID) -> Int? {
        let position = Int(id.rawValue) - 1
        return nodes.indices.contains(position) ? position : nil
    }

    mutating func configuration(for id: ReplicaID) -> RaftCore.Configuration {
        RaftCore.Configuration(
            id: id,
            electionTimeoutTicks: 10,
            heartbeatIntervalTicks: 2,
            maxMessageBytes: profile.maxMessageBytes,
            maxInflightMessages: profile.maxInflightMessages,
            maxUncommittedEntries: 64,
            preVote: profile.preVote,
            checkQuorum: profile.checkQuorum,
            readMode: profile.readMode,
            randomSeed: random.next(),
            testingFaults: options.testingFaults
        )
    }

    mutating func addNode(id: ReplicaID, state: PersistentState, joining: Bool = false) {
        precondition(Int(id.rawValue) == nodes.count + 1, "simulated node ids are dense")
        let rate = profile.diskFaultsPerTenThousand
        let fileSystem = SimulatedFileSystem(
            seed: random.next(),
            rates: .init(writePerTenThousand: rate / 2, syncPerTenThousand: rate, renamePerTenThousand: rate / 2))
        nodes.append(SimulatedNode(id: id, state: state, joining: joining, fileSystem: fileSystem))
        start(nodes.count - 1)
    }

    /// The voters every original node is started with (`--peers`).
    var configuredVoters: [ReplicaID] { (1...UInt64(options.nodeCount)).map { ReplicaID($0) } }

    /// Starts (or restarts) a node from what its disk holds, as a new process would. With
    /// `alone`, it is started as an operator who lists only it in `--peers` would: the stored
    /// membership must win (the start is refused).
    mutating func start(_ position: Int, alone: Bool = false) {
        let id = nodes[position].id
        let fileSystem = nodes[position].fileSystem
        let faultsBefore = fileSystem.faultsInjected
        do {
            let storage = try RaftStorage(
                directory: SimulatedNode.directory, fileSystem: fileSystem, segmentSizeBytes: profile.segmentSizeBytes,
                mutations: options.storageMutations)
            let loaded = try storage.load()
            checkRecovery(position, loaded: loaded?.state)
            let replica = try RaftReplica(
                configuration: configuration(for: id), storage: storage, host: SimulatedNode.host(extra: workload?.makeMachine()),
                configuredVoters: alone ? [id] : configuredVoters, join: nodes[position].joining, maxCommandBytes: 1 << 16,
                mutations: options.replicaMutations)
            nodes[position].replica = replica
            nodes[position].failedBatch = nil
            nodes[position].failedSnapshot = nil
            nodes[position].failureNoticedAt = nil
            nodes[position].appliedIndex = replica.applied
            nodes[position].appliedDigest = nodes[position].machineDigest
            nodes[position].pendingReads = []
            observedCommit[id] = replica.core.commitIndex
            record("start \(id)\(alone ? " alone" : "") term \(replica.core.term) commit \(replica.core.commitIndex) last \(replica.core.lastIndex)", 1, id.rawValue)
        } catch let error as RaftStartError where error.code == .membershipMismatch && alone {
            stats.refusedStarts += 1
            fileSystem.crash()  // the process exited
            record("start \(id) alone refused", 7, id.rawValue)
        } catch {
            if fileSystem.faultsInjected > faultsBefore {
                // A disk fault while opening: the process exits and is started again later.
                stats.persistFailures += 1
                fileSystem.crash()
                record("start \(id) failed on a disk fault", 8, id.rawValue)
            } else {
                checker.fail("Recovery: \(id) refused to start from its own disk: \(error)")
            }
        }
    }

    mutating func crash(_ position: Int) {
        nodes[position].replica = nil
        nodes[position].pendingReads = []
        nodes[position].fileSystem.crash()
        stats.crashes += 1
        let id = nodes[position].id
        record("crash \(id)", 2, id.rawValue)
    }

    /// The up leader with the highest term, if any.
    var currentLeader: Int? {
        var best: Int?
        for position in nodes.indices {
            guard let core = nodes[position].core, core.role == .leader else { continue }
            if let current = best, let bestCore = nodes[current].core, bestCore.term >= core.term { continue }
            best = position
        }
        return best
    }

    var upPositions: [Int] {
        nodes.indices.filter { nodes[$0].isUp }
    }

    // MARK: - Trace

    mutating func record(_ line: @autoclosure () -> String, _ tag: UInt64, _ value: UInt64) {
        digest.mix(now)
        digest.mix(tag)
        digest.mix(value)
        if options.recordTrace {
            trace.append("t=\(now) " + line())
        }
    }
}
