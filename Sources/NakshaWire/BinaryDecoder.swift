/// Decodes values written by `BinaryEncoder`.
///
/// Invariants: every length is checked against the bytes that remain (and against
/// `limits`) before anything is allocated; nesting is bounded by `limits.maxNestingDepth`;
/// every failure — including a `DecodingError` thrown by a type's own `init(from:)` — comes
/// out as a `WireError`; the whole input must be consumed (`.trailingBytes` otherwise).
public struct BinaryDecoder: Sendable {
    /// Passed to `Decoder.userInfo` (the actor system puts itself here).
    public var userInfo: [CodingUserInfoKey: any Sendable]
    /// Bounds on counts and nesting.
    public var limits: WireLimits

    public init(userInfo: [CodingUserInfoKey: any Sendable] = [:], limits: WireLimits = .default) {
        self.userInfo = userInfo
        self.limits = limits
    }

    /// Decodes one `T` that must span all of `bytes`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(WireError) -> T {
        do {
            return try bytes.withUnsafeBytes { raw in
                let decoding = BinaryDecoding(bytes: raw, userInfo: userInfo, limits: limits)
                let value = try decoding.decodeValue(T.self)
                if decoding.index != raw.count {
                    throw WireError(.trailingBytes, "\(raw.count - decoding.index) bytes left after decoding \(T.self)")
                }
                return value
            }
        } catch let error as WireError {
            throw error
        } catch let error as DecodingError {
            throw WireError(.typeMismatch, "cannot decode \(T.self): \(Self.describe(error))")
        } catch {
            throw WireError(.typeMismatch, "cannot decode \(T.self): \(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context),
            .keyNotFound(_, let context), .dataCorrupted(let context):
            return context.debugDescription
        @unknown default:
            return "\(error)"
        }
    }
}

/// The `Decoder` handed to `init(from:)`. It reads from a raw buffer that outlives it (the
/// caller's `withUnsafeBytes` scope); it must not escape `BinaryDecoder.decode`.
final class BinaryDecoding: Decoder {
    let bytes: UnsafeRawBufferPointer
    var index = 0
    var depth = 0
    let limits: WireLimits
    let storedUserInfo: [CodingUserInfoKey: any Sendable]
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { storedUserInfo }

    init(bytes: UnsafeRawBufferPointer, userInfo: [CodingUserInfoKey: any Sendable], limits: WireLimits) {
        self.bytes = bytes
        self.storedUserInfo = userInfo
        self.limits = limits
    }

    var remaining: Int { bytes.count - index }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(BinaryKeyedDecodingContainer<Key>(decoding: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try BinaryUnkeyedDecodingContainer(decoding: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        BinarySingleValueDecodingContainer(decoding: self)
    }

    // MARK: Values

    /// Decodes any value, taking the fast paths that mirror `BinaryEncoding.encodeValue`.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        depth += 1
        defer { depth -= 1 }
        if depth > limits.maxNestingDepth {
            throw WireError(.nestingTooDeep, "values nested deeper than \(limits.maxNestingDepth)")
        }
        // Exact-type checks first: comparing metatypes is a pointer comparison, while the
        // protocol checks below are conformance lookups (a profile of the Raft path showed
        // them near the top). `Optional<X>` never equals `X`, so the order is safe.
        if T.self == UInt64.self { return same(try readUnsigned(UInt64.self)) }
        if T.self == String.self { return same(try readString()) }
        if T.self == [UInt8].self { return same(try readByteArray()) }
        if T.self == Int.self { return same(try readSigned(Int.self)) }
        if T.self == Bool.self { return same(try readBool()) }
        if T.self == Int64.self { return same(try readSigned(Int64.self)) }
        if T.self == UInt32.self { return same(try readUnsigned(UInt32.self)) }
        if T.self == [Float].self { return same(try readFloatArray()) }
        if T.self == Double.self { return same(try readDouble()) }
        if T.self == Float.self { return same(try readFloat()) }
        if let optional = T.self as? any BinaryDecodableOptional.Type {
            return try cast(optional.decodeBinary(from: self))
        }
        if let block = T.self as? any BinaryByteBlock.Type { return try cast(block.init(binaryBlockBytes: readByteSpan())) }
        if let array = T.self as? any BinaryDecodableArray.Type {
            return try cast(array.decodeBinary(from: self))
        }
        if let dictionary = T.self as? any BinaryDecodableDictionary.Type {
            return try cast(dictionary.decodeBinary(from: self))
        }
        return try T(from: self)
    }

    /// `value` as `T`, which the caller has checked to be exactly `U`.
    @inline(__always) private func same<U, T>(_ value: U) -> T {
        unsafeBitCast(value, to: T.self)
    }

    private func cast<T>(_ value: Any) throws -> T {
        guard let typed = value as? T else {
            throw WireError(.typeMismatch, "internal: decoded \(type(of: value)) where \(T.self) was expected")
        }
        return typed
    }

    func readByte() throws -> UInt8 {
        guard index < bytes.count else {
            throw WireError(.truncated, "input ended where a byte was expected")
        }
        defer { index += 1 }
        return bytes[index]
    }

    func readBool() throws -> Bool {
        switch try readByte() {
        case 0: return false
        case 1: return true
        case let other: throw WireError(.typeMismatch, "boolean byte must be 0 or 1, found \(other)")
        }
    }

    func readUnsigned<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) throws -> T {
        let raw = try Varint.read(from: bytes, at: &index)
        guard let value = T(exactly: raw) else {
            throw WireError(.valueOutOfRange, "\(raw) does not fit in \(T.self)")
        }
        return value
    }

