extension PostgresColdStore {
    public func putDocument(_ document: StoredDocument, chunks: [StoredDocument.Chunk]) async throws(StoreError) {
        try await withConnection("put_document", idempotent: true) { connection throws(StoreError) in
            let op = "put_document"
            try connection.transaction(operation: op) { () throws(StoreError) in
                try connection.executePrepared(
                    name: "naksha_put_document",
                    sql: """
                        INSERT INTO naksha_documents (id, source, content, metadata) VALUES ($1, $2, $3, $4::jsonb)
                        ON CONFLICT (id) DO UPDATE SET source = excluded.source, content = excluded.content,
                            metadata = excluded.metadata
                        """,
                    [.text(document.id), .text(document.source), .text(document.content), .text(document.metadataJSON)],
                    operation: op)
                try connection.executePrepared(
                    name: "naksha_delete_chunks", sql: "DELETE FROM naksha_chunks WHERE document_id = $1",
                    [.text(document.id)], operation: op)
                for chunk in chunks {
                    try connection.executePrepared(
                        name: "naksha_put_chunk",
                        sql: """
                            INSERT INTO naksha_chunks (document_id, ordinal, content, start_offset, end_offset)
                            VALUES ($1, $2, $3, $4, $5)
                            """,
                        [.text(document.id), .int(chunk.ordinal), .text(chunk.content), .int(chunk.startOffset), .int(chunk.endOffset)],
                        operation: op)
                }
            }
        }
    }

    public func document(id: String) async throws(StoreError) -> StoredDocument? {
        try await withConnection("document", idempotent: true) { connection throws(StoreError) in
            let op = "document"
            let result = try connection.executePrepared(
                name: "naksha_read_document",
                sql: "SELECT source, content, metadata::text FROM naksha_documents WHERE id = $1",
                [.text(id)], operation: op)
            guard !result.rows.isEmpty else { return nil }
            return StoredDocument(
                id: id, source: try result.string(0, 0, operation: op),
                content: try result.string(0, 1, operation: op),
                metadataJSON: try result.string(0, 2, operation: op))
        }
    }

    public func chunks(documentID: String) async throws(StoreError) -> [StoredDocument.Chunk] {
        try await withConnection("chunks", idempotent: true) { connection throws(StoreError) in
            let op = "chunks"
            let result = try connection.executePrepared(
                name: "naksha_read_chunks",
                sql: """
                    SELECT ordinal, content, start_offset, end_offset FROM naksha_chunks
                    WHERE document_id = $1 ORDER BY ordinal
                    """,
                [.text(documentID)], operation: op)
            var chunks: [StoredDocument.Chunk] = []
            for row in result.rows.indices {
                chunks.append(StoredDocument.Chunk(
                    ordinal: Int(try result.int64(row, 0, operation: op)),
                    content: try result.string(row, 1, operation: op),
                    startOffset: Int(try result.int64(row, 2, operation: op)),
                    endOffset: Int(try result.int64(row, 3, operation: op))))
            }
            return chunks
        }
    }
}
