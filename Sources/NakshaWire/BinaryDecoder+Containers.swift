/// Keyed container: reads fields in call order (positional); `contains` is always true.
///
/// `allKeys` is only meaningful for enums: it reads (and remembers) the case name that
/// `nestedContainer(keyedBy:forKey:)` wrote, which is how synthesized enum decoding finds
/// the case. Hand-written `init(from:)` that iterates `allKeys` of a struct is not supported
/// by a positional format.
final class BinaryKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoding: BinaryDecoding
    private var peekedKey: (name: String, end: Int)? = nil
    var codingPath: [any CodingKey] { [] }

    init(decoding: BinaryDecoding) {
        self.decoding = decoding
    }

    var allKeys: [Key] {
        guard let name = peekKeyName(), let key = Key(stringValue: name) else { return [] }
        return [key]
    }

    private func peekKeyName() -> String? {
        if let peekedKey { return peekedKey.name }
        let start = decoding.index
        defer { decoding.index = start }
        guard let name = try? decoding.readString() else { return nil }
        peekedKey = (name, decoding.index)
        return name
    }

    func contains(_ key: Key) -> Bool { true }

    /// Always `false`: the encoder refuses `encodeNil(forKey:)`, so no explicit nil exists
    /// in valid input (optional fields use `decodeIfPresent`).
    func decodeNil(forKey key: Key) throws -> Bool { false }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decoding.readBool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decoding.readString() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decoding.readDouble() }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decoding.readFloat() }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decoding.readSigned(Int.self) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { Int8(bitPattern: try decoding.readByte()) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decoding.readSigned(Int16.self) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decoding.readSigned(Int32.self) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decoding.readSigned(Int64.self) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decoding.readUnsigned(UInt.self) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decoding.readByte() }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decoding.readUnsigned(UInt16.self) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decoding.readUnsigned(UInt32.self) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decoding.readUnsigned(UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decoding.decodeValue(T.self) }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try decoding.decodeValue(T?.self)
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try decoding.decodeValue(Bool?.self) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try decoding.decodeValue(String?.self) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try decoding.decodeValue(Double?.self) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try decoding.decodeValue(Float?.self) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try decoding.decodeValue(Int?.self) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try decoding.decodeValue(Int8?.self) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try decoding.decodeValue(Int16?.self) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try decoding.decodeValue(Int32?.self) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try decoding.decodeValue(Int64?.self) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try decoding.decodeValue(UInt?.self) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try decoding.decodeValue(UInt8?.self) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try decoding.decodeValue(UInt16?.self) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try decoding.decodeValue(UInt32?.self) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try decoding.decodeValue(UInt64?.self) }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        let name: String
        if let peekedKey, peekedKey.end > decoding.index {
            name = peekedKey.name
            decoding.index = peekedKey.end
        } else {
            name = try decoding.readString()
        }
        peekedKey = nil
        if name != key.stringValue {
            throw WireError(.typeMismatch, "expected case or key \"\(key.stringValue)\", found \"\(name)\"")
        }
        return KeyedDecodingContainer(BinaryKeyedDecodingContainer<NestedKey>(decoding: decoding))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try BinaryUnkeyedDecodingContainer(decoding: decoding)
    }

    func superDecoder() throws -> any Decoder { decoding }
    func superDecoder(forKey key: Key) throws -> any Decoder { decoding }
}

/// Unkeyed container for hand-written `init(from:)`: a 4-byte little-endian count, then
/// the elements, each behind a presence byte (the layout `BinaryUnkeyedEncodingContainer`
/// writes).
struct BinaryUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let decoding: BinaryDecoding
    let declaredCount: Int
    private(set) var currentIndex = 0
    var codingPath: [any CodingKey] { [] }
    var count: Int? { declaredCount }
    var isAtEnd: Bool { currentIndex >= declaredCount }

    init(decoding: BinaryDecoding) throws {
        self.decoding = decoding
        let raw = try decoding.readFixed(UInt32.self)
        self.declaredCount = try decoding.checkCount(UInt64(raw), minimumBytesEach: 0)
    }

    private mutating func next() throws {
        guard !isAtEnd else {
            throw WireError(.truncated, "read past the \(declaredCount) elements of an unkeyed container")
        }
        guard try decoding.readPresence() else {
            throw WireError(.typeMismatch, "unkeyed element \(currentIndex) is nil where a value was expected")
        }
        currentIndex += 1
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if decoding.peekByte() == 0 {
            decoding.index += 1
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next()
        return try decoding.decodeValue(T.self)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next()
        return KeyedDecodingContainer(BinaryKeyedDecodingContainer<NestedKey>(decoding: decoding))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next()
        return try BinaryUnkeyedDecodingContainer(decoding: decoding)
    }

    mutating func superDecoder() throws -> any Decoder {
        try next()
        return decoding
    }
}

/// Single-value container: the value itself, nothing around it.
struct BinarySingleValueDecodingContainer: SingleValueDecodingContainer {
    let decoding: BinaryDecoding
    var codingPath: [any CodingKey] { [] }

    /// Always `false`: the encoder refuses single-value `encodeNil()`.
    func decodeNil() -> Bool { false }

    func decode(_ type: Bool.Type) throws -> Bool { try decoding.readBool() }
    func decode(_ type: String.Type) throws -> String { try decoding.readString() }
    func decode(_ type: Double.Type) throws -> Double { try decoding.readDouble() }
    func decode(_ type: Float.Type) throws -> Float { try decoding.readFloat() }
    func decode(_ type: Int.Type) throws -> Int { try decoding.readSigned(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { Int8(bitPattern: try decoding.readByte()) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoding.readSigned(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoding.readSigned(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoding.readSigned(Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try decoding.readUnsigned(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoding.readByte() }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoding.readUnsigned(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoding.readUnsigned(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoding.readUnsigned(UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoding.decodeValue(T.self) }
}