    func readSigned<T: FixedWidthInteger & SignedInteger>(_: T.Type) throws -> T {
        let raw = Varint.unzigzag(try Varint.read(from: bytes, at: &index))
        guard let value = T(exactly: raw) else {
            throw WireError(.valueOutOfRange, "\(raw) does not fit in \(T.self)")
        }
        return value
    }

    func readFixed<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else {
            throw WireError(.truncated, "input ended inside a \(size)-byte value")
        }
        defer { index += size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: T.self))
    }

    func readFloat() throws -> Float { Float(bitPattern: try readFixed(UInt32.self)) }
    func readDouble() throws -> Double { Double(bitPattern: try readFixed(UInt64.self)) }

    /// Reads a varint element count and checks that `count × minimumBytesEach` bytes remain
    /// and that the count is within `limits.maxCollectionCount`.
    func readCount(minimumBytesEach: Int) throws -> Int {
        let raw = try Varint.read(from: bytes, at: &index)
        return try checkCount(raw, minimumBytesEach: minimumBytesEach)
    }

    func checkCount(_ raw: UInt64, minimumBytesEach: Int) throws -> Int {
        if raw > UInt64(limits.maxCollectionCount) {
            throw WireError(.collectionTooLarge, "collection declares \(raw) elements, over the limit of \(limits.maxCollectionCount)")
        }
        let count = Int(raw)
        let (needed, overflow) = count.multipliedReportingOverflow(by: minimumBytesEach)
        if overflow || needed > remaining {
            throw WireError(.truncated, "collection declares \(count) elements but only \(remaining) bytes remain")
        }
        return count
    }

    func readByteSpan() throws -> UnsafeRawBufferPointer {
        let count = try readCount(minimumBytesEach: 1)
        defer { index += count }
        return UnsafeRawBufferPointer(rebasing: bytes[index..<(index + count)])
    }

    func readString() throws -> String {
        let span = try readByteSpan()
        guard let string = String(validating: span.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw WireError(.invalidUTF8, "string of \(span.count) bytes is not valid UTF-8")
        }
        return string
    }

    func readByteArray() throws -> [UInt8] {
        Array(try readByteSpan())
    }

    func readFloatArray() throws -> [Float] {
        let count = try readCount(minimumBytesEach: 4)
        let start = index
        index += count * 4
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for element in 0..<count {
                let bits = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: start + element * 4, as: UInt32.self))
                buffer[element] = Float(bitPattern: bits)
            }
            initialized = count
        }
    }

    /// Reads a presence byte: `true` when a value follows.
    func readPresence() throws -> Bool {
        switch try readByte() {
        case 0: return false
        case 1: return true
        case let other: throw WireError(.typeMismatch, "presence byte must be 0 or 1, found \(other)")
        }
    }

    /// Looks at the next byte without consuming it.
    func peekByte() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }
}

// MARK: - Shapes with their own layout

protocol BinaryDecodableOptional {
    static func decodeBinary(from decoding: BinaryDecoding) throws -> Any
}

extension Optional: BinaryDecodableOptional where Wrapped: Decodable {
    static func decodeBinary(from decoding: BinaryDecoding) throws -> Any {
        let present = try decoding.readPresence()
        let value: Wrapped? = present ? try decoding.decodeValue(Wrapped.self) : nil
        return value as Any
    }
}

protocol BinaryDecodableArray {
    static func decodeBinary(from decoding: BinaryDecoding) throws -> Any
}

extension Array: BinaryDecodableArray where Element: Decodable {
    static func decodeBinary(from decoding: BinaryDecoding) throws -> Any {
        let count = try decoding.readCount(minimumBytesEach: 1)
        var elements: [Element] = []
        elements.reserveCapacity(Swift.min(count, 1024))
        for _ in 0..<count {
            elements.append(try decoding.decodeValue(Element.self))
        }
        return elements
    }
}

protocol BinaryDecodableDictionary {
    static func decodeBinary(from decoding: BinaryDecoding) throws -> Any
}

extension Dictionary: BinaryDecodableDictionary where Key: Decodable, Value: Decodable {
    static func decodeBinary(from decoding: BinaryDecoding) throws -> Any {
        let count = try decoding.readCount(minimumBytesEach: 1)
        var result: [Key: Value] = [:]
        result.reserveCapacity(Swift.min(count, 1024))
        for _ in 0..<count {
            let key = try decoding.decodeValue(Key.self)
            let value = try decoding.decodeValue(Value.self)
            if result.updateValue(value, forKey: key) != nil {
                throw WireError(.duplicateKey, "dictionary contains the key \(key) twice")
            }
        }
        return result
    }
}
