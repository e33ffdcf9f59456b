import NakshaSimulation
import RaftCore

/// Proposals per second through an in-memory 3-node cluster: no I/O, no network delay; the
/// core's own ceiling.
enum Benchmark {
    static func run(proposals: Int, batch: Int) -> Int32 {
        var cluster = InMemoryCluster(voterCount: 3)
        guard cluster.electLeader() else {
            print("benchmark: no leader elected")
            return 1
        }
        let clock = ContinuousClock()
        let start = clock.now
        let committed = cluster.proposeAndCommit(count: proposals, batch: max(batch, 1), payloadBytes: 64)
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(committed) / max(seconds, 1e-9)
        print("raftcore bench: \(committed) proposals committed on 3 in-memory nodes in \(seconds) s = \(Int(rate)) proposals/s (batch \(batch), 64-byte payloads)")
        return committed == proposals ? 0 : 1
    }
}
