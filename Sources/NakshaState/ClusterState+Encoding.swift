import NakshaCore
import NakshaGraph

/// The snapshot layout: every collection as an array in a fixed order.
///
/// Fields added after the first release of format 1 are optional and left out when empty,
/// so a state that does not use them encodes exactly as format 1 did (see the golden
/// snapshot) and older snapshots decode with them empty.
private struct StateSnapshot: Codable {
    var limits: ClusterLimits
    var lastAppliedIndex: UInt64
    var graphs: [[GraphVersionRecord]]
    var graphConcurrency: [String: Int]
    var jobs: [JobRecord]
    var readyQueue: [ReadyEntry]
    var nextReadySequence: UInt64
    var leasedTasks: [TaskID]
    var workers: [WorkerRecord]
    var idempotency: [IdempotencyRecord]
    /// By priority, ascending.
    var fairnessCursors: [FairnessCursor]?
    var keyConcurrency: [String: Int]?
    /// By provider key, ascending.
    var providers: [ProviderBucket]?
    /// Only when child jobs took ids above the last applied index (otherwise the next id
    /// is the next entry's index either way).
    var lastJobID: UInt64?
    /// Only once a collection was created.
    var shardMap: ShardMap?
}

private struct FairnessCursor: Codable {
    var priority: Int
    var key: String
}

extension ClusterState {
    /// The whole state in canonical bytes: magic `NS`, the format version, then the
    /// canonical encoding. Equal states give equal bytes.
    public func encoded() -> [UInt8] {
        let snapshot = StateSnapshot(
            limits: limits, lastAppliedIndex: lastAppliedIndex,
            graphs: graphs.keys.sorted().compactMap { graphs[$0] }, graphConcurrency: graphConcurrency,
            jobs: jobOrder.compactMap { jobs[$0] }, readyQueue: readyQueue, nextReadySequence: nextReadySequence,
            leasedTasks: leasedTasks, workers: workers.keys.sorted().compactMap { workers[$0] },
            idempotency: idempotencyOrder.compactMap { idempotency[$0] },
            fairnessCursors: fairnessCursor.isEmpty ? nil : fairnessCursor.keys.sorted().compactMap { priority in
                fairnessCursor[priority].map { FairnessCursor(priority: priority, key: $0) }
            },
            keyConcurrency: keyConcurrency.isEmpty ? nil : keyConcurrency,
            providers: providers.isEmpty ? nil : providers.keys.sorted().compactMap { providers[$0] },
            lastJobID: lastJobID == 0 ? nil : lastJobID, shardMap: shardMap == ShardMap() ? nil : shardMap)
        do {
            return Self.snapshotMagic + [Self.formatVersion] + (try CanonicalEncoder.encode(snapshot))
        } catch {
            preconditionFailure("canonical encoding cannot fail for the cluster state: \(error)")
        }
    }

    /// Restores a state from `encoded()` bytes; throws `malformedState` or `unknownVersion`.
    public static func decode(_ bytes: [UInt8]) throws(ClusterError) -> ClusterState {
        guard bytes.count >= 3, Array(bytes[0..<2]) == snapshotMagic else {
            throw ClusterError(.malformedState, "the bytes are not a cluster-state snapshot (no NS magic)")
        }
        guard bytes[2] == formatVersion else {
            throw ClusterError(.unknownVersion, "cluster-state format version \(bytes[2]) is not known to this build (it reads \(formatVersion))")
        }
        let snapshot: StateSnapshot
        do {
            snapshot = try CanonicalDecoder.decode(StateSnapshot.self, from: bytes, startingAt: 3)
        } catch {
            throw ClusterError(.malformedState, "the cluster-state snapshot does not decode: \(error)")
        }
        var state = ClusterState(limits: snapshot.limits)
        state.lastAppliedIndex = snapshot.lastAppliedIndex
        for versions in snapshot.graphs {
            guard let name = versions.first?.info.name else { continue }
            state.graphs[name] = versions
        }
        state.graphConcurrency = snapshot.graphConcurrency
        for job in snapshot.jobs {
            state.jobs[job.id] = job
            state.jobOrder.append(job.id)
        }
        state.readyQueue = snapshot.readyQueue
        state.nextReadySequence = snapshot.nextReadySequence
        state.leasedTasks = snapshot.leasedTasks
        for worker in snapshot.workers { state.workers[worker.id] = worker }
        for record in snapshot.idempotency {
            state.idempotency[record.key] = record
            state.idempotencyOrder.append(record.key)
        }
        for cursor in snapshot.fairnessCursors ?? [] { state.fairnessCursor[cursor.priority] = cursor.key }
        state.keyConcurrency = snapshot.keyConcurrency ?? [:]
        for bucket in snapshot.providers ?? [] { state.providers[bucket.provider] = bucket }
        state.lastJobID = snapshot.lastJobID ?? 0
        state.shardMap = snapshot.shardMap ?? ShardMap()
        return state
    }

    /// A command's bytes for the log: the format version, then the canonical encoding.
    public static func encodeCommand(_ command: ClusterCommand) -> [UInt8] {
        do {
            return [formatVersion] + (try CanonicalEncoder.encode(command))
        } catch {
            preconditionFailure("canonical encoding cannot fail for commands: \(error)")
        }
    }

    public static func decodeCommand(_ bytes: [UInt8]) throws(ClusterError) -> ClusterCommand {
        guard let version = bytes.first else { throw ClusterError(.malformedCommand, "an empty command") }
        guard version == formatVersion else {
            throw ClusterError(.unknownVersion, "command format version \(version) is not known to this build (it reads \(formatVersion))")
        }
        do {
            return try CanonicalDecoder.decode(ClusterCommand.self, from: bytes, startingAt: 1)
        } catch {
            throw ClusterError(.malformedCommand, "the command does not decode: \(error)")
        }
    }

    /// A result's bytes for the proposer.
    public static func encodeResult(_ result: ClusterResult) -> [UInt8] {
        do {
            switch result {
            case .success(let outcome): return [formatVersion, 0] + (try CanonicalEncoder.encode(outcome))
            case .failure(let error): return [formatVersion, 1] + (try CanonicalEncoder.encode(error))
            }
        } catch {
            preconditionFailure("canonical encoding cannot fail for results: \(error)")
        }
    }

    public static func decodeResult(_ bytes: [UInt8]) throws(ClusterError) -> ClusterResult {
        guard bytes.count >= 2 else { throw ClusterError(.malformedCommand, "a result needs at least two bytes") }
        guard bytes[0] == formatVersion else { throw ClusterError(.unknownVersion, "result format version \(bytes[0]) is not known") }
        do {
            switch bytes[1] {
            case 0: return .success(try CanonicalDecoder.decode(ClusterOutcome.self, from: bytes, startingAt: 2))
            case 1: return .failure(try CanonicalDecoder.decode(ClusterError.self, from: bytes, startingAt: 2))
            default: throw ClusterError(.malformedCommand, "result kind \(bytes[1]) is unknown")
            }
        } catch let error as ClusterError {
            throw error
        } catch {
            throw ClusterError(.malformedCommand, "the result does not decode: \(error)")
        }
    }
}
