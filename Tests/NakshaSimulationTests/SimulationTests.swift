import Foundation
import NakshaRaftStorage
import NakshaSimulation
import RaftCore
import Testing

/// Deterministic simulation: safety after every step, liveness after healing, replay by seed.
@Suite("Deterministic simulation")
struct SimulationTests {
    /// Safety ticks per CI seed: sized so 2,000+ seeds fit in about a minute of a debug build
    /// on two shared cores (measure again if the simulation grows).
    static let ciSafetyTicks = 250

    static func report(_ result: SimulationResult, nodes: Int, flags: String = "") {
        Issue.record("""
            simulation violation (\(nodes) nodes): \(result.violations.joined(separator: "; "))
            replay: \(result.replayLine) swift run naksha-sim --nodes \(nodes) --ticks \(ciSafetyTicks)\(flags)
            """)
    }

    @Test("CI: 2,000 three-node seeds hold every invariant and make progress after healing", arguments: 0..<20)
    func threeNodeSeeds(chunk: UInt64) {
        let template = SimulationOptions(seed: 0, nodeCount: 3, safetyTicks: Self.ciSafetyTicks)
        let summary = SimulationRunner.explore(firstSeed: chunk * 100, count: 100, template: template)
        #expect(summary.seedsRun == 100)
        for failure in summary.failures {
            Self.report(failure, nodes: 3)
        }
        #expect(summary.totalCommitted > 100 * 10, "the workload commits entries")
        // The real storage was crashed, failed and recovered, not idle: every restart was
        // checked against what was synced.
        #expect(summary.recoveriesChecked > 100 * 3, "restarts checked: \(summary.recoveriesChecked)")
        #expect(summary.persistFailures > 10, "fail-stops after disk faults: \(summary.persistFailures)")
    }

    @Test("CI: 200 five-node seeds hold every invariant", arguments: 0..<4)
    func fiveNodeSeeds(chunk: UInt64) {
        let template = SimulationOptions(seed: 0, nodeCount: 5, safetyTicks: Self.ciSafetyTicks)
        let summary = SimulationRunner.explore(firstSeed: 1_000_000 + chunk * 50, count: 50, template: template)
        for failure in summary.failures {
            Self.report(failure, nodes: 5)
        }
        #expect(summary.failures.isEmpty)
    }

    @Test("a seed replays to the identical trace and digest")
    func replayIsIdentical() {
        let options = SimulationOptions(seed: 4242, nodeCount: 3, safetyTicks: 200, recordTrace: true)
        let first = Simulation.run(options)
        let second = Simulation.run(options)
        #expect(first.trace.count > 100)
        #expect(first.trace == second.trace)
        #expect(first.digest == second.digest)
        #expect(first == second)
        let other = Simulation.run(SimulationOptions(seed: 4243, nodeCount: 3, safetyTicks: 200, recordTrace: true))
        #expect(other.digest != first.digest)
    }

    @Test("the digest does not depend on whether the trace is recorded")
    func digestIndependentOfTrace() {
        let traced = Simulation.run(SimulationOptions(seed: 77, safetyTicks: 150, recordTrace: true))
        let untraced = Simulation.run(SimulationOptions(seed: 77, safetyTicks: 150, recordTrace: false))
        #expect(traced.digest == untraced.digest)
        #expect(untraced.trace.isEmpty)
    }

    @Test("NAKSHA_SIM_SEED=<n> replays one seed with its full trace")
    func replayFromEnvironment() {
        guard let text = ProcessInfo.processInfo.environment["NAKSHA_SIM_SEED"], let seed = UInt64(text) else {
            return  // nothing to replay
        }
        for nodes in [3, 5] {
            let result = Simulation.run(SimulationOptions(seed: seed, nodeCount: nodes, safetyTicks: Self.ciSafetyTicks, recordTrace: true))
            print(result.trace.joined(separator: "\n"))
            if !result.passed { Self.report(result, nodes: nodes) }
        }
    }

    @Test("the workload exercises crashes, partitions, reads, membership, transfers and snapshots")
    func workloadCoverage() {
        var totals = SimulationStats()
        for seed: UInt64 in 0..<40 {
            let stats = Simulation.run(SimulationOptions(seed: seed, safetyTicks: Self.ciSafetyTicks)).stats
            totals.crashes += stats.crashes
            totals.readsConfirmed += stats.readsConfirmed
            totals.membershipChanges += stats.membershipChanges
            totals.leaderTransfers += stats.leaderTransfers
            totals.compactions += stats.compactions
            totals.snapshotsInstalled += stats.snapshotsInstalled
            totals.proposals += stats.proposals
            totals.persistFailures += stats.persistFailures
            totals.diskFaults += stats.diskFaults
            totals.recoveriesChecked += stats.recoveriesChecked
            totals.refusedStarts += stats.refusedStarts
        }
        #expect(totals.crashes > 0)
        #expect(totals.readsConfirmed > 0)
        #expect(totals.membershipChanges > 0)
        #expect(totals.leaderTransfers > 0)
        #expect(totals.compactions > 0)
        #expect(totals.snapshotsInstalled > 0)
        #expect(totals.proposals > 0)
        #expect(totals.diskFaults > 0, "disk faults were injected")
        #expect(totals.persistFailures > 0, "a disk fault stopped a node")
        #expect(totals.recoveriesChecked > 40, "restarts were checked against the synced state")
        #expect(totals.refusedStarts > 0, "a restart with --peers listing only the node was refused")
    }

