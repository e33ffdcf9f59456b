/// The `Codable` decoder for canonical bytes (`CanonicalBytes`).
enum CanonicalDecoder {
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], startingAt start: Int = 0) throws -> T {
        var position = start
        let tree = try CanonicalBytes.read(bytes, at: &position)
        guard position == bytes.count else { throw CanonicalDecodingError.trailingBytes(bytes.count - position) }
        return try T(from: TreeDecoder(value: tree, codingPath: []))
    }
}

struct TreeDecoder: Decoder {
    let value: CanonicalValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .keyed(let entries) = value else { throw mismatch("a keyed value") }
        return KeyedDecodingContainer(KeyedTreeDecoding<Key>(entries: entries, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .list(let items) = value else { throw mismatch("a list") }
        return UnkeyedTreeDecoding(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleTreeDecoding(value: value, codingPath: codingPath)
    }

    func mismatch(_ expected: String) -> DecodingError {
        DecodingError.typeMismatch(
            Any.self, DecodingError.Context(codingPath: codingPath, debugDescription: "expected \(expected), found \(value)"))
    }
}

/// Conversions from a tree value to the primitive types, with range checks.
enum PrimitiveDecoding {
    static func decode<T: BinaryInteger>(_ type: T.Type, _ value: CanonicalValue, _ path: @autoclosure () -> [any CodingKey]) throws -> T {
        let result: T?
        switch value {
        case .int(let number): result = T(exactly: number)
        case .uint(let number): result = T(exactly: number)
        case .null, .bool, .double, .string, .list, .keyed: result = nil
        }
        guard let result else {
            throw DecodingError.typeMismatch(T.self, DecodingError.Context(codingPath: path(), debugDescription: "expected \(T.self), found \(value)"))
        }
        return result
    }

    static func bool(_ value: CanonicalValue, _ path: @autoclosure () -> [any CodingKey]) throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch(Bool.self, value, path()) }
        return flag
    }

    static func string(_ value: CanonicalValue, _ path: @autoclosure () -> [any CodingKey]) throws -> String {
        guard case .string(let text) = value else { throw mismatch(String.self, value, path()) }
        return text
    }

    static func double(_ value: CanonicalValue, _ path: @autoclosure () -> [any CodingKey]) throws -> Double {
        guard case .double(let bits) = value else { throw mismatch(Double.self, value, path()) }
        return Double(bitPattern: bits)
    }

    static func mismatch(_ type: Any.Type, _ value: CanonicalValue, _ path: [any CodingKey]) -> DecodingError {
        DecodingError.typeMismatch(type, DecodingError.Context(codingPath: path, debugDescription: "expected \(type), found \(value)"))
    }
}

/// Looks keys up by binary search: `CanonicalBytes.read` refuses keyed entries that are not
/// strictly sorted, so no table is built per container.
struct KeyedTreeDecoding<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let entries: [(String, CanonicalValue)]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { entries.compactMap { Key(stringValue: $0.0) } }

    func contains(_ key: Key) -> Bool { lookup(key.stringValue) != nil }

    private func lookup(_ name: String) -> CanonicalValue? {
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            let candidate = entries[middle].0
            if candidate == name { return entries[middle].1 }
            if candidate < name { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    private func value(_ key: Key) throws -> CanonicalValue {
        guard let value = lookup(key.stringValue) else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try PrimitiveDecoding.bool(value(key), codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try PrimitiveDecoding.string(value(key), codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try PrimitiveDecoding.double(value(key), codingPath + [key]) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try PrimitiveDecoding.double(value(key), codingPath + [key])) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try PrimitiveDecoding.decode(type, value(key), codingPath + [key]) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try PrimitiveDecoding.decode(type, value(key), codingPath + [key]) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try PrimitiveDecoding.decode(type, value(key), codingPath + [key]) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try PrimitiveDecoding.decode(type, value(key), codingPath + [key]) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try PrimitiveDecoding.decode(type, value(key), codingPath + [key]) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try PrimitiveDecoding.decode(type, value(key), codingPath + [key]) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try PrimitiveDecoding.decode(type, value(key), codingPath + [key]) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try PrimitiveDecoding.decode(type, value(key), codingPath + [key]) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try PrimitiveDecoding.decode(type, value(key), codingPath + [key]) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try PrimitiveDecoding.decode(type, value(key), codingPath + [key]) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: TreeDecoder(value: value(key), codingPath: codingPath + [key]))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try TreeDecoder(value: value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try TreeDecoder(value: value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        TreeDecoder(value: lookup("super") ?? .null, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        TreeDecoder(value: try value(key), codingPath: codingPath + [key])
    }
}

struct UnkeyedTreeDecoding: UnkeyedDecodingContainer {
    let items: [CanonicalValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(items: [CanonicalValue], codingPath: [any CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next() throws -> CanonicalValue {
        guard currentIndex < items.count else {
            throw DecodingError.valueNotFound(
                Any.self, DecodingError.Context(codingPath: codingPath, debugDescription: "the list has only \(items.count) elements"))
        }
        defer { currentIndex += 1 }
        return items[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < items.count, items[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try PrimitiveDecoding.bool(next(), codingPath) }
    mutating func decode(_ type: String.Type) throws -> String { try PrimitiveDecoding.string(next(), codingPath) }
    mutating func decode(_ type: Double.Type) throws -> Double { try PrimitiveDecoding.double(next(), codingPath) }
    mutating func decode(_ type: Float.Type) throws -> Float { Float(try PrimitiveDecoding.double(next(), codingPath)) }
    mutating func decode(_ type: Int.Type) throws -> Int { try PrimitiveDecoding.decode(type, next(), codingPath) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try PrimitiveDecoding.decode(type, next(), codingPath) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try PrimitiveDecoding.decode(type, next(), codingPath) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try PrimitiveDecoding.decode(type, next(), codingPath) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try PrimitiveDecoding.decode(type, next(), codingPath) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try PrimitiveDecoding.decode(type, next(), codingPath) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try PrimitiveDecoding.decode(type, next(), codingPath) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try PrimitiveDecoding.decode(type, next(), codingPath) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try PrimitiveDecoding.decode(type, next(), codingPath) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try PrimitiveDecoding.decode(type, next(), codingPath) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: TreeDecoder(value: next(), codingPath: codingPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try TreeDecoder(value: next(), codingPath: codingPath).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try TreeDecoder(value: next(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        TreeDecoder(value: try next(), codingPath: codingPath)
    }
}

struct SingleTreeDecoding: SingleValueDecodingContainer {
    let value: CanonicalValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try PrimitiveDecoding.bool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try PrimitiveDecoding.string(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try PrimitiveDecoding.double(value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try PrimitiveDecoding.double(value, codingPath)) }
    func decode(_ type: Int.Type) throws -> Int { try PrimitiveDecoding.decode(type, value, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try PrimitiveDecoding.decode(type, value, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try PrimitiveDecoding.decode(type, value, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try PrimitiveDecoding.decode(type, value, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try PrimitiveDecoding.decode(type, value, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try PrimitiveDecoding.decode(type, value, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try PrimitiveDecoding.decode(type, value, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try PrimitiveDecoding.decode(type, value, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try PrimitiveDecoding.decode(type, value, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try PrimitiveDecoding.decode(type, value, codingPath) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: TreeDecoder(value: value, codingPath: codingPath))
    }
}
