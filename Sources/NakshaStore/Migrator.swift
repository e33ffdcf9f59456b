/// Applies `Migration.all` to a database, exactly once each, even with several
/// coordinators starting at the same moment.
///
/// Protocol: take the session-level advisory lock `advisoryLockKey` (blocks until other
/// migrators finish), create `naksha_migrations` if missing, read what is applied, apply the
/// rest in order — each migration and its `naksha_migrations` row in one transaction — then
/// unlock. If the session dies, Postgres releases the lock and rolls back the open
/// transaction, so a half-applied migration is never recorded.
enum Migrator {
    /// "NAKSHA" + 0x0001, fixed forever: every Naksha version must use the same key.
    static let advisoryLockKey: Int64 = 0x4E41_4B53_4841_0001
    static let operation = "migrate"

    static func run(on connection: PostgresConnection, migrations: [Migration] = Migration.all) throws(StoreError) -> MigrationReport {
        try connection.execute("SELECT pg_advisory_lock($1)", [.int64(advisoryLockKey)], operation: operation)
        defer {
            _ = try? connection.execute("SELECT pg_advisory_unlock($1)", [.int64(advisoryLockKey)], operation: operation)
        }
        try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS naksha_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, operation: operation)
        let existing = try appliedMigrations(on: connection)
        try checkCompatible(existing: existing, migrations: migrations)
        var applied: [Int] = []
        for migration in migrations where existing[migration.version] == nil {
            try apply(migration, on: connection)
            applied.append(migration.version)
        }
        return MigrationReport(
            applied: applied,
            alreadyApplied: existing.keys.sorted(),
            currentVersion: migrations.last?.version ?? 0)
    }

    private static func appliedMigrations(on connection: PostgresConnection) throws(StoreError) -> [Int: String] {
        let result = try connection.execute("SELECT version, name FROM naksha_migrations ORDER BY version", operation: operation)
        var applied: [Int: String] = [:]
        for row in result.rows.indices {
            let version = try result.int64(row, 0, operation: operation)
            applied[Int(version)] = try result.string(row, 1, operation: operation)
        }
        return applied
    }

    private static func checkCompatible(existing: [Int: String], migrations: [Migration]) throws(StoreError) {
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0.name) })
        for (version, name) in existing.sorted(by: { $0.key < $1.key }) {
            guard let expected = known[version] else {
                throw StoreError(
                    code: .migrationFailed, operation: operation,
                    message: "the database has migration \(version) (\"\(name)\") that this build does not know; "
                        + "it was migrated by a newer Naksha: upgrade this binary")
            }
            guard expected == name else {
                throw StoreError(
                    code: .migrationFailed, operation: operation,
                    message: "migration \(version) is recorded as \"\(name)\" but this build calls it \"\(expected)\"; "
                        + "the database belongs to a different schema history: check DATABASE_URL")
            }
        }
    }

    private static func apply(_ migration: Migration, on connection: PostgresConnection) throws(StoreError) {
        do {
            try connection.execute("BEGIN", operation: operation)
            for statement in migration.statements {
                try connection.execute(statement, operation: operation)
            }
            try connection.execute(
                "INSERT INTO naksha_migrations (version, name) VALUES ($1, $2)",
                [.int(migration.version), .text(migration.name)], operation: operation)
            try connection.execute("COMMIT", operation: operation)
        } catch {
            _ = try? connection.execute("ROLLBACK", operation: operation)
            if error.isConnectionFailure { throw error }
            throw StoreError(
                code: .migrationFailed, operation: operation,
                message: "migration \(migration.version) (\"\(migration.name)\") failed and was rolled back: "
                    + "\(error.serverMessage ?? error.message); fix the database state, then run `naksha migrate` again",
                sqlState: error.sqlState, serverMessage: error.serverMessage)
        }
    }
}

/// What `migrate()` did.
public struct MigrationReport: Sendable, Equatable {
    /// Versions applied by this call, in order.
    public var applied: [Int]
    /// Versions that were already recorded before this call.
    public var alreadyApplied: [Int]
    /// The newest version this build knows (the database is at it after a successful call).
    public var currentVersion: Int
}
