import Testing
@testable import NakshaStore

@Suite("blocking executor (real Postgres)")
struct ExecutorTests {
    @Test func blockingCallsOnSeparateConnectionsRunInParallel() async throws {
        let store = try await Fixtures.migratedStore("parallel", maxConnections: 8)
        // Open all eight connections first, so only statement time is measured.
        try await Self.runConcurrently(8, store, "SELECT pg_sleep(0.1)::text")
        #expect(await store.pool.stats.idle == 8)
        let clock = ContinuousClock()
        let start = clock.now
        try await Self.runConcurrently(8, store, "SELECT pg_sleep(1)::text")
        let elapsed = start.duration(to: clock.now)
        // Eight 1 s statements on eight connections overlap (≈1 s); two at a time (a CPU-wide
        // dispatch queue on 2 cores) would take 4 s, one at a time 8 s.
        #expect(elapsed < .milliseconds(3_000), "took \(elapsed)")
        await store.shutdown()
    }

    static func runConcurrently(_ count: Int, _ store: PostgresColdStore, _ sql: String) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<count {
                group.addTask { _ = try await store.testQuery(sql) }
            }
            try await group.waitForAll()
        }
    }
}
