import NakshaCore
import RaftCore

/// A deterministic simulation of a Raft group: every choice — faults, delays, workload,
/// election timeouts — comes from one seeded generator, so a seed replays exactly.
public struct Simulation: Sendable {
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

    public init(options: SimulationOptions) {
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
            compactionPerMille: random.next(below: 60),
            maxMessageBytes: options.maxMessageBytes ?? messageBytes,
            maxInflightMessages: 1 + Int(random.next(below: 8)),
            preVote: options.preVote ?? (random.next(below: 4) != 0),
            checkQuorum: checkQuorum,
            readMode: options.readMode ?? (leaseDrawn ? .leaseBased : .safe)
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

    mutating func addNode(id: ReplicaID, state: PersistentState) {
        precondition(Int(id.rawValue) == nodes.count + 1, "simulated node ids are dense")
        nodes.append(SimulatedNode(id: id, state: state))
        start(nodes.count - 1)
    }

    mutating func start(_ position: Int) {
        let id = nodes[position].id
        let core = RaftCore(configuration: configuration(for: id), state: nodes[position].storage.persistentState)
        nodes[position].core = core
        nodes[position].loadStateMachine()
        observedCommit[id] = core.commitIndex
        record("start \(id) term \(core.term) commit \(core.commitIndex) last \(core.lastIndex)", 1, id.rawValue)
    }

    mutating func crash(_ position: Int) {
        nodes[position].core = nil
        nodes[position].pendingReads = []
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
