/// A `Codable` encoder that writes the canonical bytes (`CanonicalBytes`): keyed containers
/// are sorted by key, so dictionaries encode the same whatever their hash order.
///
/// Only for values whose `encode(to:)` is deterministic apart from dictionary order: never
/// encode a `Set` (its unkeyed order is the hash order) or a dictionary whose keys are
/// neither `String` nor `Int` (Swift encodes those as an unkeyed list in hash order).
enum CanonicalEncoder {
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        var output: [UInt8] = []
        CanonicalBytes.write(try tree(of: value), to: &output)
        return output
    }

    static func tree(of value: some Encodable) throws -> CanonicalValue {
        let node = EncodingNode()
        try value.encode(to: TreeEncoder(node: node, codingPath: []))
        return node.finish()
    }
}

/// A value under construction.
final class EncodingNode {
    enum Content {
        case unset
        case value(CanonicalValue)
        /// In the order written; a key written twice keeps its last value (`finish`).
        case keyed([(String, EncodingNode)])
        case unkeyed([EncodingNode])
    }

    var content: Content = .unset

    func finish() -> CanonicalValue {
        switch content {
        case .unset: return .keyed([])
        case .value(let value): return value
        case .keyed(let entries): return .keyed(Self.sortedLastWins(entries).map { ($0.0, $0.1.finish()) })
        case .unkeyed(let items): return .list(items.map { $0.finish() })
        }
    }

    /// `entries` sorted by key, each key once with the value written last (as a dictionary
    /// keyed by them would hold). Appending and sorting once is cheaper than hashing every key.
    static func sortedLastWins(_ entries: [(String, EncodingNode)]) -> [(String, EncodingNode)] {
        var isSorted = true
        for i in entries.indices.dropFirst() where !(entries[i - 1].0 < entries[i].0) {
            isSorted = false
            break
        }
        if isSorted { return entries }
        let order = entries.indices.sorted { a, b in
            entries[a].0 < entries[b].0 || (entries[a].0 == entries[b].0 && a < b)
        }
        var result: [(String, EncodingNode)] = []
        result.reserveCapacity(entries.count)
        for index in order {
            if let last = result.last, last.0 == entries[index].0 {
                result[result.count - 1] = entries[index]
            } else {
                result.append(entries[index])
            }
        }
        return result
    }

    func child(forKey key: String) -> EncodingNode {
        var entries: [(String, EncodingNode)] = []
        if case .keyed(let existing) = content { entries = existing }
        content = .unset  // keep `entries` uniquely referenced: no copy per key
        let node = EncodingNode()
        entries.append((key, node))
        content = .keyed(entries)
        return node
    }

    func appendChild() -> EncodingNode {
        var items: [EncodingNode] = []
        if case .unkeyed(let existing) = content { items = existing }
        content = .unset  // keep `items` uniquely referenced: no copy per element
        let node = EncodingNode()
        items.append(node)
        content = .unkeyed(items)
        return node
    }

    func makeKeyed() {
        if case .keyed = content { return }
        content = .keyed([])
    }

    func makeUnkeyed() {
        if case .unkeyed = content { return }
        content = .unkeyed([])
    }
}

struct TreeEncoder: Encoder {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeKeyed()
        return KeyedEncodingContainer(KeyedTreeEncoding<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.makeUnkeyed()
        return UnkeyedTreeEncoding(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleTreeEncoding(node: node, codingPath: codingPath)
    }
}

/// The primitive conversions shared by the three container kinds.
enum Primitive {
    static func value(_ number: some BinaryInteger & SignedInteger) -> CanonicalValue { .int(Int64(number)) }
    static func value(_ number: some BinaryInteger & UnsignedInteger) -> CanonicalValue { .uint(UInt64(number)) }
}

struct KeyedTreeEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    private func put(_ value: CanonicalValue, _ key: Key) { node.child(forKey: key.stringValue).content = .value(value) }

    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(.double(value.bitPattern), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(.double(Double(value).bitPattern), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(Primitive.value(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(Primitive.value(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(Primitive.value(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(Primitive.value(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(Primitive.value(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(Primitive.value(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(Primitive.value(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(Primitive.value(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(Primitive.value(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(Primitive.value(value), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        let child = node.child(forKey: key.stringValue)
        try value.encode(to: TreeEncoder(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = node.child(forKey: key.stringValue)
        child.makeKeyed()
        return KeyedEncodingContainer(KeyedTreeEncoding<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = node.child(forKey: key.stringValue)
        child.makeUnkeyed()
        return UnkeyedTreeEncoding(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        TreeEncoder(node: node.child(forKey: "super"), codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        TreeEncoder(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key])
    }
}

struct UnkeyedTreeEncoding: UnkeyedEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var count: Int {
        if case .unkeyed(let items) = node.content { return items.count }
        return 0
    }

    private func put(_ value: CanonicalValue) { node.appendChild().content = .value(value) }

    mutating func encodeNil() throws { put(.null) }
    mutating func encode(_ value: Bool) throws { put(.bool(value)) }
    mutating func encode(_ value: String) throws { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(.double(value.bitPattern)) }
    mutating func encode(_ value: Float) throws { put(.double(Double(value).bitPattern)) }
    mutating func encode(_ value: Int) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: Int8) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: Int16) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: Int32) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: Int64) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: UInt) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: UInt8) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: UInt16) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: UInt32) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: UInt64) throws { put(Primitive.value(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try value.encode(to: TreeEncoder(node: node.appendChild(), codingPath: codingPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = node.appendChild()
        child.makeKeyed()
        return KeyedEncodingContainer(KeyedTreeEncoding<NestedKey>(node: child, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = node.appendChild()
        child.makeUnkeyed()
        return UnkeyedTreeEncoding(node: child, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        TreeEncoder(node: node.appendChild(), codingPath: codingPath)
    }
}

struct SingleTreeEncoding: SingleValueEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    private func put(_ value: CanonicalValue) { node.content = .value(value) }

    mutating func encodeNil() throws { put(.null) }
    mutating func encode(_ value: Bool) throws { put(.bool(value)) }
    mutating func encode(_ value: String) throws { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(.double(value.bitPattern)) }
    mutating func encode(_ value: Float) throws { put(.double(Double(value).bitPattern)) }
    mutating func encode(_ value: Int) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: Int8) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: Int16) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: Int32) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: Int64) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: UInt) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: UInt8) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: UInt16) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: UInt32) throws { put(Primitive.value(value)) }
    mutating func encode(_ value: UInt64) throws { put(Primitive.value(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try value.encode(to: TreeEncoder(node: node, codingPath: codingPath))
    }
}
