import CLibPQ

extension PostgresConnection {
    /// Flush threshold for `PQputCopyData`.
    static let copyChunkBytes = 1 << 20

    /// Runs `COPY … FROM STDIN (FORMAT binary)` and streams `rowCount` tuples produced by
    /// `encodeRow` (header and trailer are written here). Returns the rows the server stored.
    ///
    /// On any failure the COPY is ended with an error message so the server aborts it and
    /// the session stays usable (unless the connection itself broke).
    func copyIn(
        _ sql: String, rowCount: Int, operation: String,
        encodeRow: (Int, inout CopyBinaryWriter) -> Void
    ) throws(StoreError) -> Int {
        let handle = try liveHandle(operation: operation)
        guard let started = PQexec(handle, sql) else { throw connectionError(operation: operation) }
        let startStatus = PQresultStatus(started)
        guard startStatus == PGRES_COPY_IN else {
            let error = classify(result: started, operation: operation)
            PQclear(started)
            throw error
        }
        PQclear(started)
        var writer = CopyBinaryWriter(reservingCapacity: Self.copyChunkBytes + (64 << 10))
        writer.writeHeader()
        for row in 0..<rowCount {
            encodeRow(row, &writer)
            if writer.count >= Self.copyChunkBytes {
                try put(writer.drain(), handle: handle, operation: operation)
            }
        }
        writer.writeTrailer()
        try put(writer.drain(), handle: handle, operation: operation)
        guard PQputCopyEnd(handle, nil) == 1 else { throw connectionError(operation: operation) }
        return try drainResults(handle: handle, operation: operation).affectedRows
    }

    /// Runs `COPY … TO STDOUT (FORMAT binary)` and hands each tuple to `onTuple` as it
    /// arrives. A tuple that `onTuple` rejects stops consumption; the remaining data is
    /// drained so the session stays usable, then the error is rethrown.
    func copyOut(
        _ sql: String, operation: String,
        onTuple: (CopyBinaryReader.Tuple) throws(StoreError) -> Void
    ) throws(StoreError) {
        let handle = try liveHandle(operation: operation)
        guard let started = PQexec(handle, sql) else { throw connectionError(operation: operation) }
        guard PQresultStatus(started) == PGRES_COPY_OUT else {
            let error = classify(result: started, operation: operation)
            PQclear(started)
            throw error
        }
        PQclear(started)
        var reader = CopyBinaryReader(operation: operation)
        var firstError: StoreError?
        while true {
            var chunk: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(handle, &chunk, 0)
            if length == -1 { break }
            guard length >= 0, let chunk else {
                // -2: the COPY failed; the final result below says why.
                break
            }
            if firstError == nil {
                reader.append(UnsafeRawBufferPointer(start: chunk, count: Int(length)))
                do {
                    while let tuple = try reader.nextTuple() { try onTuple(tuple) }
                } catch {
                    firstError = error
                }
            }
            PQfreemem(chunk)
        }
        _ = try drainResults(handle: handle, operation: operation)
        if let firstError { throw firstError }
        guard reader.isFinished, !reader.hasUnreadBytes else {
            throw StoreError(
                code: .protocolViolation, operation: operation,
                message: "COPY output ended without a clean trailer")
        }
    }

    private func put(_ bytes: [UInt8], handle: OpaquePointer, operation: String) throws(StoreError) {
        guard !bytes.isEmpty else { return }
        let status = bytes.withUnsafeBytes { raw in
            PQputCopyData(handle, raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(raw.count))
        }
        guard status == 1 else { throw connectionError(operation: operation) }
    }

    /// Reads results until libpq returns nil; returns the last one, throws the first failure.
    private func drainResults(handle: OpaquePointer, operation: String) throws(StoreError) -> QueryResult {
        var last = QueryResult(columnNames: [], rows: [], affectedRows: 0)
        var failure: StoreError?
        while let result = PQgetResult(handle) {
            let status = PQresultStatus(result)
            if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK {
                last = QueryResult(copying: result)
            } else if failure == nil {
                failure = classify(result: result, operation: operation)
            }
            PQclear(result)
        }
        if PQstatus(handle) != CONNECTION_OK {
            throw failure ?? connectionError(operation: operation)
        }
        if let failure { throw failure }
        return last
    }
}
