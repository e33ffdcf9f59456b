import Testing
@testable import NakshaStore

@Suite("hostile strings stay data (real Postgres)")
struct HostileInputTests {
    static let hostile: [String] = [
        "'; DROP TABLE naksha_jobs; --",
        "Robert'); DROP TABLE naksha_documents;--",
        "\"double\" and 'single' quotes \\ backslash",
        "$1 $2 ::text",
        "नक्शा 🗺️ — Ünïcödé \u{202E}rtl",
        "line\nbreak\ttab\r",
        "E'\\x00' \\x00",
        String(repeating: "ab'c", count: 16),
    ]

    @Test(arguments: hostile)
    func hostileStringsRoundTripEverywhere(_ value: String) async throws {
        let store = try await Fixtures.migratedStore("hostile")
        let countTables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'naksha_%'"
        let tablesBefore = try await store.testQuery(countTables)
        try await store.archiveJobs([Fixtures.job(id: value, graphName: value, error: value)])
        let job = try #require(try await store.archivedJob(id: value))
        #expect(job.graphName == value && job.error == value)
        try await store.putDocument(StoredDocument(id: value, source: value, content: value), chunks: [
            .init(ordinal: 0, content: value, startOffset: 0, endOffset: 1),
        ])
        #expect(try await store.document(id: value)?.content == value)
        try await store.createCollection(VectorCollection(name: value, dimension: 2, metric: value, shardCount: 1))
        try await store.upsertVectors([VectorRecord(id: value, shard: 0, vector: [1, 2], metadataJSON: jsonString(value))], into: value)
        let changes = try await store.vectorChanges(collection: value, shard: 0, afterSequence: 0, limit: nil)
        #expect(changes.map(\.id) == [value])
        #expect(try await store.testQuery(countTables) == tablesBefore, "no table created or dropped by the hostile strings")
        await store.shutdown()
    }

    @Test func nulInTextIsRejectedWithATypedErrorAndNothingIsWritten() async throws {
        let store = try await Fixtures.migratedStore("nul")
        do {
            try await store.archiveJobs([Fixtures.job(id: "a\u{0}b")])
            Issue.record("expected invalidParameter")
        } catch {
            #expect(error.code == .invalidParameter)
        }
        try await store.createCollection(VectorCollection(name: "c", dimension: 1, metric: "l2", shardCount: 1))
        await #expect(throws: StoreError.self) {
            try await store.upsertVectors([VectorRecord(id: "v\u{0}", shard: 0, vector: [1])], into: "c")
        }
        #expect(try await store.testQuery("SELECT count(*) FROM naksha_jobs") == ["0"])
        // The store is still usable afterwards.
        try await store.archiveJobs([Fixtures.job(id: "ok")])
        #expect(try await store.archivedJob(id: "ok") != nil)
        await store.shutdown()
    }

    @Test func aLongValueRoundTrips() async throws {
        let store = try await Fixtures.migratedStore("long")
        let value = String(repeating: "x'", count: 50_000)
        try await store.archiveJobs([Fixtures.job(id: "long", error: value)])
        #expect(try await store.archivedJob(id: "long")?.error == value)
        await store.shutdown()
    }

    @Test func bytesMayContainNUL() async throws {
        let store = try await Fixtures.migratedStore("nul_bytes")
        var job = Fixtures.job(id: "b")
        job.input = [0, 0, 0, 39, 0]
        try await store.archiveJobs([job])
        #expect(try await store.archivedJob(id: "b")?.input == [0, 0, 0, 39, 0])
        await store.shutdown()
    }

    private func jsonString(_ value: String) -> String {
        var escaped = "{\"v\": \""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\"}"
    }
}
