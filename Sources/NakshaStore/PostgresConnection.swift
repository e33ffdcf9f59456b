import CLibPQ

/// One libpq connection (`PGconn`), used by one thread at a time.
///
/// Invariants:
/// - Exclusively owned: the pool hands a connection to one lease at a time and all calls run
///   on the `BlockingExecutor`; that is why it is `@unchecked Sendable`.
/// - `isBroken` becomes true when a failure shows the session is gone (connection-class
///   SQLSTATE or `PQstatus == CONNECTION_BAD`); the pool then discards it instead of reusing it.
/// - `preparedStatements` holds exactly the names prepared on this session, so a new
///   session (after reconnect) prepares again on first use.
final class PostgresConnection: @unchecked Sendable {
    /// The DSN generation this connection was opened with (see `ConnectionPool`).
    let generation: Int
    private var handle: OpaquePointer?
    private var preparedStatements: Set<String> = []
    private(set) var isBroken = false
    /// When the pool last took this connection back (set by the pool, read on checkout).
    var idleSince = ContinuousClock.now

    private init(handle: OpaquePointer, generation: Int) {
        self.handle = handle
        self.generation = generation
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Opens a connection. `dsn` is passed to libpq unchanged (URL or key=value form), so
    /// `sslmode`, `sslrootcert`, `connect_timeout` … in it are honoured; defaults below are
    /// only used when the DSN does not set them. Blocks: call on the executor.
    static func connect(dsn: String, generation: Int) -> Result<PostgresConnection, StoreError> {
        // Defaults first; the expanded `dbname` (the DSN) comes last and overrides them.
        let keywords = ["connect_timeout", "application_name", "client_encoding", "dbname"]
        let values = ["5", "naksha", "UTF8", dsn]
        let handle: OpaquePointer? = withCStrings(keywords) { keywordPointers in
            withCStrings(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let handle else {
            return .failure(StoreError(
                code: .connectionFailed, operation: "connect",
                message: "libpq could not allocate a connection (out of memory)"))
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let reason = PQerrorMessage(handle).map { String(cString: $0) } ?? "unknown error"
            PQfinish(handle)
            return .failure(StoreError(
                code: .connectionFailed, operation: "connect",
                message: "could not connect to Postgres: \(redactingSecrets(reason).trimmed); "
                    + "check that the server is up and DATABASE_URL (host, port, user, password, sslmode) is right"))
        }
        // Server NOTICEs would go to stderr by default; they carry no information we act on.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        return .success(PostgresConnection(handle: handle, generation: generation))
    }

    /// Whether the session looks usable without a round trip.
    var isHealthy: Bool {
        guard let handle, !isBroken else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// A round trip that proves the session is alive (marks it broken if not).
    func ping() -> Bool {
        (try? execute("SELECT 1", operation: "ping")) != nil
    }

    /// Closes the session. Idempotent.
    func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        isBroken = true
    }

    /// Runs one parameterised statement (never splices values into `sql`).
    @discardableResult
    func execute(_ sql: String, _ parameters: [PostgresValue] = [], operation: String) throws(StoreError) -> QueryResult {
        let handle = try liveHandle(operation: operation)
        let result = try withParameters(parameters, operation: operation) { count, types, values, lengths, formats in
            PQexecParams(handle, sql, count, types, values, lengths, formats, 0)
        }
        return try finish(result, operation: operation)
    }

    /// Runs a statement as a named prepared statement, preparing it on first use on this
    /// session. `name` must be a constant chosen by the store (never derived from input).
    @discardableResult
    func executePrepared(
        name: String, sql: String, _ parameters: [PostgresValue], operation: String
    ) throws(StoreError) -> QueryResult {
        let handle = try liveHandle(operation: operation)
        if !preparedStatements.contains(name) {
            let prepared = PQprepare(handle, name, sql, Int32(parameters.count), nil)
            _ = try finish(prepared, operation: operation)
            preparedStatements.insert(name)
        }
        let result = try withParameters(parameters, operation: operation) { count, _, values, lengths, formats in
            PQexecPrepared(handle, name, count, values, lengths, formats, 0)
        }
        return try finish(result, operation: operation)
    }

    /// The open handle, or `connectionLost` if the session was closed or broke.
    func liveHandle(operation: String) throws(StoreError) -> OpaquePointer {
        guard let handle, !isBroken else {
            throw StoreError(
                code: .connectionLost, operation: operation,
                message: "the connection was closed; retry on a new connection")
        }
        return handle
    }

    /// Checks a result from libpq (nil, error status, success), clears it, and classifies
    /// failures. A failure that shows the session is gone marks the connection broken.
    func finish(_ result: OpaquePointer?, operation: String) throws(StoreError) -> QueryResult {
        guard let result else {
            throw connectionError(operation: operation)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN, PGRES_COPY_OUT:
            return QueryResult(copying: result)
        default:
            throw classify(result: result, operation: operation)
        }
    }

    /// Builds the error for a failed result and marks the connection broken when needed.
    func classify(result: OpaquePointer, operation: String) -> StoreError {
        let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            ?? PQresultErrorMessage(result).map { String(cString: $0) }
        let lost = (handle.map { PQstatus($0) != CONNECTION_OK } ?? true)
            || Self.isConnectionState(sqlState)
        if lost {
            isBroken = true
            return StoreError(
                code: .connectionLost, operation: operation,
                message: "the connection to Postgres broke during the statement; idempotent operations are retried, others must be checked and retried by the caller",
                sqlState: sqlState, serverMessage: primary)
        }
        let code: StoreError.Code = sqlState == "23505" ? .uniqueViolation : .serverError
        return StoreError(
            code: code, operation: operation,
            message: "Postgres rejected the statement (SQLSTATE \(sqlState ?? "?")); see serverMessage",
            sqlState: sqlState, serverMessage: primary?.trimmed)
    }

    /// The error when libpq returned no result at all (the session is gone).
    func connectionError(operation: String) -> StoreError {
        let reason = handle.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? "connection closed"
        isBroken = true
        return StoreError(
            code: .connectionLost, operation: operation,
            message: "lost the connection to Postgres: \(reason.trimmed)")
    }

    /// SQLSTATE class 08 (connection exception) and the shutdown/startup states of class 57.
    static func isConnectionState(_ sqlState: String?) -> Bool {
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }
}

extension PostgresConnection {
    /// Lays out parameters as the C arrays `PQexecParams`/`PQexecPrepared` take; the buffers
    /// live only for the duration of `body`.
    func withParameters<T>(
        _ parameters: [PostgresValue], operation: String,
        _ body: (Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> T
    ) throws(StoreError) -> T {
        var encoded: [[UInt8]?] = []
        encoded.reserveCapacity(parameters.count)
        for (index, parameter) in parameters.enumerated() {
            encoded.append(try parameter.encoded(index: index, operation: operation))
        }
        let types = parameters.map { Oid($0.typeOID) }
        let formats = parameters.map(\.formatCode)
        let lengths = encoded.map { Int32($0?.count ?? 0) }
        var buffers: [UnsafeMutablePointer<CChar>?] = []
        buffers.reserveCapacity(encoded.count)
        defer { for buffer in buffers { buffer?.deallocate() } }
        for value in encoded {
            guard let value else { buffers.append(nil); continue }
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: value.count + 1)
            value.withUnsafeBytes { raw in
                UnsafeMutableRawPointer(buffer).copyMemory(from: raw.baseAddress ?? UnsafeRawPointer(buffer), byteCount: value.count)
            }
            buffer[value.count] = 0
            buffers.append(buffer)
        }
        let constBuffers = buffers.map { UnsafePointer($0) }
        return types.withUnsafeBufferPointer { typePointer in
            constBuffers.withUnsafeBufferPointer { valuePointer in
                lengths.withUnsafeBufferPointer { lengthPointer in
                    formats.withUnsafeBufferPointer { formatPointer in
                        body(
                            Int32(parameters.count), typePointer.baseAddress, valuePointer.baseAddress,
                            lengthPointer.baseAddress, formatPointer.baseAddress)
                    }
                }
            }
        }
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { string in
        let utf8 = Array(string.utf8)
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count + 1)
        for (offset, byte) in utf8.enumerated() { buffer[offset] = CChar(bitPattern: byte) }
        buffer[utf8.count] = 0
        return buffer
    } + [nil]
    defer { for pointer in pointers { pointer?.deallocate() } }
    let constPointers = pointers.map { UnsafePointer($0) }
    return constPointers.withUnsafeBufferPointer { buffer in
        guard let base = buffer.baseAddress else {
            preconditionFailure("a C-string array always holds at least its terminating nil")
        }
        return body(base)
    }
}

/// Removes `password=…` and URL user-info passwords from a libpq message before it is
/// put in an error (libpq does not echo passwords today; this keeps it that way).
func redactingSecrets(_ message: String) -> String {
    let words = message.split(separator: " ", omittingEmptySubsequences: false).map { word -> String in
        if word.hasPrefix("password=") { return "password=***" }
        if let scheme = word.firstRange(of: "://"), let at = word.lastIndex(of: "@"), scheme.upperBound < at {
            return String(word[..<scheme.upperBound]) + "***" + String(word[at...])
        }
        return String(word)
    }
    return words.joined(separator: " ")
}

extension String {
    var trimmed: String {
        var scalars = Substring(self)
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        return String(scalars)
    }
}
