import CLibPQ

/// The rows of a finished statement, copied out of the `PGresult` (text result format).
///
/// Invariant: every row has `columnCount` cells; a cell is `nil` exactly when the value was
/// SQL NULL. Accessors throw `protocolViolation` instead of trapping on a shape the caller
/// did not expect, because the shape comes from the server.
struct QueryResult: Sendable {
    let columnNames: [String]
    let rows: [[String?]]
    /// The number of rows the command affected (`PQcmdTuples`), 0 when not applicable.
    let affectedRows: Int

    var columnCount: Int { columnNames.count }

    init(columnNames: [String], rows: [[String?]], affectedRows: Int) {
        self.columnNames = columnNames
        self.rows = rows
        self.affectedRows = affectedRows
    }

    /// Copies everything out of `result`; the caller still owns and clears it.
    init(copying result: OpaquePointer) {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var names: [String] = []
        names.reserveCapacity(columnCount)
        for column in 0..<columnCount {
            names.append(PQfname(result, Int32(column)).map { String(cString: $0) } ?? "")
        }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var cells: [String?] = []
            cells.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    cells.append(nil)
                } else {
                    cells.append(PQgetvalue(result, Int32(row), Int32(column)).map { String(cString: $0) })
                }
            }
            rows.append(cells)
        }
        let affected = PQcmdTuples(result).map { String(cString: $0) } ?? ""
        self.init(columnNames: names, rows: rows, affectedRows: Int(affected) ?? 0)
    }

    func cell(_ row: Int, _ column: Int, operation: String) throws(StoreError) -> String? {
        guard row < rows.count, column < columnCount else {
            throw StoreError(
                code: .protocolViolation, operation: operation,
                message: "result has \(rows.count) rows × \(columnCount) columns; asked for (\(row), \(column)); "
                    + "the schema may be older than this build: run `naksha migrate`")
        }
        return rows[row][column]
    }

    func string(_ row: Int, _ column: Int, operation: String) throws(StoreError) -> String {
        guard let value = try cell(row, column, operation: operation) else {
            throw Self.unexpectedNull(row, column, operation: operation)
        }
        return value
    }

    func optionalInt64(_ row: Int, _ column: Int, operation: String) throws(StoreError) -> Int64? {
        guard let text = try cell(row, column, operation: operation) else { return nil }
        guard let value = Int64(text) else {
            throw StoreError(
                code: .protocolViolation, operation: operation,
                message: "column \(columnNames[column]) is not an integer")
        }
        return value
    }

    func int64(_ row: Int, _ column: Int, operation: String) throws(StoreError) -> Int64 {
        guard let value = try optionalInt64(row, column, operation: operation) else {
            throw Self.unexpectedNull(row, column, operation: operation)
        }
        return value
    }

    func bool(_ row: Int, _ column: Int, operation: String) throws(StoreError) -> Bool {
        try string(row, column, operation: operation) == "t"
    }

    /// Decodes a `bytea` cell sent in text form (hex or escape output format).
    func bytes(_ row: Int, _ column: Int, operation: String) throws(StoreError) -> [UInt8]? {
        guard let text = try cell(row, column, operation: operation) else { return nil }
        var length = 0
        guard let decoded = text.withCString({ PQunescapeBytea(UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), &length) }) else {
            throw StoreError(
                code: .protocolViolation, operation: operation,
                message: "column \(columnNames[column]) is not valid bytea text")
        }
        defer { PQfreemem(decoded) }
        return Array(UnsafeBufferPointer(start: decoded, count: length))
    }

    private static func unexpectedNull(_ row: Int, _ column: Int, operation: String) -> StoreError {
        StoreError(
            code: .protocolViolation, operation: operation,
            message: "unexpected NULL at row \(row), column \(column)")
    }
}
