import NakshaCore
import NakshaWire
import Testing

@Suite struct BinaryCodecTests {
    func roundTrip<T: Codable & Equatable>(_ value: T) throws -> [UInt8] {
        let bytes = try BinaryEncoder().encode(value)
        let decoded = try BinaryDecoder().decode(T.self, from: bytes)
        #expect(decoded == value)
        return bytes
    }

    @Test func nestedDocumentRoundTrips() throws {
        _ = try roundTrip(Document.sample)
    }

    @Test func enumsWithPayloadsRoundTrip() throws {
        for shape in Document.sample.shapes { _ = try roundTrip(shape) }
        _ = try roundTrip([Color.red, .green, .blue])
    }

    @Test func optionalsKeepTheirPresence() throws {
        _ = try roundTrip(Int?.none)
        _ = try roundTrip(Int?.some(0))
        _ = try roundTrip(Int??.some(.none))
        _ = try roundTrip([String?]([nil, "x", nil]))
    }

    @Test func handWrittenUnkeyedEncodingRoundTrips() throws {
        _ = try roundTrip(Triple(a: -5, b: nil, c: [9, 9]))
        _ = try roundTrip(Triple(a: 1 << 40, b: "b", c: []))
        _ = try roundTrip([Triple(a: 0, b: "", c: [0])])
    }

    @Test func explicitNilOutsideAnOptionalIsRefusedAtEncoding() {
        struct ExplicitNil: Encodable {
            enum CodingKeys: CodingKey { case value }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encodeNil(forKey: .value)
            }
        }
        #expect(throws: WireError.self) { try BinaryEncoder().encode(ExplicitNil()) }
    }

    @Test(arguments: [Int64.min, -129, -1, 0, 1, 63, 64, 127, 128, 300, 1 << 35, Int64.max])
    func signedIntegersRoundTrip(value: Int64) throws {
        _ = try roundTrip(value)
        _ = try roundTrip(Int(value))
    }

    @Test(arguments: [UInt64.min, 1, 127, 128, 16383, 16384, UInt64(UInt32.max), UInt64.max])
    func unsignedIntegersRoundTripAsVarints(value: UInt64) throws {
        let bytes = try roundTrip(value)
        let expectedLength = value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
        #expect(bytes.count == expectedLength)
    }

    @Test(arguments: [0, 1, 127, 128, 1000, 64 << 10, 1 << 20, 16 << 20])
    func byteArraysRoundTripAtEverySize(size: Int) throws {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let bytes = try roundTrip(payload)
        #expect(bytes.count == size + (size == 0 ? 1 : (64 - UInt64(size).leadingZeroBitCount + 6) / 7))
    }

    @Test func floatArraysAreOneBlockOfLittleEndianFloats() throws {
        let floats: [Float] = [1, -2, .nan, .leastNonzeroMagnitude]
        let bytes = try BinaryEncoder().encode(floats)
        #expect(bytes.count == 1 + 16)
        let decoded = try BinaryDecoder().decode([Float].self, from: bytes)
        #expect(decoded.map(\.bitPattern) == floats.map(\.bitPattern))
    }

    @Test func equalDictionariesEncodeToEqualBytes() throws {
        var first: [String: Int] = [:]
        var second: [String: Int] = [:]
        let keys = (0..<200).map { "key-\($0)" }
        for key in keys { first[key] = key.count }
        for key in keys.reversed() { second[key] = key.count }
        #expect(try BinaryEncoder().encode(first) == BinaryEncoder().encode(second))
    }

    @Test func structFieldsCarryNoNames() throws {
        #expect(try BinaryEncoder().encode(Point(x: 1, y: -1)) == [2, 1])
    }

    @Test func enumCaseNameIsWrittenBeforeThePayload() throws {
        #expect(try BinaryEncoder().encode(Shape.point) == [5] + Array("point".utf8))
    }

    @Test func randomDocumentsRoundTrip() throws {
        var random = SeededGenerator(seed: 20_261_128)
        for _ in 0..<200 {
            var document = Document.sample
            document.id = random.next()
            document.title = String(repeating: "ß", count: Int(random.next(below: 50)))
            document.blob = (0..<Int(random.next(below: 300))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            document.parent = random.next(below: 2) == 0 ? nil : random.next()
            document.extremes = (0..<Int(random.next(below: 20))).map { _ in Int64(bitPattern: random.next()) }
            _ = try roundTrip(document)
        }
    }
}
