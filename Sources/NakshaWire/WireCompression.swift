/// zstd for other layers (snapshots, archives), with the same bounded decompression the
/// frame decoder uses.
public enum WireCompression {
    /// Compresses `bytes` with zstd at `level` (1 fastest … 19 smallest); the output
    /// declares its content size.
    public static func compress(_ bytes: [UInt8], level: Int32 = 3) throws(WireError) -> [UInt8] {
        try Zstd.compress(bytes, level: level)
    }

    /// Decompresses one zstd frame whose declared size must be at most `limit` bytes.
    public static func decompress(_ bytes: [UInt8], limit: Int) throws(WireError) -> [UInt8] {
        try Zstd.decompress(bytes[...], limit: limit)
    }
}
