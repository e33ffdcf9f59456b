// naksha-sim: explores Raft simulation seeds, replays one, or benchmarks the core.
//
//   naksha-sim --seeds N [--nodes 3|5] [--seed S] [--ticks T] [--lease-reads]   run N seeds from S
//   NAKSHA_SIM_SEED=<n> naksha-sim [--nodes K]                   replay one seed with its trace
//   naksha-sim --inject-fault commit-previous-term|vote-without-log-check|skip-pre-vote-term-rules
//                                                              TEST-ONLY: break one rule
//   naksha-sim --mutate stored-membership|ignore-persist-errors|remove-any-segment|
//              skip-install-marker|skip-preamble-restore|tearable-repair         TEST-ONLY: re-introduce a storage bug
//   naksha-sim --disk-faults N                                   storage-call faults per 10,000 (default: per seed)
//   naksha-sim --bench [--proposals N] [--batch B]               proposals/s, in-memory 3 nodes
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NakshaRaftStorage
import NakshaSimulation
import RaftCore

struct Arguments {
    var seeds = 100
    var nodes = 3
    var firstSeed: UInt64 = 0
    var ticks = 250
    var bench = false
    var proposals = 200_000
    var batch = 64
    var trace = false
    var faults: RaftCore.TestingFaults = []
    var maxMessageBytes: Int?
    var crashPerMille: UInt64?
    var preVote: Bool?
    var checkQuorum: Bool?
    var readyCrashPerMille: UInt64?
    var leaseReads = false
    var storageMutations: RaftStorage.Mutations = []
    var replicaMutations: RaftReplica.Mutations = []
    var diskFaults: UInt64?
}

func usage() -> Never {
    print("usage: naksha-sim [--seeds N] [--nodes K] [--seed S] [--ticks T] [--lease-reads] [--trace] | --bench [--proposals N] [--batch B]")
    exit(2)
}

func parseArguments() -> Arguments {
    var arguments = Arguments()
    var iterator = CommandLine.arguments.dropFirst().makeIterator()
    func number(_ flag: String) -> UInt64 {
        guard let text = iterator.next(), let value = UInt64(text) else {
            print("\(flag) needs a non-negative integer")
            usage()
        }
        return value
    }
    while let flag = iterator.next() {
        switch flag {
        case "--seeds": arguments.seeds = Int(number(flag))
        case "--nodes": arguments.nodes = Int(number(flag))
        case "--seed": arguments.firstSeed = number(flag)
        case "--ticks": arguments.ticks = Int(number(flag))
        case "--bench": arguments.bench = true
        case "--proposals": arguments.proposals = Int(number(flag))
        case "--batch": arguments.batch = Int(number(flag))
        case "--trace": arguments.trace = true
        case "--lease-reads": arguments.leaseReads = true
        case "--max-message-bytes": arguments.maxMessageBytes = Int(number(flag))
        case "--crash-per-mille": arguments.crashPerMille = number(flag)
        case "--ready-crash-per-mille": arguments.readyCrashPerMille = number(flag)
        case "--pre-vote": arguments.preVote = number(flag) != 0
        case "--check-quorum": arguments.checkQuorum = number(flag) != 0
        case "--inject-fault":
            // TEST-ONLY: break one Raft rule to show the simulator catches it.
            switch iterator.next() {
            case "commit-previous-term": arguments.faults.insert(.commitPreviousTermEntries)
            case "vote-without-log-check": arguments.faults.insert(.voteWithoutLogCheck)
            case "skip-pre-vote-term-rules": arguments.faults.insert(.skipPreVoteTermRules)
            default:
                print("--inject-fault needs commit-previous-term, vote-without-log-check or skip-pre-vote-term-rules")
                usage()
            }
        case "--disk-faults": arguments.diskFaults = number(flag)
        case "--mutate":
            // TEST-ONLY: re-introduce a fixed storage bug to show the simulator finds it.
            switch iterator.next() {
            case "stored-membership": arguments.replicaMutations.insert(.ignoreStoredMembership)
            case "ignore-persist-errors": arguments.replicaMutations.insert(.ignorePersistErrors)
            case "remove-any-segment": arguments.storageMutations.insert(.removeAnyCoveredSegment)
            case "skip-install-marker": arguments.storageMutations.insert(.skipInstallMarker)
            case "skip-preamble-restore": arguments.storageMutations.insert(.skipPreambleRestore)
            case "tearable-repair": arguments.storageMutations.formUnion([.tearableMarkerRepair, .skipInstallMarker])
            default:
                print("--mutate needs stored-membership, ignore-persist-errors, remove-any-segment, skip-install-marker, skip-preamble-restore or tearable-repair")
                usage()
            }
        case "--help", "-h": usage()
        default:
            print("unknown argument \(flag)")
            usage()
        }
    }
    guard arguments.nodes >= 1, arguments.nodes <= 9 else {
        print("--nodes must be between 1 and 9")
        usage()
    }
    return arguments
}

