import ArgumentParser
import Foundation
import NakshaWire

/// `naksha wire inspect`: decode frames from a capture, for debugging a peer.
struct WireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire",
        abstract: "Inspect Naksha wire frames.",
        subcommands: [Inspect.self]
    )

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
    }

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode frames from a binary file, or from hex text on standard input.",
            discussion: "Example: echo '4e 4b 53 48 01 05 00 00 ...' | naksha wire inspect --hex"
        )

        @Argument(help: "A file of raw frame bytes. Omit to read standard input.")
        var file: String?

        @Flag(help: "The input is hex text (spaces and newlines ignored), not raw bytes.")
        var hex = false

        @Option(help: "Largest payload accepted, in bytes.")
        var maxFrameBytes = WireLimits.default.maxFrameBytes

        func run() async throws {
            let raw: Data
            if let file {
                guard let contents = FileManager.default.contents(atPath: file) else {
                    throw ValidationError("cannot read \(file)")
                }
                raw = contents
            } else {
                raw = FileHandle.standardInput.readDataToEndOfFile()
            }
            let bytes = try hex ? Self.parseHex(String(decoding: raw, as: UTF8.self)) : [UInt8](raw)
            guard maxFrameBytes > 0 && maxFrameBytes <= Int(UInt32.max) else {
                throw ValidationError("--max-frame-bytes must be between 1 and \(UInt32.max)")
            }
            var decoder = FrameDecoder(limits: WireLimits(maxFrameBytes: maxFrameBytes))
            decoder.append(bytes)
            var count = 0
            do {
                while let frame = try decoder.nextFrame() {
                    count += 1
                    let preview = WireCommand.hex(frame.payload.prefix(16)) + (frame.payload.count > 16 ? " …" : "")
                    print("frame \(count): kind=\(frame.kind) stream=\(frame.streamID) flags=0x\(String(frame.flags.rawValue, radix: 16)) payload=\(frame.payload.count) bytes [\(preview)]")
                }
                try decoder.finish()
                print("\(count) frame(s), \(bytes.count) bytes, no errors")
            } catch {
                print("after \(count) good frame(s): \(error)")
                throw ExitCode(1)
            }
        }

        static func parseHex(_ text: String) throws -> [UInt8] {
            let digits = text.filter { !$0.isWhitespace }
            guard digits.count % 2 == 0 else { throw ValidationError("hex input has an odd number of digits") }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(digits.count / 2)
            var index = digits.startIndex
            while index < digits.endIndex {
                let next = digits.index(index, offsetBy: 2)
                guard let byte = UInt8(digits[index..<next], radix: 16) else {
                    throw ValidationError("not a hex byte: \"\(digits[index..<next])\"")
                }
                bytes.append(byte)
                index = next
            }
            return bytes
        }
    }
}
