/// Encodes `Encodable` values into Naksha's compact positional binary format.
///
/// The format (docs/wire.md has the full table): no field names or tags for struct fields —
/// fields are written in the order `encode(to:)` writes them, so both sides must use the same
/// type; integers as (zigzag) varints, floats as little-endian IEEE 754, strings and byte
/// arrays length-prefixed, optionals with a presence byte, arrays with a varint count,
/// dictionaries with a count and pairs sorted by the encoded key (so equal dictionaries give
/// equal bytes), enum cases with the case name before the payload.
///
/// Fast paths: `[UInt8]`, `[Float]` and any `BinaryByteBlock` (NIO's `ByteBuffer`) are
/// copied as one block (one copy each way).
public struct BinaryEncoder: Sendable {
    /// Passed to `Encoder.userInfo` (the actor system puts itself here).
    public var userInfo: [CodingUserInfoKey: any Sendable]

    public init(userInfo: [CodingUserInfoKey: any Sendable] = [:]) {
        self.userInfo = userInfo
    }

    /// The encoded bytes of `value`.
    public func encode<T: Encodable>(_ value: T) throws(WireError) -> [UInt8] {
        var output: [UInt8] = []
        try encode(value, into: &output)
        return output
    }

    /// Appends the encoding of `value` to `output`.
    public func encode<T: Encodable>(_ value: T, into output: inout [UInt8]) throws(WireError) {
        let encoding = BinaryEncoding(userInfo: userInfo)
        swap(&encoding.bytes, &output)
        defer { swap(&encoding.bytes, &output) }
        do {
            try encoding.encodeValue(value)
        } catch let error as WireError {
            throw error
        } catch {
            throw WireError(.unsupportedShape, "cannot encode \(T.self): \(error)")
        }
    }
}

/// The `Encoder` handed to `encode(to:)`; all containers append to its one byte buffer.
final class BinaryEncoding: Encoder {
    var bytes: [UInt8] = []
    let storedUserInfo: [CodingUserInfoKey: any Sendable]
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { storedUserInfo }

