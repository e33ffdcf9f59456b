import NakshaCore
import NakshaWire
import Testing

/// Seeded random and mutated inputs through both decoders: nothing may crash, and every
/// failure must be a `WireError`. Replay a failing run with `NAKSHA_FUZZ_SEED=<seed>`.
@Suite struct RobustnessTests {
    static var seed: UInt64 {
        if let text = Environment.value("NAKSHA_FUZZ_SEED"), let seed = UInt64(text) { return seed }
        return 0x4E4B_5348
    }

    static func corpus() throws -> [[UInt8]] {
        let encoder = FrameEncoder(compressionThreshold: 64)
        var frames: [[UInt8]] = []
        for frame in FrameTests.sampleFrames { frames.append(try encoder.encode(frame)) }
        frames.append(try encoder.encode(Frame(kind: .reply, streamID: 3, payload: BinaryEncoder().encode(Document.sample))))
        return frames
    }

    static func mutate(_ input: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        let edits = 1 + Int(random.next(below: 4))
        for _ in 0..<edits {
            switch random.next(below: 6) {
            case 0 where !bytes.isEmpty:  // flip a bit
                let index = Int(random.next(below: UInt64(bytes.count)))
                bytes[index] ^= 1 << UInt8(random.next(below: 8))
            case 1 where !bytes.isEmpty:  // set a byte to an interesting value
                let index = Int(random.next(below: UInt64(bytes.count)))
                bytes[index] = [0x00, 0x01, 0x7F, 0x80, 0xFF][Int(random.next(below: 5))]
            case 2 where !bytes.isEmpty:  // truncate
                bytes.removeLast(Int(random.next(below: UInt64(bytes.count))) + 1)
            case 3:  // insert random bytes
                let index = Int(random.next(below: UInt64(bytes.count + 1)))
                let count = 1 + Int(random.next(below: 8))
                bytes.insert(contentsOf: (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: index)
            case 4 where bytes.count > 2:  // duplicate a slice
                let start = Int(random.next(below: UInt64(bytes.count - 1)))
                let end = start + 1 + Int(random.next(below: UInt64(bytes.count - start - 1)))
                bytes.append(contentsOf: bytes[start..<end])
            default:  // fully random
                bytes = (0..<Int(random.next(below: 64))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            }
        }
        return bytes
    }

    @Test func hundredThousandMutatedInputsNeverCrashEitherDecoder() throws {
        let seed = Self.seed
        var random = SeededGenerator(seed: seed)
        let corpus = try Self.corpus()
        let documentBytes = try BinaryEncoder().encode(Document.sample)
        let limits = WireLimits(maxFrameBytes: 1 << 20)
        var outcomes = (frames: 0, frameErrors: 0, values: 0, valueErrors: 0)
        for iteration in 0..<100_000 {
            let base = iteration % 2 == 0 ? corpus[Int(random.next(below: UInt64(corpus.count)))] : documentBytes
            let input = Self.mutate(base, &random)
            if iteration % 2 == 0 {
                var decoder = FrameDecoder(limits: limits)
                decoder.append(input)
                do {
                    while try decoder.nextFrame() != nil { outcomes.frames += 1 }
                } catch {
                    outcomes.frameErrors += 1
                }
            } else {
                do {
                    _ = try BinaryDecoder(limits: limits).decode(Document.self, from: input)
                    outcomes.values += 1
                } catch {
                    outcomes.valueErrors += 1
                }
            }
        }
        // Both accept and reject paths were exercised; a fuzz run that only rejects proves little.
        #expect(outcomes.frames > 0 && outcomes.frameErrors > 0, "seed \(seed): \(outcomes); replay with NAKSHA_FUZZ_SEED=\(seed)")
        #expect(outcomes.valueErrors > 0, "seed \(seed): \(outcomes); replay with NAKSHA_FUZZ_SEED=\(seed)")
    }
}
