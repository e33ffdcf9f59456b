/// Reads Postgres' binary COPY format (`COPY … TO STDOUT (FORMAT binary)`) incrementally.
///
/// Bytes arrive in arbitrary chunks (`PQgetCopyData` returns one CopyData message at a time,
/// and a message boundary need not match a tuple boundary); `append(_:)` adds them and
/// `nextTuple()` returns complete tuples as they become available. The layout is the one
/// `CopyBinaryWriter` documents.
///
/// Invariants: the header is validated before any tuple is returned; a tuple is returned
/// only when all of its bytes are present; after the trailer `isFinished` is true and any
/// further tuple data is a `protocolViolation`. Nothing here traps on malformed input.
struct CopyBinaryReader: Sendable {
    /// One field's bytes as a range into `Tuple.storage`, or `nil` for NULL.
    struct Tuple: Sendable {
        let storage: [UInt8]
        let fields: [Range<Int>?]
    }

    private var buffer: [UInt8] = []
    private var position = 0
    private var headerRead = false
    private(set) var isFinished = false
    let operation: String

    init(operation: String) {
        self.operation = operation
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if position > 0 && position >= buffer.count / 2 {
            buffer.removeFirst(position)
            position = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete tuple, or `nil` if more bytes are needed or the trailer was read.
    mutating func nextTuple() throws(StoreError) -> Tuple? {
        if !headerRead {
            guard try readHeader() else { return nil }
        }
        guard !isFinished, let count = peekInt16(at: position) else { return nil }
        if count == -1 {
            isFinished = true
            position += 2
            return nil
        }
        guard count >= 0 else { throw violation("negative field count \(count)") }
        var cursor = position + 2
        var fields: [Range<Int>?] = []
        fields.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let length = peekInt32(at: cursor) else { return nil }
            cursor += 4
            if length == -1 {
                fields.append(nil)
                continue
            }
            guard length >= 0 else { throw violation("negative field length \(length)") }
            guard buffer.count - cursor >= Int(length) else { return nil }
            fields.append((cursor - position)..<(cursor - position + Int(length)))
            cursor += Int(length)
        }
        let storage = Array(buffer[position..<cursor])
        position = cursor
        return Tuple(storage: storage, fields: fields)
    }

    /// Whether unread bytes remain (after the trailer this means trailing garbage).
    var hasUnreadBytes: Bool { position < buffer.count }

    private mutating func readHeader() throws(StoreError) -> Bool {
        let fixed = CopyBinaryWriter.signature.count + 8
        guard buffer.count - position >= fixed else { return false }
        guard Array(buffer[position..<(position + CopyBinaryWriter.signature.count)]) == CopyBinaryWriter.signature else {
            throw violation("missing PGCOPY signature")
        }
        guard let extensionLength = peekInt32(at: position + CopyBinaryWriter.signature.count + 4),
              extensionLength >= 0
        else { throw violation("bad header extension length") }
        guard buffer.count - position >= fixed + Int(extensionLength) else { return false }
        position += fixed + Int(extensionLength)
        headerRead = true
        return true
    }

    private func peekInt16(at offset: Int) -> Int16? {
        guard buffer.count - offset >= 2 else { return nil }
        return Int16(bitPattern: UInt16(buffer[offset]) << 8 | UInt16(buffer[offset + 1]))
    }

    private func peekInt32(at offset: Int) -> Int32? {
        guard buffer.count - offset >= 4 else { return nil }
        var value: UInt32 = 0
        for index in 0..<4 { value = value << 8 | UInt32(buffer[offset + index]) }
        return Int32(bitPattern: value)
    }

    private func violation(_ what: String) -> StoreError {
        StoreError(
            code: .protocolViolation, operation: operation,
            message: "COPY binary data from the server is malformed: \(what)")
    }
}

extension CopyBinaryReader.Tuple {
    var fieldCount: Int { fields.count }

    func isNull(_ index: Int) -> Bool { index < fields.count && fields[index] == nil }

    func bytes(_ index: Int, operation: String) throws(StoreError) -> ArraySlice<UInt8>? {
        guard index < fields.count else {
            throw StoreError(
                code: .protocolViolation, operation: operation,
                message: "COPY tuple has \(fields.count) fields; expected at least \(index + 1)")
        }
        return fields[index].map { storage[$0] }
    }

    func text(_ index: Int, operation: String) throws(StoreError) -> String? {
        try bytes(index, operation: operation).map { String(decoding: $0, as: UTF8.self) }
    }

    func int32(_ index: Int, operation: String) throws(StoreError) -> Int32? {
        try integer(index, operation: operation, as: UInt32.self).map { Int32(bitPattern: $0) }
    }

    func int64(_ index: Int, operation: String) throws(StoreError) -> Int64? {
        try integer(index, operation: operation, as: UInt64.self).map { Int64(bitPattern: $0) }
    }

    func bool(_ index: Int, operation: String) throws(StoreError) -> Bool? {
        guard let field = try bytes(index, operation: operation) else { return nil }
        guard field.count == 1 else { throw lengthError(index, expected: 1, got: field.count, operation: operation) }
        return field[field.startIndex] != 0
    }

    /// `jsonb` binary: version byte 1, then JSON text.
    func jsonb(_ index: Int, operation: String) throws(StoreError) -> String? {
        guard let field = try bytes(index, operation: operation) else { return nil }
        guard field.first == 1 else {
            throw StoreError(code: .protocolViolation, operation: operation, message: "unknown jsonb binary version")
        }
        return String(decoding: field.dropFirst(), as: UTF8.self)
    }

    /// A `bytea` holding little-endian binary32 values, decoded bit for bit.
    func floatVectorLE(_ index: Int, operation: String) throws(StoreError) -> [Float]? {
        guard let field = try bytes(index, operation: operation) else { return nil }
        guard field.count % 4 == 0 else {
            throw StoreError(
                code: .protocolViolation, operation: operation,
                message: "vector bytea has \(field.count) bytes, not a multiple of 4")
        }
        let count = field.count / 4
        return [Float](unsafeUninitializedCapacity: count) { output, initialized in
            field.withUnsafeBytes { raw in
                for element in 0..<count {
                    let bits = raw.loadUnaligned(fromByteOffset: element * 4, as: UInt32.self)
                    output[element] = Float(bitPattern: UInt32(littleEndian: bits))
                }
            }
            initialized = count
        }
    }

    private func integer<T: FixedWidthInteger>(_ index: Int, operation: String, as: T.Type) throws(StoreError) -> T? {
        guard let field = try bytes(index, operation: operation) else { return nil }
        guard field.count == MemoryLayout<T>.size else {
            throw lengthError(index, expected: MemoryLayout<T>.size, got: field.count, operation: operation)
        }
        var value: T = 0
        for byte in field { value = value << 8 | T(byte) }
        return value
    }

    private func lengthError(_ index: Int, expected: Int, got: Int, operation: String) -> StoreError {
        StoreError(
            code: .protocolViolation, operation: operation,
            message: "COPY field \(index) has \(got) bytes; expected \(expected)")
    }
}
