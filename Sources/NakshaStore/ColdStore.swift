/// The cold store: what Postgres keeps for Naksha. Hot state lives in Raft and the workers.
///
/// Contract for every method:
/// - errors are `StoreError` with a stable `code`;
/// - methods documented as idempotent may be retried by the caller after any error and are
///   retried internally after connection failures (server restart, failover) until the
///   configured retry deadline;
/// - no method builds SQL from its arguments.
public protocol ColdStore: Sendable {
    /// Brings the schema to this build's version; safe to call concurrently from several
    /// processes (advisory lock), idempotent.
    func migrate() async throws(StoreError) -> MigrationReport

    /// Archives finished jobs in one transaction. Idempotent: an id already archived is kept
    /// as first written.
    func archiveJobs(_ jobs: [ArchivedJob]) async throws(StoreError)
    /// An archived job, or nil.
    func archivedJob(id: String) async throws(StoreError) -> ArchivedJob?

    /// Inserts or replaces a document and all its chunks atomically. Idempotent.
    func putDocument(_ document: StoredDocument, chunks: [StoredDocument.Chunk]) async throws(StoreError)
    func document(id: String) async throws(StoreError) -> StoredDocument?
    /// The document's chunks by ordinal (empty if none or no such document).
    func chunks(documentID: String) async throws(StoreError) -> [StoredDocument.Chunk]

    /// Creates a collection; idempotent when the shape is identical, `uniqueViolation` otherwise.
    func createCollection(_ collection: VectorCollection) async throws(StoreError)
    func collection(named name: String) async throws(StoreError) -> VectorCollection?

    /// Upserts vectors (bulk, via binary COPY) and gives each a new per-shard sequence number.
    /// Returns the highest sequence per touched shard. Ids must be unique in the batch,
    /// vectors must have the collection's dimension and a shard in range (`invalidInput`).
    /// Retried after connection failures: a retry may assign newer sequence numbers to the
    /// same values, which replicas apply harmlessly.
    @discardableResult
    func upsertVectors(_ vectors: [VectorRecord], into collection: String) async throws(StoreError) -> [Int: Int64]
    /// Marks vectors deleted (tombstones with new sequence numbers). Unknown ids are ignored.
    @discardableResult
    func deleteVectors(ids: [String], from collection: String) async throws(StoreError) -> [Int: Int64]
    /// The current state of every vector of `shard` whose sequence is greater than
    /// `afterSequence`, in sequence order, at most `limit` (bulk read via binary COPY).
    func vectorChanges(
        collection: String, shard: Int, afterSequence: Int64, limit: Int?
    ) async throws(StoreError) -> [VectorChange]

    /// Stores a graph version (see `GraphVersion` for the immutability rule).
    func putGraphVersion(_ graph: GraphVersion) async throws(StoreError)
    func graphVersion(name: String, version: Int) async throws(StoreError) -> GraphVersion?
    /// The highest version of a graph, or nil.
    func latestGraphVersion(name: String) async throws(StoreError) -> GraphVersion?
}
