// Store macro benchmark: vectors/s for COPY load (upsertVectors) and COPY read
// (vectorChanges) of N vectors of dimension D against the Postgres in DATABASE_URL.
//
//   DATABASE_URL=postgresql://… store-bench [--count 100000] [--dimension 384] [--shards 4] [--batch 100000] [--repeat 3]
//
// Prints one human line and one JSON line per phase and repetition. It creates a fresh
// collection per repetition (named store_bench_<pid>_<n>), so it never touches other data.
import Foundation
import Logging
import NakshaCore
import NakshaStore

struct Options {
    var count = 100_000
    var dimension = 384
    var shards = 4
    var batch = 100_000
    var repetitions = 3

    init(arguments: [String]) throws {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            guard let text = iterator.next(), let value = Int(text), value > 0 else {
                throw BenchError.usage("\(flag) needs a positive integer")
            }
            switch flag {
            case "--count": count = value
            case "--dimension": dimension = value
            case "--shards": shards = value
            case "--batch": batch = value
            case "--repeat": repetitions = value
            default: throw BenchError.usage("unknown flag \(flag)")
            }
        }
    }
}

enum BenchError: Error, CustomStringConvertible {
    case usage(String)
    case mismatch(String)
    var description: String {
        switch self {
        case .usage(let text): return "usage: \(text)\n  store-bench [--count N] [--dimension D] [--shards S] [--batch B] [--repeat R] (needs DATABASE_URL)"
        case .mismatch(let text): return "data mismatch: \(text)"
        }
    }
}

func makeVectors(_ options: Options) -> [VectorRecord] {
    var generator = SeededGenerator(seed: 7)
    return (0..<options.count).map { index in
        let vector = [Float](unsafeUninitializedCapacity: options.dimension) { buffer, initialized in
            for element in 0..<options.dimension {
                buffer[element] = Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()))
            }
            initialized = options.dimension
        }
        return VectorRecord(id: "v\(index)", shard: index % options.shards, vector: vector)
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func report(_ phase: String, _ options: Options, _ elapsed: Duration) {
    let rate = Double(options.count) / seconds(elapsed)
    let megabytes = Double(options.count * options.dimension * 4) / 1_048_576 / seconds(elapsed)
    print(String(format: "%@: %d × %d in %.3f s = %.0f vectors/s (%.1f MiB/s of vector data)",
                 phase, options.count, options.dimension, seconds(elapsed), rate, megabytes))
    print("{\"bench\":\"store\",\"phase\":\"\(phase)\",\"count\":\(options.count),\"dimension\":\(options.dimension),"
        + "\"shards\":\(options.shards),\"batch\":\(options.batch),\"seconds\":\(seconds(elapsed)),\"vectors_per_second\":\(Int(rate))}")
}

func runOnce(_ store: PostgresColdStore, _ options: Options, _ vectors: [VectorRecord], round: Int) async throws {
    let name = "store_bench_\(ProcessInfo.processInfo.processIdentifier)_\(round)"
    try await store.createCollection(VectorCollection(name: name, dimension: options.dimension, metric: "l2", shardCount: options.shards))
    let clock = ContinuousClock()
    let loadStart = clock.now
    var offset = 0
    while offset < vectors.count {
        let end = min(offset + options.batch, vectors.count)
        try await store.upsertVectors(Array(vectors[offset..<end]), into: name)
        offset = end
    }
    report("copy_load", options, loadStart.duration(to: clock.now))
    let readStart = clock.now
    var read = 0
    var checksum: UInt64 = 0
    for shard in 0..<options.shards {
        let changes = try await store.vectorChanges(collection: name, shard: shard, afterSequence: 0, limit: nil)
        read += changes.count
        for change in changes { checksum &+= UInt64(change.vector[0].bitPattern) }
    }
    report("copy_read", options, readStart.duration(to: clock.now))
    let expected = vectors.reduce(UInt64(0)) { $0 &+ UInt64($1.vector[0].bitPattern) }
    guard read == options.count, checksum == expected else {
        throw BenchError.mismatch("read \(read) of \(options.count) vectors, checksum \(checksum) vs \(expected)")
    }
}

do {
    let options = try Options(arguments: CommandLine.arguments)
    let configuration = try PostgresConfiguration.fromEnvironment(ProcessInfo.processInfo.environment)
    let store = PostgresColdStore(
        configuration: configuration,
        logger: Logger(label: "store-bench", factory: { _ in SwiftLogNoOpLogHandler() }))
    _ = try await store.migrate()
    let vectors = makeVectors(options)
    for round in 0..<options.repetitions {
        try await runOnce(store, options, vectors, round: round)
    }
    await store.shutdown()
} catch {
    FileHandle.standardError.write(Data("store-bench: \(error)\n".utf8))
    exit(1)
}
