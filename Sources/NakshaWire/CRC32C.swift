import CNakshaCRC32C

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 and
/// many storage engines: the CPU's CRC-32C instruction where there is one (SSE4.2 on x86-64,
/// the CRC extension on arm64, checked once at start), slicing-by-8 tables otherwise.
///
/// Contract: `CRC32C.checksum(bytes)` equals the standard CRC-32C (initial value and final
/// XOR 0xFFFFFFFF): `checksum("123456789")` is `0xE3069283`. `update` lets a checksum be
/// computed over several buffers: `finalize(update(update(initial, a), b))`.
public enum CRC32C {
    /// The running value to start from.
    public static let initial: UInt32 = 0xFFFF_FFFF

    /// The checksum of `bytes` in one call.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        finalize(update(initial, bytes))
    }

    /// Folds `bytes` into a running value.
    public static func update(_ running: UInt32, _ bytes: some Sequence<UInt8>) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ update(running, UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return update(running, Array(bytes))
    }

    /// Folds the bytes of a raw buffer into a running value.
    public static func update(_ running: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        if hardwareAvailable, let base = buffer.baseAddress {
            return naksha_crc32c_update_hardware(running, base, buffer.count)
        }
        return softwareUpdate(running, buffer)
    }

    /// Whether `update` uses the CPU's CRC-32C instruction.
    public static let hardwareAvailable = naksha_crc32c_hardware_available() != 0

    /// The portable table implementation; `update` uses it when the CPU has no CRC-32C
    /// instruction. Public so tests can hold the two paths against each other.
    public static func softwareUpdate(_ running: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        var crc = running
        var index = 0
        let count = buffer.count
        tables.withUnsafeBufferPointer { table in
            while count - index >= 8 {
                let low = buffer.loadUnaligned(fromByteOffset: index, as: UInt32.self).littleEndian ^ crc
                let high = buffer.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self).littleEndian
                crc = table[7 * 256 + Int(low & 0xFF)]
                    ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xFF)]
                    ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(high & 0xFF)]
                    ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ table[1 * 256 + Int((high >> 16) & 0xFF)]
                    ^ table[Int(high >> 24)]
                index += 8
            }
            while index < count {
                crc = table[Int((crc ^ UInt32(buffer[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        return crc
    }

    /// Turns a running value into the checksum.
    public static func finalize(_ running: UInt32) -> UInt32 { running ^ 0xFFFF_FFFF }

    /// 8 × 256 lookup tables; table k advances a byte through k further zero bytes.
    private static let tables: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
            }
            table[byte] = crc
        }
        for slice in 1..<8 {
            for byte in 0..<256 {
                let previous = table[(slice - 1) * 256 + byte]
                table[slice * 256 + byte] = (previous >> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        return table
    }()
}
