/// One versioned schema change.
///
/// Invariants: versions are positive, strictly increasing in `Migration.all`, and a shipped
/// migration is never edited (add a new one instead) — `naksha_migrations` records the
/// version and name, and the migrator refuses to run when a recorded name differs from the
/// one in this build. Statements are constants (no input), each run with `PQexecParams`
/// without parameters, all of one migration in one transaction.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    let statements: [String]

    init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }

    /// Every migration, in order.
    public static let all: [Migration] = [
        Migration(version: 1, name: "job_archive", statements: [
            """
            CREATE TABLE naksha_jobs (
                id text PRIMARY KEY,
                graph_name text NOT NULL,
                graph_version integer NOT NULL,
                input bytea NOT NULL,
                outcome text NOT NULL,
                final_state bytea NOT NULL,
                prompt_tokens bigint NOT NULL DEFAULT 0,
                completion_tokens bigint NOT NULL DEFAULT 0,
                cost_micro_usd bigint NOT NULL DEFAULT 0,
                error text,
                submitted_at_ms bigint NOT NULL,
                finished_at_ms bigint NOT NULL,
                archived_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX naksha_jobs_graph ON naksha_jobs (graph_name, graph_version)",
            "CREATE INDEX naksha_jobs_finished ON naksha_jobs (finished_at_ms)",
            """
            CREATE TABLE naksha_job_nodes (
                job_id text NOT NULL REFERENCES naksha_jobs (id) ON DELETE CASCADE,
                node_id text NOT NULL,
                attempts integer NOT NULL,
                started_at_ms bigint NOT NULL,
                finished_at_ms bigint NOT NULL,
                outcome text NOT NULL,
                PRIMARY KEY (job_id, node_id)
            )
            """,
        ]),
        Migration(version: 2, name: "documents_and_chunks", statements: [
            """
            CREATE TABLE naksha_documents (
                id text PRIMARY KEY,
                source text NOT NULL,
                content text NOT NULL,
                metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE naksha_chunks (
                document_id text NOT NULL REFERENCES naksha_documents (id) ON DELETE CASCADE,
                ordinal integer NOT NULL,
                content text NOT NULL,
                start_offset integer NOT NULL,
                end_offset integer NOT NULL,
                PRIMARY KEY (document_id, ordinal)
            )
            """,
        ]),
        Migration(version: 3, name: "vector_collections", statements: [
            """
            CREATE TABLE naksha_collections (
                name text PRIMARY KEY,
                dimension integer NOT NULL CHECK (dimension > 0),
                metric text NOT NULL,
                shard_count integer NOT NULL CHECK (shard_count > 0),
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE naksha_shard_sequences (
                collection text NOT NULL REFERENCES naksha_collections (name) ON DELETE CASCADE,
                shard integer NOT NULL,
                last_sequence bigint NOT NULL DEFAULT 0,
                PRIMARY KEY (collection, shard)
            )
            """,
            """
            CREATE TABLE naksha_vectors (
                collection text NOT NULL REFERENCES naksha_collections (name) ON DELETE CASCADE,
                id text NOT NULL,
                shard integer NOT NULL,
                sequence bigint NOT NULL,
                vector bytea,
                metadata jsonb,
                deleted boolean NOT NULL DEFAULT false,
                PRIMARY KEY (collection, id)
            )
            """,
            "CREATE UNIQUE INDEX naksha_vectors_shard_sequence ON naksha_vectors (collection, shard, sequence)",
        ]),
        Migration(version: 4, name: "graph_versions", statements: [
            """
            CREATE TABLE naksha_graph_versions (
                name text NOT NULL,
                version integer NOT NULL,
                definition text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (name, version)
            )
            """,
        ]),
        Migration(version: 5, name: "shard_snapshots", statements: [
            """
            CREATE TABLE naksha_shard_snapshots (
                collection text NOT NULL REFERENCES naksha_collections (name) ON DELETE CASCADE,
                shard integer NOT NULL,
                sequence bigint NOT NULL,
                generation bigint NOT NULL,
                format text NOT NULL,
                byte_count bigint NOT NULL,
                saved_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (collection, shard)
            )
            """,
            """
            CREATE TABLE naksha_shard_snapshot_chunks (
                collection text NOT NULL,
                shard integer NOT NULL,
                ordinal integer NOT NULL,
                bytes bytea NOT NULL,
                PRIMARY KEY (collection, shard, ordinal),
                FOREIGN KEY (collection, shard) REFERENCES naksha_shard_snapshots (collection, shard) ON DELETE CASCADE
            )
            """,
        ]),
    ]
}
