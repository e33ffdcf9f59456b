import Logging
import Testing
@testable import NakshaStore

/// Builders shared by the tests.
enum Fixtures {
    /// A migrated store on a fresh database of the shared server.
    static func migratedStore(
        _ label: String, maxConnections: Int = 4, acquireTimeout: Duration = .seconds(5)
    ) async throws -> PostgresColdStore {
        let dsn = try TestPostgres.freshDatabase(label)
        let store = PostgresColdStore(
            configuration: PostgresConfiguration(
                connectionString: dsn, maxConnections: maxConnections, acquireTimeout: acquireTimeout),
            logger: quietLogger)
        _ = try await store.migrate()
        return store
    }

    /// Tests assert on behaviour, not log lines; keep the output readable.
    static let quietLogger = Logger(label: "naksha.store.test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func store(configuration: PostgresConfiguration) -> PostgresColdStore {
        PostgresColdStore(configuration: configuration, logger: quietLogger)
    }

    static func job(id: String, graphName: String = "sample_rag", error: String? = nil) -> ArchivedJob {
        ArchivedJob(
            id: id, graphName: graphName, graphVersion: 3, input: [0, 1, 2, 0, 255, 0x27, 0x5C],
            outcome: .failed, finalState: Array("{\"answer\":\"42\"}".utf8) + [0],
            nodeRuns: [
                .init(nodeID: "embed", attempts: 1, startedAtMillis: 1_000, finishedAtMillis: 1_020, outcome: .succeeded),
                .init(nodeID: "generate", attempts: 3, startedAtMillis: 1_050, finishedAtMillis: 2_000, outcome: .failed),
                .init(nodeID: "retrieve", attempts: 2, startedAtMillis: 1_021, finishedAtMillis: 1_049, outcome: .succeeded),
            ],
            promptTokens: 1_234, completionTokens: 567, costMicroUSD: 8_901, error: error,
            submittedAtMillis: 999, finishedAtMillis: 2_001)
    }
}

extension PostgresColdStore {
    /// Runs constant test SQL and returns the first column of every row.
    func testQuery(_ sql: String, _ parameters: [PostgresValue] = []) async throws -> [String?] {
        try await withConnection("test_query", idempotent: false) { connection throws(StoreError) in
            try connection.execute(sql, parameters, operation: "test_query").rows.map { $0.first ?? nil }
        }
    }
}
