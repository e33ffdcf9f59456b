import Testing
@testable import NakshaStore

@Suite("archive, documents, graphs (real Postgres)")
struct ArchiveAndDocumentTests {
    @Test func archivedJobRoundTripsExactly() async throws {
        let store = try await Fixtures.migratedStore("archive")
        let job = Fixtures.job(id: "job-1", error: "node generate: upstream 503")
        try await store.archiveJobs([job, Fixtures.job(id: "job-2")])
        let read = try #require(try await store.archivedJob(id: "job-1"))
        var expected = job
        expected.nodeRuns.sort { $0.nodeID < $1.nodeID }
        #expect(read == expected)
        #expect(try await store.archivedJob(id: "missing") == nil)
        await store.shutdown()
    }

    @Test func archivingTheSameJobAgainKeepsTheFirstWrite() async throws {
        let store = try await Fixtures.migratedStore("archive_idem")
        try await store.archiveJobs([Fixtures.job(id: "j")])
        var changed = Fixtures.job(id: "j")
        changed.promptTokens = 1
        changed.nodeRuns = []
        try await store.archiveJobs([changed])
        let read = try #require(try await store.archivedJob(id: "j"))
        #expect(read.promptTokens == 1_234)
        #expect(read.nodeRuns.count == 3)
        await store.shutdown()
    }

    @Test func documentAndChunksAreReplacedAtomically() async throws {
        let store = try await Fixtures.migratedStore("documents")
        let document = StoredDocument(id: "d1", source: "s3://bucket/a.txt", content: "alpha beta gamma", metadataJSON: "{\"lang\": \"en\"}")
        try await store.putDocument(document, chunks: [
            .init(ordinal: 0, content: "alpha beta", startOffset: 0, endOffset: 10),
            .init(ordinal: 1, content: "beta gamma", startOffset: 6, endOffset: 16),
        ])
        try await store.putDocument(document, chunks: [.init(ordinal: 0, content: "alpha beta gamma", startOffset: 0, endOffset: 16)])
        let read = try #require(try await store.document(id: "d1"))
        #expect(read.content == document.content)
        #expect(read.metadataJSON == "{\"lang\": \"en\"}")
        #expect(try await store.chunks(documentID: "d1") == [.init(ordinal: 0, content: "alpha beta gamma", startOffset: 0, endOffset: 16)])
        await store.shutdown()
    }

    @Test func graphVersionsAreImmutable() async throws {
        let store = try await Fixtures.migratedStore("graphs")
        try await store.putGraphVersion(GraphVersion(name: "rag", version: 1, definition: "nodes: [a]"))
        try await store.putGraphVersion(GraphVersion(name: "rag", version: 1, definition: "nodes: [a]"))
        try await store.putGraphVersion(GraphVersion(name: "rag", version: 2, definition: "nodes: [a, b]"))
        do {
            try await store.putGraphVersion(GraphVersion(name: "rag", version: 1, definition: "nodes: [changed]"))
            Issue.record("expected uniqueViolation")
        } catch {
            #expect(error.code == .uniqueViolation)
        }
        #expect(try await store.graphVersion(name: "rag", version: 1)?.definition == "nodes: [a]")
        #expect(try await store.latestGraphVersion(name: "rag")?.version == 2)
        #expect(try await store.latestGraphVersion(name: "none") == nil)
        await store.shutdown()
    }
}
