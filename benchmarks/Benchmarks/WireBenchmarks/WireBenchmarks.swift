import Benchmark
import NakshaWire

/// A 100-byte-class message: the shape of a small inter-node call (ids, a name, a few numbers).
struct SmallMessage: Codable, Equatable {
    var callID: UInt64
    var term: UInt64
    var target: String
    var indexes: [UInt32]
    var flag: Bool
    var note: String?
}

let smallMessage = SmallMessage(
    callID: 123_456_789, term: 42, target: "raft.appendEntries(from:to:entries:)",
    indexes: Array(1000..<1016), flag: true, note: "leader"
)

/// 64 KiB that compresses like real payloads (JSON-ish text with repetition), and 64 KiB of
/// pseudo-random bytes that does not compress at all.
let compressiblePayload: [UInt8] = {
    var bytes: [UInt8] = []
    var counter = 0
    while bytes.count < 64 << 10 {
        bytes += Array("{\"id\":\(counter),\"text\":\"chunk \(counter % 97) of the sample document\"},".utf8)
        counter += 1
    }
    return Array(bytes.prefix(64 << 10))
}()

let randomPayload: [UInt8] = {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    return (0..<(64 << 10)).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}()

let benchmarks: @Sendable () -> Void = {
    let quick = Benchmark.Configuration(metrics: [.throughput, .wallClock], maxDuration: .seconds(3), maxIterations: 1_000_000)

    Benchmark("small message: codec + frame, encode+decode", configuration: quick) { benchmark in
        let frameEncoder = FrameEncoder()
        for _ in benchmark.scaledIterations {
            let payload = try BinaryEncoder().encode(smallMessage)
            let bytes = try frameEncoder.encode(Frame(kind: .call, streamID: 1, payload: payload))
            var decoder = FrameDecoder()
            decoder.append(bytes)
            guard let frame = try decoder.nextFrame() else { return }
            blackHole(try BinaryDecoder().decode(SmallMessage.self, from: frame.payload))
        }
    }

    for (name, payload, threshold) in [
        ("64 KiB raw", randomPayload, Int.max),
        ("64 KiB compressible, zstd", compressiblePayload, 4096),
        ("64 KiB compressible, no compression", compressiblePayload, Int.max),
    ] {
        Benchmark(
            "frame \(name): encode+decode",
            configuration: .init(metrics: [.throughput, .wallClock], scalingFactor: .one, maxDuration: .seconds(3))
        ) { benchmark in
            let encoder = FrameEncoder(compressionThreshold: threshold)
            for _ in benchmark.scaledIterations {
                let bytes = try encoder.encode(Frame(kind: .reply, streamID: 9, payload: payload))
                var decoder = FrameDecoder()
                decoder.append(bytes)
                blackHole(try decoder.nextFrame())
            }
        }
    }

    Benchmark("codec [UInt8] 64 KiB: encode+decode", configuration: quick) { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes = try BinaryEncoder().encode(randomPayload)
            blackHole(try BinaryDecoder().decode([UInt8].self, from: bytes))
        }
    }
}
