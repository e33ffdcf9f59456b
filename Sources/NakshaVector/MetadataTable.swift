/// Columnar scalar metadata for the rows (slots) of one index.
///
/// Invariants: every column has exactly `rowCount` entries; `nil` means the row has no
/// value under that key. Rows are addressed by the owning index's slot numbers and are
/// moved or cleared by it in step with its vectors.
struct MetadataTable: Sendable {
    /// Column index of each key; `columns[keyIndex[key]]` is that key's column.
    private(set) var keyIndex: [String: Int] = [:]
    private(set) var keys: [String] = []
    private(set) var columns: [[MetadataValue?]] = []
    private(set) var rowCount = 0

    init() {}

    /// A table with the given columns (a loaded snapshot's).
    /// - Precondition: every column has `rowCount` entries and keys are distinct (checked by the loader).
    init(keys: [String], columns: [[MetadataValue?]], rowCount: Int) {
        self.keys = keys
        self.columns = columns
        self.rowCount = rowCount
        for (c, key) in keys.enumerated() { keyIndex[key] = c }
    }

    /// Appends a row with the given values.
    mutating func append(_ values: [String: MetadataValue]) {
        for c in columns.indices { columns[c].append(nil) }
        rowCount += 1
        for (key, value) in values { set(row: rowCount - 1, key: key, value: value) }
    }

    /// Replaces every value of `row` by `values`.
    mutating func replace(row: Int, with values: [String: MetadataValue]) {
        for c in columns.indices { columns[c][row] = nil }
        for (key, value) in values { set(row: row, key: key, value: value) }
    }

    /// Moves the last row into `row` and drops the last row (the flat index's swap-remove).
    mutating func swapRemove(row: Int) {
        let last = rowCount - 1
        for c in columns.indices {
            columns[c].swapAt(row, last)
            columns[c].removeLast()
        }
        rowCount -= 1
    }

    /// The values of one row, as given on insert.
    func row(_ row: Int) -> [String: MetadataValue] {
        var result: [String: MetadataValue] = [:]
        for (c, key) in keys.enumerated() {
            if let value = columns[c][row] { result[key] = value }
        }
        return result
    }

    private mutating func set(row: Int, key: String, value: MetadataValue) {
        let c: Int
        if let existing = keyIndex[key] {
            c = existing
        } else {
            c = columns.count
            keyIndex[key] = c
            keys.append(key)
            columns.append(Array(repeating: nil, count: rowCount))
        }
        columns[c][row] = value
    }

    /// The rows matching `filter` among those for which `isLive` holds, as a bitmap.
    /// Cost: one pass over the rows; allocates the bitmap (rowCount/8 bytes).
    func evaluate(_ filter: MetadataFilter, isLive: (Int) -> Bool) -> RowBitmap {
        var bitmap = RowBitmap(count: rowCount)
        let referenced = filter.referencedKeys.map { key in (key, keyIndex[key].map { columns[$0] }) }
        for row in 0..<rowCount where isLive(row) {
            let matched = filter.matches { key in
                for (k, column) in referenced where k == key { return column?[row] }
                return nil
            }
            if matched { bitmap.set(row) }
        }
        return bitmap
    }

    /// Approximate bytes held (column arrays; string payloads counted by their UTF-8 length).
    var estimatedBytes: Int {
        var total = 0
        for (c, key) in keys.enumerated() {
            total += key.utf8.count + columns[c].capacity * MemoryLayout<MetadataValue?>.stride
            for case .string(let s)? in columns[c] where s.utf8.count > 15 { total += s.utf8.count }
        }
        return total
    }
}

extension MetadataFilter {
    /// Keys named anywhere in the filter, without duplicates.
    var referencedKeys: [String] {
        var keys: [String] = []
        func visit(_ f: MetadataFilter) {
            switch f {
            case .equals(let k, _), .range(let k, _, _), .isIn(let k, _):
                if !keys.contains(k) { keys.append(k) }
            case .and(let fs), .or(let fs):
                fs.forEach(visit)
            case .not(let inner):
                visit(inner)
            }
        }
        visit(self)
        return keys
    }
}

/// A fixed-size set of row numbers, one bit per row.
public struct RowBitmap: Sendable, Equatable {
    private(set) var words: [UInt64]
    /// Number of rows the bitmap covers.
    public let count: Int
    /// Number of rows set.
    public private(set) var setCount = 0

    init(count: Int) {
        self.count = count
        self.words = Array(repeating: 0, count: (count + 63) / 64)
    }

    @inline(__always)
    func contains(_ row: Int) -> Bool {
        words[row >> 6] & (1 << UInt64(row & 63)) != 0
    }

    mutating func set(_ row: Int) {
        let mask: UInt64 = 1 << UInt64(row & 63)
        if words[row >> 6] & mask == 0 {
            words[row >> 6] |= mask
            setCount += 1
        }
    }

    /// Calls `body` with every set row in ascending order.
    @inline(__always)
    func forEachSet(_ body: (Int) -> Void) {
        for (wordIndex, word) in words.enumerated() {
            var w = word
            while w != 0 {
                let bit = w.trailingZeroBitCount
                body(wordIndex << 6 | bit)
                w &= w &- 1
            }
        }
    }
}
