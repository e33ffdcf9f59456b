/// The tree a `Codable` value is turned into before it becomes bytes: the deterministic
/// encoding behind `ClusterState`'s commands and snapshots.
///
/// Invariant: keyed entries are held sorted by key, so two equal values (dictionaries
/// included, whatever their hash order) give the same tree and the same bytes.
indirect enum CanonicalValue: Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(UInt64)
    case string(String)
    case list([CanonicalValue])
    case keyed([(String, CanonicalValue)])

    static func == (lhs: CanonicalValue, rhs: CanonicalValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let left), .bool(let right)): return left == right
        case (.int(let left), .int(let right)): return left == right
        case (.uint(let left), .uint(let right)): return left == right
        case (.double(let left), .double(let right)): return left == right
        case (.string(let left), .string(let right)): return left == right
        case (.list(let left), .list(let right)): return left == right
        case (.keyed(let left), .keyed(let right)):
            return left.count == right.count && zip(left, right).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.null, _), (.bool, _), (.int, _), (.uint, _), (.double, _), (.string, _), (.list, _), (.keyed, _):
            return false
        }
    }
}

/// The byte layout of a `CanonicalValue`: a tag byte, then
/// - `null`: nothing; `bool`: one byte 0/1;
/// - `int`: zig-zag LEB128; `uint`: LEB128; `double`: the IEEE-754 bit pattern, 8 bytes little-endian;
/// - `string`: LEB128 byte count, UTF-8;
/// - `list`: LEB128 count, elements; `keyed`: LEB128 count, (string key, value) pairs sorted by key.
enum CanonicalBytes {
    enum Tag: UInt8 {
        case null = 0, falseValue = 1, trueValue = 2, int = 3, uint = 4, double = 5, string = 6, list = 7, keyed = 8
    }

    /// Nesting deeper than this is refused when decoding (bytes from a log or a snapshot must
    /// never overflow the stack).
    static let maxDepth = 256

    static func write(_ value: CanonicalValue, to output: inout [UInt8]) {
        switch value {
        case .null: output.append(Tag.null.rawValue)
        case .bool(let flag): output.append(flag ? Tag.trueValue.rawValue : Tag.falseValue.rawValue)
        case .int(let number):
            output.append(Tag.int.rawValue)
            writeVarint(UInt64(bitPattern: (number << 1) ^ (number >> 63)), to: &output)
        case .uint(let number):
            output.append(Tag.uint.rawValue)
            writeVarint(number, to: &output)
        case .double(let bits):
            output.append(Tag.double.rawValue)
            for shift in stride(from: 0, to: 64, by: 8) { output.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        case .string(let text):
            output.append(Tag.string.rawValue)
            writeString(text, to: &output)
        case .list(let items):
            output.append(Tag.list.rawValue)
            writeVarint(UInt64(items.count), to: &output)
            for item in items { write(item, to: &output) }
        case .keyed(let entries):
            output.append(Tag.keyed.rawValue)
            writeVarint(UInt64(entries.count), to: &output)
            for (key, item) in entries {
                writeString(key, to: &output)
                write(item, to: &output)
            }
        }
    }

    private static func writeString(_ text: String, to output: inout [UInt8]) {
        let utf8 = Array(text.utf8)
        writeVarint(UInt64(utf8.count), to: &output)
        output.append(contentsOf: utf8)
    }

    static func writeVarint(_ value: UInt64, to output: inout [UInt8]) {
        var remaining = value
        while remaining >= 0x80 {
            output.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        output.append(UInt8(remaining))
    }

    /// Reads one value; `position` moves past it.
    static func read(_ bytes: [UInt8], at position: inout Int, depth: Int = 0) throws(CanonicalDecodingError) -> CanonicalValue {
        guard depth <= maxDepth else { throw .tooDeep }
        guard position < bytes.count else { throw .truncated }
        let raw = bytes[position]
        position += 1
        guard let tag = Tag(rawValue: raw) else { throw .unknownTag(raw) }
        switch tag {
        case .null: return .null
        case .falseValue: return .bool(false)
        case .trueValue: return .bool(true)
        case .int:
            let zigzag = try readVarint(bytes, at: &position)
            return .int(Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1))
        case .uint: return .uint(try readVarint(bytes, at: &position))
        case .double:
            guard bytes.count - position >= 8 else { throw .truncated }
            var bits: UInt64 = 0
            for offset in 0..<8 { bits |= UInt64(bytes[position + offset]) << UInt64(offset * 8) }
            position += 8
            return .double(bits)
        case .string: return .string(try readString(bytes, at: &position))
        case .list:
            let count = try readCount(bytes, at: &position)
            var items: [CanonicalValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try read(bytes, at: &position, depth: depth + 1)) }
            return .list(items)
        case .keyed:
            let count = try readCount(bytes, at: &position)
            var entries: [(String, CanonicalValue)] = []
            entries.reserveCapacity(count)
            for _ in 0..<count {
                let key = try readString(bytes, at: &position)
                if let last = entries.last, !(last.0 < key) { throw .unsortedKeys(key) }
                entries.append((key, try read(bytes, at: &position, depth: depth + 1)))
            }
            return .keyed(entries)
        }
    }

    private static func readCount(_ bytes: [UInt8], at position: inout Int) throws(CanonicalDecodingError) -> Int {
        let count = try readVarint(bytes, at: &position)
        // Every element takes at least one byte, so a count beyond the remaining bytes is a lie.
        guard count <= UInt64(bytes.count - position) else { throw .truncated }
        return Int(count)
    }

    private static func readString(_ bytes: [UInt8], at position: inout Int) throws(CanonicalDecodingError) -> String {
        let length = try readCount(bytes, at: &position)
        let slice = bytes[position..<(position + length)]
        position += length
        guard let text = String(validating: slice, as: UTF8.self) else { throw .invalidUTF8 }
        return text
    }

    static func readVarint(_ bytes: [UInt8], at position: inout Int) throws(CanonicalDecodingError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw .truncated }
            let byte = bytes[position]
            position += 1
            guard shift < 64, shift < 63 || byte <= 1 else { throw .varintOverflow }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }
}

/// Why canonical bytes did not decode.
enum CanonicalDecodingError: Error, Equatable, CustomStringConvertible {
    case truncated
    case unknownTag(UInt8)
    case varintOverflow
    case invalidUTF8
    case unsortedKeys(String)
    case tooDeep
    case trailingBytes(Int)

    var description: String {
        switch self {
        case .truncated: return "the bytes end in the middle of a value"
        case .unknownTag(let tag): return "unknown value tag \(tag)"
        case .varintOverflow: return "a varint is longer than 64 bits"
        case .invalidUTF8: return "a string is not valid UTF-8"
        case .unsortedKeys(let key): return "keys are not sorted (at \"\(key)\")"
        case .tooDeep: return "values nest deeper than \(CanonicalBytes.maxDepth)"
        case .trailingBytes(let count): return "\(count) bytes follow the value"
        }
    }
}