func replay(seed: UInt64, arguments: Arguments) -> Int32 {
    let options = SimulationOptions(
        seed: seed, nodeCount: arguments.nodes, safetyTicks: arguments.ticks, testingFaults: arguments.faults,
        preVote: arguments.preVote, checkQuorum: arguments.leaseReads ? true : arguments.checkQuorum,
        readMode: arguments.leaseReads ? .leaseBased : nil,
        maxMessageBytes: arguments.maxMessageBytes, crashPerMille: arguments.crashPerMille,
        readyCrashPerMille: arguments.readyCrashPerMille, recordTrace: true, storageMutations: arguments.storageMutations,
        replicaMutations: arguments.replicaMutations, diskFaultsPerTenThousand: arguments.diskFaults)
    let result = Simulation.run(options)
    for line in result.trace {
        print(line)
    }
    print("seed \(seed): digest \(String(result.digest, radix: 16)), committed \(result.stats.highestCommitted), \(result.violations.count) violations")
    for violation in result.violations {
        print("VIOLATION: \(violation)")
    }
    return result.passed ? 0 : 1
}

func explore(arguments: Arguments) -> Int32 {
    let template = SimulationOptions(
        seed: 0, nodeCount: arguments.nodes, safetyTicks: arguments.ticks, testingFaults: arguments.faults,
        preVote: arguments.preVote, checkQuorum: arguments.leaseReads ? true : arguments.checkQuorum,
        readMode: arguments.leaseReads ? .leaseBased : nil,
        maxMessageBytes: arguments.maxMessageBytes, crashPerMille: arguments.crashPerMille,
        readyCrashPerMille: arguments.readyCrashPerMille, storageMutations: arguments.storageMutations,
        replicaMutations: arguments.replicaMutations, diskFaultsPerTenThousand: arguments.diskFaults)
    let summary = SimulationRunner.explore(firstSeed: arguments.firstSeed, count: arguments.seeds, template: template)
    for failure in summary.failures {
        print("VIOLATION (nodes \(arguments.nodes)): \(failure.violations.first ?? "?")")
        print(failure.replayLine)
    }
    print(summary.line)
    print(
        "storage: \(summary.diskFaults) disk faults, \(summary.persistFailures) fail-stops, \(summary.recoveriesChecked) recoveries checked, \(summary.refusedStarts) restarts with other peers refused"
    )
    return summary.failures.isEmpty ? 0 : 1
}

let arguments = parseArguments()
if arguments.bench {
    exit(Benchmark.run(proposals: arguments.proposals, batch: arguments.batch))
}
if let text = getenv("NAKSHA_SIM_SEED"), let seed = UInt64(String(cString: text)) {
    exit(replay(seed: seed, arguments: arguments))
}
if arguments.trace {
    exit(replay(seed: arguments.firstSeed, arguments: arguments))
}
exit(explore(arguments: arguments))
