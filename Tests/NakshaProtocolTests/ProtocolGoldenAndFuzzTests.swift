import Foundation
import NakshaProtocol
import NakshaTestSupport
import NakshaWire
import SwiftProtobuf
import Testing

/// Byte-exact client-protocol frames (the worked example of docs/protocol.md) and a fuzz run
/// of the server's decoding path.
@Suite struct ProtocolGoldenAndFuzzTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// `SubmitJob` of graph `sample_rag` with input `{"question":"What is a lease?"}`,
    /// idempotency key `k1`, a 5 s deadline and a bearer token, on stream 1.
    static func submitRequestFrame() throws -> Frame {
        var submit = Naksha_V1_SubmitJobRequest()
        submit.graph = "sample_rag"
        submit.inputJson = #"{"question":"What is a lease?"}"#
        submit.idempotencyKey = "k1"
        var request = Naksha_V1_Request()
        request.method = NakshaMethod.submitJob
        request.timeoutMs = 5000
        request.metadata = ["authorization": "Bearer t0k3n"]
        request.message = Data(try submit.serializedBytes() as [UInt8])
        return Frame(kind: .request, streamID: 1, payload: try request.serializedBytes())
    }

    /// Its answer: job 42, queued; then status OK.
    static func submitResponseFrames() throws -> [Frame] {
        var response = Naksha_V1_SubmitJobResponse()
        response.jobID = 42
        response.status = .queued
        return [
            Frame(kind: .response, streamID: 1, payload: try response.serializedBytes()),
            Frame(kind: .status, flags: .endOfStream, streamID: 1, payload: try RPCError(.ok, "").status.serializedBytes()),
        ]
    }

    static func check(_ name: String, _ bytes: [UInt8]) throws {
        let (expected, actual) = try GoldenFile(directory: directory, bytesPerLine: 16).compare(name, bytes)
        #expect(actual == expected, "\(name) changed: the client protocol's bytes are a contract")
    }

    @Test func submitJobRequestAndResponseBytes() throws {
        let plain = FrameEncoder(compressionThreshold: .max)
        try Self.check("submit-request", try plain.encode(try Self.submitRequestFrame()))
        try Self.check("submit-response", try Self.submitResponseFrames().flatMap { try plain.encode($0) })
        // And they decode back to the same messages.
        var decoder = FrameDecoder()
        decoder.append(try plain.encode(try Self.submitRequestFrame()))
        let frame = try #require(try decoder.nextFrame())
        let request = try Naksha_V1_Request(serializedBytes: frame.payload)
        #expect(request.method == "naksha.v1.Naksha/SubmitJob" && request.timeoutMs == 5000)
        #expect(try Naksha_V1_SubmitJobRequest(serializedBytes: request.message).graph == "sample_rag")
    }

    @Test func creditFrameBytes() throws {
        var credit = Naksha_V1_Credit()
        credit.messages = 16
        try Self.check("credit", try FrameEncoder().encode(Frame(kind: .credit, streamID: 3, payload: try credit.serializedBytes())))
    }

    /// 100,000 inputs — random bytes, and valid request, credit and cancel frames with bytes
    /// flipped, cut or inserted — through the server's decoder and connection state machine.
    /// No input may trap, and after a connection error the machine does nothing more.
    @Test func serverDecodingPathSurvivesHostileInput() async throws {
        // NAKSHA_FUZZ_SEED replays a failing run; otherwise each run explores a new seed.
        var generator = SystemRandomNumberGenerator()
        let seed = ProcessInfo.processInfo.environment["NAKSHA_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max, using: &generator)
        var random = SplitMix(seed: seed)
        let encoder = FrameEncoder(compressionThreshold: 64)
        var valid: [[UInt8]] = [try encoder.encode(try Self.submitRequestFrame())]
        var credit = Naksha_V1_Credit()
        credit.messages = 7
        valid.append(try encoder.encode(Frame(kind: .credit, streamID: 1, payload: try credit.serializedBytes())))
        valid.append(try encoder.encode(Frame(kind: .cancel, streamID: 1)))
        var big = Naksha_V1_Request()
        big.method = NakshaMethod.watchJob
        big.message = Data(repeating: 0x61, count: 9000)
        valid.append(try encoder.encode(Frame(kind: .request, streamID: 2, payload: try big.serializedBytes())))
        let methods: [String: ServerConnectionStateMachine.MethodShape] = [NakshaMethod.submitJob: .unary, NakshaMethod.watchJob: .serverStream]
        var outcomes: [String: Int] = [:]
        for round in 0..<100_000 {
            // Let the tests running alongside have the thread now and then.
            if round % 2_000 == 0 { await Task.yield() }
            var bytes: [UInt8]
            if round % 4 == 0 {
                bytes = (0..<Int(random.next() % 96)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                bytes = valid[Int(random.next() % UInt64(valid.count))] + valid[Int(random.next() % UInt64(valid.count))]
                for _ in 0..<(1 + random.next() % 4) {
                    guard !bytes.isEmpty else { break }
                    let at = Int(random.next() % UInt64(bytes.count))
                    switch random.next() % 3 {
                    case 0: bytes[at] ^= UInt8(truncatingIfNeeded: 1 + random.next() % 255)
                    case 1: bytes.removeSubrange(at...)
                    default: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: at)
                    }
                }
            }
            var decoder = FrameDecoder(limits: WireLimits(maxFrameBytes: 4096))
            var machine = ServerConnectionStateMachine(methods: methods)
            decoder.append(bytes)
            var outcome = "needMore"
            do {
                while !machine.isClosed, let frame = try decoder.nextFrame() {
                    let action = machine.received(frame)
                    if case .startCall = action { _ = machine.callEnded(streamID: frame.streamID) }
                    outcome = "frames"
                }
            } catch {
                _ = machine.receiveFailed(error)
                outcome = "\(error.code)"
            }
            if machine.isClosed {
                #expect(machine.received(Frame(kind: .ping, streamID: 1)) == .none, "seed \(seed) round \(round)")
            }
            outcomes[outcome, default: 0] += 1
        }
        // The corpus reaches the decoder's refusals and the state machine both.
        #expect(outcomes["frames", default: 0] > 5_000, "seed \(seed): \(outcomes)")
        #expect(outcomes["checksumMismatch", default: 0] > 1_000, "seed \(seed): \(outcomes)")
        #expect(outcomes["badMagic", default: 0] > 1_000, "seed \(seed): \(outcomes)")
    }
}

/// A small seeded generator, so a failure's seed reproduces it.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
