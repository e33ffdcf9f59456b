/// Writes Postgres' binary COPY format (`COPY … FROM STDIN (FORMAT binary)`).
///
/// Layout (PostgreSQL docs, "COPY — Binary Format"); every integer is big-endian:
/// - header: the 11-byte signature `PGCOPY\n\xff\r\n\0`, a 32-bit flags field (0: no OIDs),
///   a 32-bit header-extension length (0);
/// - each tuple: a 16-bit field count, then per field a 32-bit byte length (-1 for NULL)
///   followed by that many bytes in the column type's binary `send` format;
/// - trailer: a 16-bit -1.
///
/// Invariants: `beginTuple(fieldCount:)` must be followed by exactly that many field
/// appends before the next tuple or the trailer (checked with `precondition`: a mismatch is a
/// bug in the store, not bad input). The writer only builds bytes; the caller drains
/// `buffer` into `PQputCopyData` whenever it exceeds a chunk size.
struct CopyBinaryWriter: Sendable {
    static let signature: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00]

    private(set) var buffer: [UInt8] = []
    private var fieldsLeft = 0

    init(reservingCapacity capacity: Int = 1 << 20) {
        buffer.reserveCapacity(capacity)
    }

    /// Appends the file header; call once, first.
    mutating func writeHeader() {
        buffer.append(contentsOf: Self.signature)
        appendInteger(UInt32(0))  // flags
        appendInteger(UInt32(0))  // header extension length
    }

    mutating func beginTuple(fieldCount: Int) {
        precondition(fieldsLeft == 0, "COPY tuple started before the previous one was complete")
        precondition(fieldCount >= 0 && fieldCount <= Int(Int16.max), "COPY field count out of range")
        appendInteger(UInt16(fieldCount))
        fieldsLeft = fieldCount
    }

    mutating func appendNull() {
        consumeField()
        appendInteger(UInt32(bitPattern: -1))
    }

    /// `text`/`varchar` in binary format is the UTF-8 bytes.
    mutating func appendText(_ value: String) {
        var value = value
        value.withUTF8 { appendField(UnsafeRawBufferPointer($0)) }
    }

    mutating func appendInt32(_ value: Int32) {
        consumeField()
        appendInteger(UInt32(4))
        appendInteger(UInt32(bitPattern: value))
    }

    mutating func appendInt64(_ value: Int64) {
        consumeField()
        appendInteger(UInt32(8))
        appendInteger(UInt64(bitPattern: value))
    }

    mutating func appendBool(_ value: Bool) {
        consumeField()
        appendInteger(UInt32(1))
        buffer.append(value ? 1 : 0)
    }

    /// `jsonb` binary format: a version byte (1) then the JSON text.
    mutating func appendJSONB(_ json: String) {
        consumeField()
        let utf8 = json.utf8
        appendInteger(UInt32(utf8.count + 1))
        buffer.append(1)
        buffer.append(contentsOf: utf8)
    }

    /// `bytea` binary format: the raw bytes.
    mutating func appendBytes(_ bytes: UnsafeRawBufferPointer) {
        appendField(bytes)
    }

    /// A vector as `bytea`: its `Float` values as little-endian IEEE-754 binary32, bit for bit.
    mutating func appendFloatVectorLE(_ vector: [Float]) {
        #if _endian(little)
        vector.withUnsafeBytes { appendField($0) }
        #else
        let bytes = vector.flatMap { value -> [UInt8] in
            withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
        }
        bytes.withUnsafeBytes { appendField($0) }
        #endif
    }

    /// Appends the trailer; call once, last.
    mutating func writeTrailer() {
        precondition(fieldsLeft == 0, "COPY trailer written inside a tuple")
        appendInteger(UInt16(bitPattern: -1))
    }

    /// Hands out the bytes written so far and empties the buffer (keeping its capacity).
    mutating func drain() -> [UInt8] {
        let chunk = buffer
        buffer.removeAll(keepingCapacity: true)
        return chunk
    }

    var count: Int { buffer.count }

    private mutating func appendField(_ bytes: UnsafeRawBufferPointer) {
        consumeField()
        appendInteger(UInt32(bytes.count))
        buffer.append(contentsOf: bytes)
    }

    private mutating func consumeField() {
        precondition(fieldsLeft > 0, "COPY field appended outside a tuple or beyond its field count")
        fieldsLeft -= 1
    }

    private mutating func appendInteger<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0) }
    }
}
