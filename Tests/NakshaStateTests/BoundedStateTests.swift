import NakshaCore
import NakshaGraph
import Testing

@testable import NakshaState

/// The replicated state stays bounded under sustained load (issue 15, item 4): 50,000 jobs go
/// through submit → lease → complete, and, as the leader's archiver does, finished jobs are
/// evicted in batches once stored. The snapshot after 50,000 jobs is the size it was after
/// the first few thousand: nothing accumulates per job. (The process test of the archiver
/// itself, against a real Postgres, is `JobQueueProcessTests`.)
@Suite struct BoundedStateTests {
    @Test func snapshotStaysFlatOverFiftyThousandJobs() throws {
        var harness = Harness()
        try harness.register(Graphs.chat)
        harness.addWorker("w1", capacity: 256)
        var sizes: [Int] = []
        var finished: [JobID] = []
        var completed = 0
        for round in 0..<500 {
            for _ in 0..<100 { _ = try harness.submit("chat", input: ["question": "q"]) }
            while true {
                let leased = try harness.lease("w1", max: 256)
                if leased.isEmpty { break }
                for task in leased {
                    guard case .success(.taskCompleted(_, let status)) = harness.complete(task) else {
                        Issue.record("completion refused")
                        return
                    }
                    #expect(status == .succeeded)
                    finished.append(task.task.job)
                    completed += 1
                }
            }
            // The archiver's step: evict what it stored.
            if finished.count >= 500 {
                guard case .success = harness.apply(.evictJobs(finished)) else {
                    Issue.record("eviction refused")
                    return
                }
                finished.removeAll()
            }
            if round % 50 == 49 { sizes.append(harness.state.encoded().count) }
        }
        #expect(completed == 50_000)
        #expect(harness.state.jobCount <= 500, "at most one batch of finished jobs waits for the archiver")
        // Flat: the last snapshot is no larger than the first sampled one plus a small slack
        // (graph registry and counters do not grow per job).
        let first = try #require(sizes.first)
        let last = try #require(sizes.last)
        #expect(last <= first + first / 10, "snapshot sizes over 50,000 jobs: \(sizes)")
        #expect(sizes.max()! <= first * 2, "no sample grew past twice the first: \(sizes)")
    }

    @Test func idempotencyKeysAreBoundedByTheirTTL() throws {
        var limits = ClusterLimits()
        limits.idempotencyTTLMillis = 60_000
        var harness = Harness(limits: limits)
        try harness.register(Graphs.chat)
        for index in 0..<2_000 {
            _ = try harness.submit("chat", input: ["question": "q"], key: "key-\(index)")
            harness.now += 100  // 2,000 submits over 200 s: the first ones' keys expire
        }
        #expect(harness.state.idempotencyKeyCount <= 601, "only keys younger than the TTL are kept: \(harness.state.idempotencyKeyCount)")
    }
}
