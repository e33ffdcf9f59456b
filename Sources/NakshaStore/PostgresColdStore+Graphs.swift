extension PostgresColdStore {
    public func putGraphVersion(_ graph: GraphVersion) async throws(StoreError) {
        try await withConnection("put_graph_version", idempotent: true) { connection throws(StoreError) in
            let op = "put_graph_version"
            let inserted = try connection.execute(
                """
                INSERT INTO naksha_graph_versions (name, version, definition) VALUES ($1, $2, $3)
                ON CONFLICT (name, version) DO NOTHING
                """,
                [.text(graph.name), .int(graph.version), .text(graph.definition)], operation: op)
            guard inserted.affectedRows == 0 else { return }
            let existing = try connection.execute(
                "SELECT definition FROM naksha_graph_versions WHERE name = $1 AND version = $2",
                [.text(graph.name), .int(graph.version)], operation: op)
            guard try existing.string(0, 0, operation: op) == graph.definition else {
                throw StoreError(
                    code: .uniqueViolation, operation: op,
                    message: "graph \"\(graph.name)\" version \(graph.version) already exists with a different "
                        + "definition; versions are immutable: store the change as version \(graph.version + 1)")
            }
        }
    }

    public func graphVersion(name: String, version: Int) async throws(StoreError) -> GraphVersion? {
        try await withConnection("graph_version", idempotent: true) { connection throws(StoreError) in
            let result = try connection.executePrepared(
                name: "naksha_read_graph_version",
                sql: "SELECT definition FROM naksha_graph_versions WHERE name = $1 AND version = $2",
                [.text(name), .int(version)], operation: "graph_version")
            guard !result.rows.isEmpty else { return nil }
            return GraphVersion(name: name, version: version, definition: try result.string(0, 0, operation: "graph_version"))
        }
    }

    public func latestGraphVersion(name: String) async throws(StoreError) -> GraphVersion? {
        try await withConnection("graph_version", idempotent: true) { connection throws(StoreError) in
            let op = "graph_version"
            let result = try connection.executePrepared(
                name: "naksha_read_latest_graph_version",
                sql: """
                    SELECT version, definition FROM naksha_graph_versions WHERE name = $1
                    ORDER BY version DESC LIMIT 1
                    """,
                [.text(name)], operation: op)
            guard !result.rows.isEmpty else { return nil }
            return GraphVersion(
                name: name, version: Int(try result.int64(0, 0, operation: op)),
                definition: try result.string(0, 1, operation: op))
        }
    }
}
