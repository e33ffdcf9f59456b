import NakshaTestSupport
import Testing
@testable import NakshaStore

@Suite("connection pool (real Postgres)")
struct PoolTests {
    @Test func exhaustedPoolFailsWithPoolTimeoutAfterTheAcquireTimeout() async throws {
        let store = try await Fixtures.migratedStore("pool_exhaust", maxConnections: 2, acquireTimeout: .milliseconds(300))
        let first = try await store.pool.acquire(operation: "test")
        let second = try await store.pool.acquire(operation: "test")
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await store.archivedJob(id: "x")
            Issue.record("expected poolTimeout")
        } catch {
            #expect(error.code == .poolTimeout)
            #expect(error.message.contains("all 2 in use"))
        }
        let waited = start.duration(to: clock.now)
        #expect(waited >= .milliseconds(300) && waited < .seconds(5))
        await store.pool.release(first)
        #expect(try await store.archivedJob(id: "x") == nil)
        await store.pool.release(second)
        let stats = await store.pool.stats
        #expect(stats.inUse == 0 && stats.waiting == 0 && stats.idle <= 2)
        await store.shutdown()
    }

    @Test func aWaiterGetsTheConnectionReleasedBeforeItsTimeout() async throws {
        let store = try await Fixtures.migratedStore("pool_handoff", maxConnections: 1, acquireTimeout: .seconds(10))
        let held = try await store.pool.acquire(operation: "test")
        async let waiting: ArchivedJob? = store.archivedJob(id: "y")
        #expect(try await waitUntil { await store.pool.stats.waiting == 1 })
        await store.pool.release(held)
        #expect(try await waiting == nil)
        await store.shutdown()
    }

    @Test func shutdownRefusesNewWorkWithPoolClosed() async throws {
        let store = try await Fixtures.migratedStore("pool_closed")
        await store.shutdown()
        do {
            _ = try await store.archivedJob(id: "z")
            Issue.record("expected poolClosed")
        } catch {
            #expect(error.code == .poolClosed)
        }
    }

    @Test func wrongServerGivesConnectionFailedWithoutLeakingThePassword() async throws {
        let port = try stableLoopbackPort()
        let store = Fixtures.store(configuration: PostgresConfiguration(
            connectionString: "postgresql://naksha:hunter2@127.0.0.1:\(port)/none?connect_timeout=2",
            retryDeadline: .milliseconds(100)))
        do {
            _ = try await store.migrate()
            Issue.record("expected connectionFailed")
        } catch {
            #expect(error.code == .connectionFailed)
            #expect(!error.description.contains("hunter2"))
        }
        #expect(await store.pool.stats == ConnectionPool.Stats(idle: 0, inUse: 0, connecting: 0, waiting: 0, generation: 0))
        await store.shutdown()
    }
}