    init(userInfo: [CodingUserInfoKey: any Sendable]) {
        self.storedUserInfo = userInfo
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(BinaryKeyedEncodingContainer<Key>(encoding: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        BinaryUnkeyedEncodingContainer(encoding: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        BinarySingleValueEncodingContainer(encoding: self)
    }

    // MARK: Values

    /// Encodes any value, taking the fast paths for the shapes the format knows directly.
    func encodeValue<T: Encodable>(_ value: T) throws {
        // Exact-type checks first: comparing metatypes is a pointer comparison, while a
        // dynamic cast to a protocol is a conformance lookup (a profile of the Raft path had
        // them near the top). `Optional<X>` never equals `X`, so optionals still reach their
        // own case below with their presence byte.
        if T.self == UInt64.self { return writeUnsigned(unsafeBitCast(value, to: UInt64.self)) }
        if T.self == String.self { return writeString(unsafeBitCast(value, to: String.self)) }
        if T.self == [UInt8].self { return writeByteArray(unsafeBitCast(value, to: [UInt8].self)) }
        if T.self == Int.self { return writeSigned(Int64(unsafeBitCast(value, to: Int.self))) }
        if T.self == Bool.self { return writeBool(unsafeBitCast(value, to: Bool.self)) }
        if T.self == Int64.self { return writeSigned(unsafeBitCast(value, to: Int64.self)) }
        if T.self == UInt32.self { return writeUnsigned(UInt64(unsafeBitCast(value, to: UInt32.self))) }
        if T.self == [Float].self { return writeFloatArray(unsafeBitCast(value, to: [Float].self)) }
        if T.self == Double.self { return writeDouble(unsafeBitCast(value, to: Double.self)) }
        if T.self == Float.self { return writeFloat(unsafeBitCast(value, to: Float.self)) }
        switch value {
        case let optional as any BinaryEncodableOptional: try optional.encodeBinary(to: self)
        case let block as any BinaryByteBlock: writeByteBlock(block)
        case let uint as UInt: writeUnsigned(UInt64(uint))
        case let int as Int32: writeSigned(Int64(int))
        case let array as any BinaryEncodableArray: try array.encodeBinary(to: self)
        case let dictionary as any BinaryEncodableDictionary: try dictionary.encodeBinary(to: self)
        default: try value.encode(to: self)
        }
    }

    @inline(__always) func writeBool(_ value: Bool) { bytes.append(value ? 1 : 0) }
    @inline(__always) func writeUnsigned(_ value: UInt64) { Varint.append(value, to: &bytes) }
    @inline(__always) func writeSigned(_ value: Int64) { Varint.append(Varint.zigzag(value), to: &bytes) }
    @inline(__always) func writeFloat(_ value: Float) { bytes.appendLittleEndian(value.bitPattern) }
    @inline(__always) func writeDouble(_ value: Double) { bytes.appendLittleEndian(value.bitPattern) }

    func writeString(_ value: String) {
        var string = value
        string.withUTF8 { utf8 in
            Varint.append(UInt64(utf8.count), to: &bytes)
            bytes.append(contentsOf: utf8)
        }
    }

    func writeByteArray(_ value: [UInt8]) {
        Varint.append(UInt64(value.count), to: &bytes)
        bytes.append(contentsOf: value)
    }

    func writeByteBlock(_ block: some BinaryByteBlock) {
        block.withBinaryBlockBytes { contents in
            Varint.append(UInt64(contents.count), to: &bytes)
            bytes.append(contentsOf: contents)
        }
    }

    func writeFloatArray(_ value: [Float]) {
        Varint.append(UInt64(value.count), to: &bytes)
        #if _endian(little)
        value.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for element in value { bytes.appendLittleEndian(element.bitPattern) }
        #endif
    }

    /// Writes the name of a key (used before nested containers, which is how enum cases
    /// with payloads are told apart).
    func writeKey(_ key: some CodingKey) {
        writeString(key.stringValue)
    }
}

// MARK: - Shapes with their own layout

/// Optionals: a presence byte (0 = nil, 1 = value follows).
protocol BinaryEncodableOptional {
    func encodeBinary(to encoding: BinaryEncoding) throws
}

extension Optional: BinaryEncodableOptional where Wrapped: Encodable {
    func encodeBinary(to encoding: BinaryEncoding) throws {
        switch self {
        case .none:
            encoding.bytes.append(0)
        case .some(let wrapped):
            encoding.bytes.append(1)
            try encoding.encodeValue(wrapped)
        }
    }
}

/// Arrays: a varint count, then the elements.
protocol BinaryEncodableArray {
    func encodeBinary(to encoding: BinaryEncoding) throws
}

extension Array: BinaryEncodableArray where Element: Encodable {
    func encodeBinary(to encoding: BinaryEncoding) throws {
        Varint.append(UInt64(count), to: &encoding.bytes)
        for element in self {
            try encoding.encodeValue(element)
        }
    }
}

/// Dictionaries: a varint count, then key/value pairs sorted by the key's encoded bytes, so
/// that equal dictionaries always encode to equal bytes (replicas compare snapshots).
protocol BinaryEncodableDictionary {
    func encodeBinary(to encoding: BinaryEncoding) throws
}

extension Dictionary: BinaryEncodableDictionary where Key: Encodable, Value: Encodable {
    func encodeBinary(to encoding: BinaryEncoding) throws {
        Varint.append(UInt64(count), to: &encoding.bytes)
        let keyEncoding = BinaryEncoding(userInfo: encoding.storedUserInfo)
        var encodedKeys: [(key: [UInt8], index: Index)] = []
        encodedKeys.reserveCapacity(count)
        var index = startIndex
        while index != endIndex {
            keyEncoding.bytes.removeAll(keepingCapacity: true)
            try keyEncoding.encodeValue(self[index].key)
            encodedKeys.append((keyEncoding.bytes, index))
            index = self.index(after: index)
        }
        encodedKeys.sort { $0.key.lexicographicallyPrecedes($1.key) }
        for entry in encodedKeys {
            encoding.bytes.append(contentsOf: entry.key)
            try encoding.encodeValue(self[entry.index].value)
        }
    }
}