    @Test("lease reads stay linearizable under the simulator", arguments: 0..<2)
    func leaseReads(chunk: UInt64) {
        let template = SimulationOptions(seed: 0, safetyTicks: Self.ciSafetyTicks, checkQuorum: true, readMode: .leaseBased)
        let summary = SimulationRunner.explore(firstSeed: 500_000 + chunk * 100, count: 100, template: template)
        for failure in summary.failures {
            Self.report(failure, nodes: 3, flags: " --lease-reads")
        }
        #expect(summary.failures.isEmpty)
    }

    @Test("in-memory cluster: proposals commit on every node")
    func inMemoryCluster() {
        var cluster = InMemoryCluster(voterCount: 3)
        let elected = cluster.electLeader()
        #expect(elected)
        let committed = cluster.proposeAndCommit(count: 100, batch: 10, payloadBytes: 8)
        #expect(committed == 100)
        #expect(cluster.nodes.allSatisfy { $0.commitIndex == 101 })
    }
}

/// Teeth: each test-only fault breaks one Raft rule; the simulator must catch each one
/// within a bounded number of seeds.
@Suite("Simulator teeth")
struct SimulatorTeethTests {
    static let seedBound = 200

    @Test("counting replicas of a previous-term entry for commit (§5.4.2) is caught")
    func commitPreviousTerm() throws {
        let template = SimulationOptions(
            seed: 0, nodeCount: 3, safetyTicks: 300, testingFaults: .commitPreviousTermEntries,
            preVote: false, checkQuorum: false, maxMessageBytes: 40, crashPerMille: 60, readyCrashPerMille: 60,
            diskFaultsPerTenThousand: 0)
        let failure = try #require(SimulationRunner.firstFailure(firstSeed: 0, count: Self.seedBound, template: template))
        #expect(failure.violations.contains { $0.contains("Committed entry") || $0.contains("Leader Completeness") })
        let correct = Simulation.run(SimulationOptions(
            seed: failure.seed, nodeCount: 3, safetyTicks: 300, preVote: false, checkQuorum: false,
            maxMessageBytes: 40, crashPerMille: 60, readyCrashPerMille: 60, diskFaultsPerTenThousand: 0))
        #expect(correct.passed, "the same seed passes without the fault")
    }

    @Test("granting votes without the log up-to-date check (§5.4.1) is caught")
    func voteWithoutLogCheck() throws {
        let template = SimulationOptions(seed: 0, nodeCount: 3, safetyTicks: 300, testingFaults: .voteWithoutLogCheck)
        let failure = try #require(SimulationRunner.firstFailure(firstSeed: 0, count: Self.seedBound, template: template))
        #expect(!failure.violations.isEmpty)
        var options = template
        options.seed = failure.seed
        options.testingFaults = []
        #expect(Simulation.run(options).passed, "the same seed passes without the fault")
    }

    @Test("skipping pre-vote's term rules (a pre-vote grant counted as a vote) is caught")
    func skipPreVoteTermRules() throws {
        let template = SimulationOptions(
            seed: 0, nodeCount: 3, safetyTicks: 300, testingFaults: .skipPreVoteTermRules, preVote: true)
        let failure = try #require(SimulationRunner.firstFailure(firstSeed: 0, count: Self.seedBound, template: template))
        #expect(failure.violations.contains { $0.contains("Election Safety") })
        var options = template
        options.seed = failure.seed
        options.testingFaults = []
        #expect(Simulation.run(options).passed, "the same seed passes without the fault")
    }
}

/// The mutation check of the storage fixes (issue 14): each test-only switch re-introduces one
/// fixed bug in the real storage code, and the simulator must find it within the 2,000 CI
/// seeds; the seed that finds it passes without the switch. docs/raft.md records the seeds.
@Suite("Storage mutation check")
struct StorageMutationTests {
    struct Mutation: Sendable, CustomStringConvertible {
        var description: String
        var storage: RaftStorage.Mutations = []
        var replica: RaftReplica.Mutations = []
    }

    static let mutations = [
        Mutation(description: "1a restart alone ignores the stored membership", replica: .ignoreStoredMembership),
        Mutation(description: "1b persist errors ignored", replica: .ignorePersistErrors),
        Mutation(description: "1c any covered segment removed", storage: .removeAnyCoveredSegment),
        // 1d (`skipInstallMarker`) is not searched here: the simulator used to report it only
        // through 1f, the unsafe repair its missing markers made every restart run. With the
        // repair fixed, the discarded entries it brings back need a rare interleaving; its test
        // is LogSafetyTests.installedSnapshotWithoutItsMarkerReplaysTheDiscardedEntries. Its
        // switch still serves 1f: it makes the repair frequent.
        Mutation(description: "1f a torn marker repair (with 1d's switch, so repairs are frequent)",
                 storage: [.tearableMarkerRepair, .skipInstallMarker]),
        Mutation(description: "1e preamble not restored at load", storage: .skipPreambleRestore),
    ]

    @Test("the simulator finds each re-introduced storage bug within the CI seeds", arguments: mutations)
    func mutationIsFound(_ mutation: Mutation) throws {
        let template = SimulationOptions(
            seed: 0, nodeCount: 3, safetyTicks: SimulationTests.ciSafetyTicks, storageMutations: mutation.storage,
            replicaMutations: mutation.replica)
        let failure = try #require(
            SimulationRunner.firstFailure(firstSeed: 0, count: 2_000, template: template), "\(mutation) was not found in 2,000 seeds")
        print("mutation \(mutation): found by seed \(failure.seed): \(failure.violations.first ?? "")")
        var correct = template
        correct.seed = failure.seed
        correct.storageMutations = []
        correct.replicaMutations = []
        #expect(Simulation.run(correct).passed, "seed \(failure.seed) passes without the mutation")
    }
}
