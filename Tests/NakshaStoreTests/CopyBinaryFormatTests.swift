import Testing
@testable import NakshaStore

@Suite("COPY binary format (no server)")
struct CopyBinaryFormatTests {
    @Test func writerProducesTheDocumentedBytes() {
        var writer = CopyBinaryWriter()
        writer.writeHeader()
        writer.beginTuple(fieldCount: 4)
        writer.appendInt32(-2)
        writer.appendText("é")
        writer.appendNull()
        writer.appendJSONB("{}")
        writer.writeTrailer()
        let expected: [UInt8] = CopyBinaryWriter.signature + [0, 0, 0, 0, 0, 0, 0, 0]
            + [0, 4]
            + [0, 0, 0, 4, 0xFF, 0xFF, 0xFF, 0xFE]
            + [0, 0, 0, 2, 0xC3, 0xA9]
            + [0xFF, 0xFF, 0xFF, 0xFF]
            + [0, 0, 0, 3, 1, 0x7B, 0x7D]
            + [0xFF, 0xFF]
        #expect(writer.buffer == expected)
    }

    @Test func readerDecodesWhatTheWriterWroteForEverySplitPoint() throws {
        var writer = CopyBinaryWriter()
        writer.writeHeader()
        let vector: [Float] = [1.5, -0.0, .nan, Float(bitPattern: 0x7FC0_1234), .infinity, Float.leastNonzeroMagnitude]
        for row in 0..<3 {
            writer.beginTuple(fieldCount: 5)
            writer.appendText("id-\(row)")
            writer.appendInt64(Int64(row) - 1)
            writer.appendFloatVectorLE(vector)
            writer.appendBool(row == 1)
            if row == 2 { writer.appendNull() } else { writer.appendJSONB("{\"k\":\(row)}") }
        }
        writer.writeTrailer()
        let bytes = writer.buffer
        for split in stride(from: 0, through: bytes.count, by: 7) {
            var reader = CopyBinaryReader(operation: "test")
            var tuples: [CopyBinaryReader.Tuple] = []
            for part in [bytes[..<split], bytes[split...]] {
                Array(part).withUnsafeBytes { reader.append($0) }
                while let tuple = try reader.nextTuple() { tuples.append(tuple) }
            }
            #expect(reader.isFinished)
            #expect(tuples.count == 3)
            for (row, tuple) in tuples.enumerated() {
                #expect(try tuple.text(0, operation: "t") == "id-\(row)")
                #expect(try tuple.int64(1, operation: "t") == Int64(row) - 1)
                let decoded = try #require(try tuple.floatVectorLE(2, operation: "t"))
                #expect(decoded.map(\.bitPattern) == vector.map(\.bitPattern))
                #expect(try tuple.bool(3, operation: "t") == (row == 1))
                #expect(try tuple.jsonb(4, operation: "t") == (row == 2 ? nil : "{\"k\":\(row)}"))
            }
        }
    }

    @Test(arguments: [
        [UInt8](repeating: 0x41, count: 19),
        CopyBinaryWriter.signature + [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF],
        CopyBinaryWriter.signature + [0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFE],
        CopyBinaryWriter.signature + [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xF0],
    ])
    func readerRejectsMalformedInputWithATypedError(bytes: [UInt8]) {
        var reader = CopyBinaryReader(operation: "test")
        bytes.withUnsafeBytes { reader.append($0) }
        #expect(throws: StoreError.self) {
            while try reader.nextTuple() != nil {}
        }
    }

    @Test func truncatedTupleIsNotReturnedUntilComplete() throws {
        var writer = CopyBinaryWriter()
        writer.writeHeader()
        writer.beginTuple(fieldCount: 1)
        writer.appendText("hello")
        let bytes = writer.buffer
        var reader = CopyBinaryReader(operation: "test")
        Array(bytes.dropLast()).withUnsafeBytes { reader.append($0) }
        #expect(try reader.nextTuple() == nil)
        [bytes[bytes.count - 1]].withUnsafeBytes { reader.append($0) }
        #expect(try reader.nextTuple()?.text(0, operation: "t") == "hello")
        #expect(!reader.isFinished)
    }
}

@Suite("errors and connection strings (no server)")
struct StoreErrorTests {
    @Test func textParameterWithNULIsRejectedBeforeSending() {
        #expect(throws: StoreError.self) { try PostgresValue.text("a\u{0}b").encoded(index: 0, operation: "t") }
        do {
            _ = try PostgresValue.text("a\u{0}b").encoded(index: 2, operation: "t")
        } catch {
            #expect(error.code == .invalidParameter)
            #expect(error.message.contains("parameter 3"))
        }
    }

    @Test func bytesParameterMayHoldNUL() throws {
        #expect(try PostgresValue.bytes([0, 0, 1]).encoded(index: 0, operation: "t") == [0, 0, 1])
    }

    @Test func codesAreStable() {
        #expect(StoreError.Code.poolTimeout.rawValue == "pool_timeout")
        #expect(StoreError.Code.connectionLost.rawValue == "connection_lost")
        #expect(StoreError.Code.invalidParameter.rawValue == "invalid_parameter")
    }

    @Test func replacingDatabaseKeepsOtherOptionsOfAURL() throws {
        let dsn = try ConnectionString.replacingDatabase(
            in: "postgresql://u:p%27w@db.example:6543/old?sslmode=verify-full", with: "new")
        let options = Dictionary(try ConnectionString.parse(dsn).map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        #expect(options["dbname"] == "new")
        #expect(options["password"] == "p'w")
        #expect(options["sslmode"] == "verify-full")
        #expect(options["port"] == "6543")
    }

    @Test func unparsableConnectionStringIsATypedErrorWithoutTheSecret() {
        do {
            _ = try ConnectionString.parse("host=x password=hunter2 bogus_option=1")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidInput)
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test func redactionHidesPasswords() {
        #expect(redactingSecrets("bad password=hunter2 here") == "bad password=*** here")
        #expect(redactingSecrets("url postgresql://u:hunter2@h/db x") == "url postgresql://***@h/db x")
    }
}
