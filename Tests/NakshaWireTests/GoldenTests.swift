import Foundation
import NakshaTestSupport
import NakshaWire
import Testing

/// Byte-exact frames and values, one file per case in `Golden/` (hex, 32 bytes a line).
///
/// A change here is a wire-format change: peers of different versions stop understanding
/// each other. Regenerate only on purpose, with `NAKSHA_REGENERATE_GOLDEN=1 swift test
/// --filter GoldenTests`, and bump `FrameHeader.version` when the layout changes.
@Suite struct GoldenTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static let frameCases: [(name: String, frame: Frame, encoder: FrameEncoder)] = {
        let plain = FrameEncoder(compressionThreshold: .max)
        let text = Array("naksha".utf8)
        var cases: [(String, Frame, FrameEncoder)] = FrameKind.allCases.map { kind in
            ("frame-\(kind)", Frame(kind: kind, streamID: UInt64(kind.rawValue) << 32 | 0x0102, payload: text), plain)
        }
        cases.append(("frame-empty-payload", Frame(kind: .ping, streamID: 0), plain))
        cases.append(("frame-end-of-stream", Frame(kind: .response, flags: .endOfStream, streamID: 9, payload: [0xFF]), plain))
        cases.append((
            "frame-compressed",
            Frame(kind: .reply, streamID: 1, payload: Array(String(repeating: "raft ", count: 100).utf8)),
            FrameEncoder(compressionThreshold: 64)
        ))
        return cases
    }()

    static let golden = GoldenFile(directory: directory, bytesPerLine: 32)

    static func hex(_ bytes: [UInt8]) -> String { golden.hex(bytes) }

    static func check(_ name: String, _ bytes: [UInt8]) throws {
        let (expected, actual) = try golden.compare(name, bytes)
        #expect(actual == expected, "golden \(name).hex differs: the wire format changed")
    }

    @Test func framesMatchTheirGoldenBytes() throws {
        for testCase in Self.frameCases {
            try Self.check(testCase.name, try testCase.encoder.encode(testCase.frame))
        }
    }

    @Test func goldenFramesDecodeBackToTheirFrames() throws {
        for testCase in Self.frameCases {
            let text = try String(contentsOf: Self.directory.appendingPathComponent("\(testCase.name).hex"), encoding: .utf8)
            let bytes = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt8($0, radix: 16) }
            var decoder = FrameDecoder()
            decoder.append(bytes)
            #expect(try decoder.nextFrame() == testCase.frame, "\(testCase.name)")
        }
    }

    @Test func valuesMatchTheirGoldenBytes() throws {
        try Self.check("value-document", try BinaryEncoder().encode(Document.sample))
        try Self.check("value-shapes", try BinaryEncoder().encode(Document.sample.shapes))
        try Self.check("value-dictionary", try BinaryEncoder().encode(["b": 2, "a": 1, "c": 3]))
    }
}
