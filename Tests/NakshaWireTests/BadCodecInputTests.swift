import NakshaWire
import Testing

/// Malformed encoded values yield typed `WireError`s, never a crash or a huge allocation.
@Suite struct BadCodecInputTests {
    func code<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], limits: WireLimits = .default) -> WireError.Code? {
        do {
            _ = try BinaryDecoder(limits: limits).decode(T.self, from: bytes)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func overlongVarintIsRejected() {
        #expect(code(UInt64.self, [UInt8](repeating: 0x80, count: 11) + [0]) == .invalidVarint)
    }

    @Test func varintOverflowingSixtyFourBitsIsRejected() {
        #expect(code(UInt64.self, [UInt8](repeating: 0xFF, count: 9) + [0x02]) == .invalidVarint)
    }

    @Test func varintCutShortIsTruncated() {
        #expect(code(UInt64.self, [0x80, 0x80]) == .truncated)
    }

    @Test func valueTooLargeForTheTypeIsOutOfRange() throws {
        #expect(code(UInt32.self, try BinaryEncoder().encode(UInt64(1) << 40)) == .valueOutOfRange)
        #expect(code(Int16.self, try BinaryEncoder().encode(Int64(1) << 20)) == .valueOutOfRange)
    }

    @Test func booleanOtherThanZeroOrOneIsATypeMismatch() {
        #expect(code(Bool.self, [2]) == .typeMismatch)
    }

    @Test func presenceByteOtherThanZeroOrOneIsATypeMismatch() {
        #expect(code(Int?.self, [7, 0]) == .typeMismatch)
    }

    @Test func unknownEnumCaseIsATypeMismatch() {
        #expect(code(Shape.self, [3] + Array("hex".utf8)) == .typeMismatch)
        #expect(code(Color.self, [9]) == .typeMismatch)
    }

    @Test func invalidUTF8IsRejected() {
        #expect(code(String.self, [2, 0xC3, 0x28]) == .invalidUTF8)
    }

    @Test func stringLongerThanTheInputIsTruncatedNotAllocated() {
        #expect(code(String.self, [0x80, 0x80, 0x04, 0x41]) == .truncated)
        #expect(code(String.self, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x41]) == .collectionTooLarge)
    }

    @Test func hugeArrayCountIsRejectedBeforeAllocating() {
        #expect(code([UInt64].self, [0xFF, 0xFF, 0xFF, 0xFF, 0x7F]) == .collectionTooLarge)
        #expect(code([UInt64].self, [0x80, 0x80, 0x04, 1, 2]) == .truncated)
        #expect(code([Float].self, [0x10, 0, 0, 0, 0]) == .truncated)
    }

    @Test func collectionCountOverTheConfiguredLimitIsRejected() throws {
        let bytes = try BinaryEncoder().encode([UInt8](repeating: 1, count: 10).map(Int.init))
        #expect(code([Int].self, bytes, limits: WireLimits(maxCollectionCount: 5)) == .collectionTooLarge)
    }

    @Test func duplicateDictionaryKeyIsRejected() {
        // count 2, "a" → 1, "a" → 2
        #expect(code([String: Int].self, [2, 1, 0x61, 2, 1, 0x61, 4]) == .duplicateKey)
    }

    @Test func trailingBytesAreRejected() throws {
        #expect(code(Int.self, try BinaryEncoder().encode(5) + [0]) == .trailingBytes)
    }

    @Test func deeplyNestedInputIsCutOffAtTheDepthLimit() {
        // `.group(.group(.group(...)))` 10,000 deep: each level is the case name "group".
        let level = [5] + Array("group".utf8)
        let bytes = Array([[UInt8]](repeating: level, count: 10_000).joined())
        #expect(code(Shape.self, bytes) == .nestingTooDeep)
    }

    @Test func truncatedDocumentFailsAtEveryCut() throws {
        let bytes = try BinaryEncoder().encode(Document.sample)
        for cut in 0..<bytes.count {
            #expect(code(Document.self, Array(bytes[..<cut])) != nil, "cut at \(cut)")
        }
    }
}
