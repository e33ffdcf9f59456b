/// Keyed container: fields are written in call order with no names (positional).
struct BinaryKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoding: BinaryEncoding
    var codingPath: [any CodingKey] { [] }

    /// A positional format cannot tell an explicit nil from a value that starts with a zero
    /// byte; optional fields go through `encodeIfPresent`, which writes a presence byte.
    mutating func encodeNil(forKey key: Key) throws {
        throw WireError(.unsupportedShape, "encodeNil(forKey: \(key.stringValue)) is not supported; use encodeIfPresent")
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws { encoding.writeBool(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { encoding.writeString(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { encoding.writeDouble(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { encoding.writeFloat(value) }
    mutating func encode(_ value: Int, forKey key: Key) throws { encoding.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { encoding.bytes.append(UInt8(bitPattern: value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { encoding.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { encoding.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { encoding.writeSigned(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { encoding.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { encoding.bytes.append(value) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { encoding.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { encoding.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { encoding.writeUnsigned(value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try encoding.encodeValue(value) }

    // Synthesized code skips nil optionals entirely; positional decoding needs a presence byte.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        try encoding.encodeValue(value)
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encoding.encodeValue(value) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encoding.encodeValue(value) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try encoding.encodeValue(value) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try encoding.encodeValue(value) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encoding.encodeValue(value) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try encoding.encodeValue(value) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try encoding.encodeValue(value) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try encoding.encodeValue(value) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try encoding.encodeValue(value) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try encoding.encodeValue(value) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try encoding.encodeValue(value) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try encoding.encodeValue(value) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try encoding.encodeValue(value) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try encoding.encodeValue(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        encoding.writeKey(key)
        return KeyedEncodingContainer(BinaryKeyedEncodingContainer<NestedKey>(encoding: encoding))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        BinaryUnkeyedEncodingContainer(encoding: encoding)
    }

    mutating func superEncoder() -> any Encoder { encoding }
    mutating func superEncoder(forKey key: Key) -> any Encoder { encoding }
}

/// Unkeyed container for types with a hand-written `encode(to:)`: a fixed 4-byte
/// little-endian element count, patched in place after every element (containers have no
/// "finished" callback), then the elements, each behind a presence byte (0 = nil, 1 = value)
/// so that `decodeNil()` is unambiguous. Arrays do not come here; they use a varint count.
struct BinaryUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let encoding: BinaryEncoding
    let countOffset: Int
    private(set) var count: Int = 0
    var codingPath: [any CodingKey] { [] }

    init(encoding: BinaryEncoding) {
        self.encoding = encoding
        self.countOffset = encoding.bytes.count
        encoding.bytes.append(contentsOf: [0, 0, 0, 0])
    }

    private mutating func didAppend() {
        count += 1
        let value = UInt32(truncatingIfNeeded: count)
        encoding.bytes[countOffset] = UInt8(truncatingIfNeeded: value)
        encoding.bytes[countOffset + 1] = UInt8(truncatingIfNeeded: value >> 8)
        encoding.bytes[countOffset + 2] = UInt8(truncatingIfNeeded: value >> 16)
        encoding.bytes[countOffset + 3] = UInt8(truncatingIfNeeded: value >> 24)
    }

    mutating func encodeNil() throws {
        encoding.bytes.append(0)
        didAppend()
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        encoding.bytes.append(1)
        try encoding.encodeValue(value)
        didAppend()
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        encoding.bytes.append(1)
        didAppend()
        return KeyedEncodingContainer(BinaryKeyedEncodingContainer<NestedKey>(encoding: encoding))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        encoding.bytes.append(1)
        didAppend()
        return BinaryUnkeyedEncodingContainer(encoding: encoding)
    }

    mutating func superEncoder() -> any Encoder {
        encoding.bytes.append(1)
        didAppend()
        return encoding
    }
}

/// Single-value container: the value's own encoding, nothing around it.
struct BinarySingleValueEncodingContainer: SingleValueEncodingContainer {
    let encoding: BinaryEncoding
    var codingPath: [any CodingKey] { [] }

    /// Unsupported for the reason given on `BinaryKeyedEncodingContainer.encodeNil(forKey:)`.
    mutating func encodeNil() throws {
        throw WireError(.unsupportedShape, "single-value encodeNil() is not supported; encode an Optional instead")
    }
    mutating func encode(_ value: Bool) throws { encoding.writeBool(value) }
    mutating func encode(_ value: String) throws { encoding.writeString(value) }
    mutating func encode(_ value: Double) throws { encoding.writeDouble(value) }
    mutating func encode(_ value: Float) throws { encoding.writeFloat(value) }
    mutating func encode(_ value: Int) throws { encoding.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int8) throws { encoding.bytes.append(UInt8(bitPattern: value)) }
    mutating func encode(_ value: Int16) throws { encoding.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int32) throws { encoding.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int64) throws { encoding.writeSigned(value) }
    mutating func encode(_ value: UInt) throws { encoding.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { encoding.bytes.append(value) }
    mutating func encode(_ value: UInt16) throws { encoding.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { encoding.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { encoding.writeUnsigned(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try encoding.encodeValue(value) }
}
