import Foundation

/// Byte-exact golden files: hex text, a fixed number of bytes a line, one file per case.
/// `NAKSHA_REGENERATE_GOLDEN=1` writes them instead of comparing (only on purpose: a change
/// is a format change).
public struct GoldenFile: Sendable {
    public let directory: URL
    public let bytesPerLine: Int

    public init(directory: URL, bytesPerLine: Int) {
        self.directory = directory
        self.bytesPerLine = bytesPerLine
    }

    public func hex(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: bytes.count, by: bytesPerLine).map { start in
            bytes[start..<min(start + bytesPerLine, bytes.count)].map { String(format: "%02x", $0) }.joined(separator: " ")
        }.joined(separator: "\n") + "\n"
    }

    /// The file's text and `bytes` as hex, equal when the golden holds (after writing the
    /// file when regenerating).
    public func compare(_ name: String, _ bytes: [UInt8]) throws -> (expected: String, actual: String) {
        let url = directory.appendingPathComponent("\(name).hex")
        let actual = hex(bytes)
        if ProcessInfo.processInfo.environment["NAKSHA_REGENERATE_GOLDEN"] == "1" {
            try actual.write(to: url, atomically: true, encoding: .utf8)
        }
        return (try String(contentsOf: url, encoding: .utf8), actual)
    }
}
