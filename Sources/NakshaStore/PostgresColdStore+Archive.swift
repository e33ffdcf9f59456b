extension PostgresColdStore {
    public func archiveJobs(_ jobs: [ArchivedJob]) async throws(StoreError) {
        guard !jobs.isEmpty else { return }
        try await withConnection("archive_jobs", idempotent: true) { connection throws(StoreError) in
            try connection.transaction(operation: "archive_jobs") { () throws(StoreError) in
                for job in jobs { try Self.insert(job, on: connection) }
            }
        }
    }

    public func archivedJob(id: String) async throws(StoreError) -> ArchivedJob? {
        try await withConnection("archived_job", idempotent: true) { connection throws(StoreError) in
            try Self.readJob(id: id, on: connection)
        }
    }

    private static func insert(_ job: ArchivedJob, on connection: PostgresConnection) throws(StoreError) {
        let op = "archive_jobs"
        let inserted = try connection.executePrepared(
            name: "naksha_archive_job",
            sql: """
                INSERT INTO naksha_jobs (id, graph_name, graph_version, input, outcome, final_state,
                    prompt_tokens, completion_tokens, cost_micro_usd, error, submitted_at_ms, finished_at_ms)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                ON CONFLICT (id) DO NOTHING
                """,
            [
                .text(job.id), .text(job.graphName), .int(job.graphVersion), .bytes(job.input),
                .text(job.outcome.rawValue), .bytes(job.finalState), .int64(job.promptTokens),
                .int64(job.completionTokens), .int64(job.costMicroUSD), .text(job.error),
                .int64(job.submittedAtMillis), .int64(job.finishedAtMillis),
            ], operation: op)
        guard inserted.affectedRows == 1 else { return }  // already archived: first write wins
        for run in job.nodeRuns {
            try connection.executePrepared(
                name: "naksha_archive_node",
                sql: """
                    INSERT INTO naksha_job_nodes (job_id, node_id, attempts, started_at_ms, finished_at_ms, outcome)
                    VALUES ($1, $2, $3, $4, $5, $6)
                    """,
                [
                    .text(job.id), .text(run.nodeID), .int(run.attempts), .int64(run.startedAtMillis),
                    .int64(run.finishedAtMillis), .text(run.outcome.rawValue),
                ], operation: op)
        }
    }

    private static func readJob(id: String, on connection: PostgresConnection) throws(StoreError) -> ArchivedJob? {
        let op = "archived_job"
        let jobs = try connection.executePrepared(
            name: "naksha_read_job",
            sql: """
                SELECT graph_name, graph_version, input, outcome, final_state, prompt_tokens,
                    completion_tokens, cost_micro_usd, error, submitted_at_ms, finished_at_ms
                FROM naksha_jobs WHERE id = $1
                """,
            [.text(id)], operation: op)
        guard !jobs.rows.isEmpty else { return nil }
        let nodes = try connection.executePrepared(
            name: "naksha_read_job_nodes",
            sql: """
                SELECT node_id, attempts, started_at_ms, finished_at_ms, outcome
                FROM naksha_job_nodes WHERE job_id = $1 ORDER BY node_id
                """,
            [.text(id)], operation: op)
        var runs: [ArchivedJob.NodeRun] = []
        for row in nodes.rows.indices {
            runs.append(ArchivedJob.NodeRun(
                nodeID: try nodes.string(row, 0, operation: op),
                attempts: Int(try nodes.int64(row, 1, operation: op)),
                startedAtMillis: try nodes.int64(row, 2, operation: op),
                finishedAtMillis: try nodes.int64(row, 3, operation: op),
                outcome: try outcome(nodes.string(row, 4, operation: op))))
        }
        return ArchivedJob(
            id: id,
            graphName: try jobs.string(0, 0, operation: op),
            graphVersion: Int(try jobs.int64(0, 1, operation: op)),
            input: try jobs.bytes(0, 2, operation: op) ?? [],
            outcome: try outcome(jobs.string(0, 3, operation: op)),
            finalState: try jobs.bytes(0, 4, operation: op) ?? [],
            nodeRuns: runs,
            promptTokens: try jobs.int64(0, 5, operation: op),
            completionTokens: try jobs.int64(0, 6, operation: op),
            costMicroUSD: try jobs.int64(0, 7, operation: op),
            error: try jobs.cell(0, 8, operation: op),
            submittedAtMillis: try jobs.int64(0, 9, operation: op),
            finishedAtMillis: try jobs.int64(0, 10, operation: op))
    }

    private static func outcome(_ text: String) throws(StoreError) -> ArchivedJob.Outcome {
        guard let outcome = ArchivedJob.Outcome(rawValue: text) else {
            throw StoreError(
                code: .protocolViolation, operation: "archived_job",
                message: "unknown job outcome \"\(text)\" in the archive; it was written by a newer Naksha")
        }
        return outcome
    }
}
