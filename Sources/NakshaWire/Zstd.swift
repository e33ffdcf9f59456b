import CZstd

/// The thin libzstd shell used for frame payloads.
///
/// Invariant: `decompress` never allocates more than `limit` bytes, whatever the input
/// declares, and fails with a `WireError` instead of trapping on any input.
enum Zstd {
    /// Compresses `input` at `level` (1 = fastest). Always writes the content size into the
    /// zstd frame header so that the receiver can check it before allocating.
    static func compress(_ input: [UInt8], level: Int32) throws(WireError) -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var output = [UInt8](repeating: 0, count: bound)
        let written = output.withUnsafeMutableBytes { destination in
            input.withUnsafeBytes { source in
                ZSTD_compress(destination.baseAddress, destination.count, source.baseAddress, source.count, level)
            }
        }
        if ZSTD_isError(written) != 0 {
            throw WireError(.compressionFailed, "zstd compression failed: \(errorName(written))")
        }
        output.removeSubrange(written...)
        return output
    }

    /// Decompresses one zstd frame whose declared content size must be at most `limit`.
    static func decompress(_ input: ArraySlice<UInt8>, limit: Int) throws(WireError) -> [UInt8] {
        let declared = input.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        // ZSTD_CONTENTSIZE_UNKNOWN = UInt64.max, ZSTD_CONTENTSIZE_ERROR = UInt64.max - 1.
        if declared == UInt64.max - 1 {
            throw WireError(.decompressionFailed, "compressed payload is not a zstd frame")
        }
        if declared == UInt64.max {
            throw WireError(.decompressionFailed, "compressed payload does not declare its size")
        }
        if declared > UInt64(limit) {
            throw WireError(
                .decompressedTooLarge,
                "compressed payload declares \(declared) bytes, over the limit of \(limit)"
            )
        }
        let size = Int(declared)
        var output = [UInt8](repeating: 0, count: size)
        let written = output.withUnsafeMutableBytes { destination in
            input.withUnsafeBytes { source in
                ZSTD_decompress(destination.baseAddress, destination.count, source.baseAddress, source.count)
            }
        }
        if ZSTD_isError(written) != 0 {
            throw WireError(.decompressionFailed, "zstd decompression failed: \(errorName(written))")
        }
        if written != size {
            throw WireError(.decompressionFailed, "zstd frame declared \(size) bytes but produced \(written)")
        }
        return output
    }

    private static func errorName(_ code: Int) -> String {
        guard let name = ZSTD_getErrorName(code) else { return "code \(code)" }
        return String(cString: name)
    }
}
