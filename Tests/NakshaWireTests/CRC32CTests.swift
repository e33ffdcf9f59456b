import NakshaWire
import Testing

@Suite struct CRC32CTests {
    @Test func standardCheckValueMatches() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func emptyInputHasZeroChecksum() {
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test(arguments: [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 1000])
    func incrementalUpdateEqualsOneShot(split: Int) {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let running = CRC32C.update(CRC32C.update(CRC32C.initial, bytes[..<split]), bytes[split...])
        #expect(CRC32C.finalize(running) == CRC32C.checksum(bytes))
    }

    @Test func slicedPathAgreesWithBytewiseReference() {
        var bytes: [UInt8] = []
        for length in 0..<100 {
            bytes.append(UInt8(truncatingIfNeeded: length &* 97))
            var reference: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                reference ^= UInt32(byte)
                for _ in 0..<8 { reference = (reference & 1) != 0 ? (reference >> 1) ^ 0x82F6_3B78 : reference >> 1 }
            }
            #expect(CRC32C.checksum(bytes) == reference ^ 0xFFFF_FFFF, "length \(bytes.count)")
        }
    }

    @Test func hardwareAndSoftwarePathsAgreeAtEveryLengthAndAlignment() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ 17) }
        bytes.withUnsafeBytes { all in
            for offset in 0..<8 {
                for length in 0..<(all.count - offset) {
                    let slice = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)])
                    #expect(CRC32C.update(CRC32C.initial, slice) == CRC32C.softwareUpdate(CRC32C.initial, slice))
                }
            }
        }
    }
}
