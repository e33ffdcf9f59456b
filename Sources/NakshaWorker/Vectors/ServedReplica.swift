#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NakshaClusterAPI
import NakshaState
import NakshaStore
import NakshaVector

/// A readers–writer lock that prefers writers (so a steady stream of searches never starves
/// a catch-up). Held only for in-memory work: never across an `await`.
final class ReadWriteLock: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)

    init() {
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    func withReadLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    func withWriteLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}

/// One replica as a worker serves it: searches run concurrently under a read lock, and
/// changes are applied in place under the write lock in slices of `applySlice`, so a large
/// catch-up (or an HNSW insert batch) pauses searches for one slice at a time, never for the
/// whole batch, and the index is never copied (the replica is mutated in place in this box).
///
/// Invariant: a search sees the replica between two whole changes — at some
/// `appliedSequence`, with every change at or below it applied and none above.
final class ServedReplica: @unchecked Sendable {
    private var replica: ShardReplica
    private let lock = ReadWriteLock()
    let spec: CollectionSpec
    let shard: Int
    /// Changes applied per write-lock hold: about 100 ms of HNSW inserts at 384 dimensions.
    static let applySlice = 256

    init(_ replica: ShardReplica) {
        self.replica = replica
        self.spec = replica.spec
        self.shard = replica.shard
    }

    var appliedSequence: Int64 { lock.withReadLock { replica.appliedSequence } }
    var count: Int { lock.withReadLock { replica.count } }
    var memoryBytes: Int { lock.withReadLock { replica.memoryBytes } }
    var isExact: Bool { lock.withReadLock { replica.isExact } }
    var isSnapshotWorthy: Bool { lock.withReadLock { replica.isSnapshotWorthy } }

    func estimatedBytes(adding count: Int) -> Int { lock.withReadLock { replica.estimatedBytes(adding: count) } }

    /// Searches under the read lock, with the sequence the answer reflects.
    func search(_ query: [Float], k: Int, filter: MetadataFilter?) throws(VectorError) -> (hits: [ShardHit], appliedSequence: Int64) {
        try lock.withReadLock { () throws(VectorError) in
            (try replica.search(query, k: k, filter: filter), replica.appliedSequence)
        }
    }

    /// Searches a batch under one read lock, with the sequence the answers reflect.
    func search(batch queries: [[Float]], k: Int, filter: MetadataFilter?) throws(VectorError) -> (hits: [[ShardHit]], appliedSequence: Int64) {
        try lock.withReadLock { () throws(VectorError) in
            (try replica.search(batch: queries, k: k, filter: filter), replica.appliedSequence)
        }
    }

    /// Applies `changes` (in sequence order) a slice at a time, off any actor, yielding between
    /// slices so searches interleave. Changes at or below the applied sequence are skipped, so
    /// two overlapping catch-ups apply each change once.
    @concurrent
    func apply(_ changes: [VectorChange]) async -> [(id: String, error: VectorError)] {
        var skipped: [(id: String, error: VectorError)] = []
        var start = changes.startIndex
        while start < changes.endIndex {
            let end = min(start + Self.applySlice, changes.endIndex)
            skipped += lock.withWriteLock { replica.apply(changes[start..<end]) }
            start = end
            if start < changes.endIndex { await Task.yield() }
        }
        return skipped
    }

    /// The snapshot bytes and the sequence they include (nil for kinds that are not saved).
    /// Holds the read lock while encoding: writes wait, searches continue.
    func snapshot() -> (bytes: [UInt8], sequence: Int64)? {
        lock.withReadLock {
            replica.snapshotBytes().map { ($0, replica.appliedSequence) }
        }
    }
}
