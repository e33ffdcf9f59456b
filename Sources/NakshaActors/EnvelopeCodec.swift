import NakshaWire

// The call and reply envelopes are on every call's path, so they have a fixed, hand-written
// layout instead of going through `Codable` (whose per-field dynamic casts and container
// boxes cost more than the TCP round trip did). The handshake, sent once per connection,
// stays `Codable`.
//
// Layout (all integers LEB128 varints; strings and byte strings are a varint length, then
// the bytes). The handshake's protocol version covers it: version 2 introduced it.
//
//   call:  recipient host · port · incarnation · path · target · timeoutMillis
//          · argument count · each argument as a byte string
//   reply: tag, then
//          tag 0 (value):         the encoded value: every byte that follows
//          tag 1 (codable error): type name · payload byte string · description
//          tag 2 (failure):       code name · message · has-remote-type (0/1) [· type name]
//
// Decoding never traps: a short, overlong or otherwise malformed envelope is a `WireError`.

extension CallEnvelope {
    /// The envelope's bytes.
    func encoded() -> [UInt8] {
        var writer = EnvelopeWriter(capacity: 64 + target.utf8.count + recipient.path.utf8.count + arguments.reduce(0) { $0 + $1.count + 5 })
        writer.string(recipient.node.host)
        writer.varint(UInt64(clamping: recipient.node.port))
        writer.varint(recipient.incarnation)
        writer.string(recipient.path)
        writer.string(target)
        writer.varint(timeoutMillis)
        writer.varint(UInt64(arguments.count))
        for argument in arguments { writer.bytes(argument) }
        return writer.output
    }

    /// Decodes an envelope. Every declared count and length is checked against the bytes
    /// that remain, so a peer cannot make the decoder reserve more than the frame holds.
    init(decoding bytes: [UInt8]) throws(WireError) {
        let decoded = bytes.withUnsafeBytes { raw -> Result<CallEnvelope, WireError> in
            var reader = EnvelopeReader(raw)
            do throws(WireError) {
                let host = try reader.string()
                let port = try reader.varint()
                guard port <= UInt64(UInt16.max) else { throw WireError(.valueOutOfRange, "call recipient port \(port) is not a TCP port") }
                let incarnation = try reader.varint()
                let path = try reader.string()
                let target = try reader.string()
                let timeoutMillis = try reader.varint()
                let count = try reader.count()
                var arguments: [[UInt8]] = []
                arguments.reserveCapacity(count)
                for _ in 0..<count { arguments.append(try reader.bytes()) }
                try reader.expectEnd()
                return .success(CallEnvelope(
                    recipient: NakshaActorID(node: NodeAddress(host: host, port: Int(port)), incarnation: incarnation, path: path),
                    target: target, arguments: arguments, timeoutMillis: timeoutMillis))
            } catch {
                return .failure(error)
            }
        }
        self = try decoded.get()
    }
}

extension ReplyEnvelope {
    private static let valueTag: UInt8 = 0
    private static let codableErrorTag: UInt8 = 1
    private static let failureTag: UInt8 = 2

    /// The envelope's bytes.
    func encoded() -> [UInt8] {
        switch self {
        case .value(let value):
            var writer = EnvelopeWriter(capacity: value.count + 1)
            writer.byte(Self.valueTag)
            writer.raw(value)
            return writer.output
        case .codableError(let typeName, let payload, let description):
            var writer = EnvelopeWriter(capacity: typeName.utf8.count + payload.count + description.utf8.count + 20)
            writer.byte(Self.codableErrorTag)
            writer.string(typeName)
            writer.bytes(payload)
            writer.string(description)
            return writer.output
        case .failure(let error):
            var writer = EnvelopeWriter(capacity: error.message.utf8.count + 64)
            writer.byte(Self.failureTag)
            writer.string(error.code.description)
            writer.string(error.message)
            if let remoteTypeName = error.remoteTypeName {
                writer.byte(1)
                writer.string(remoteTypeName)
            } else {
                writer.byte(0)
            }
            return writer.output
        }
    }

    /// Decodes an envelope. A failure code this build does not know becomes `.remoteError`
    /// (metrics label calls by code, so a peer must not be able to invent new labels).
    init(decoding bytes: [UInt8]) throws(WireError) {
        let decoded = bytes.withUnsafeBytes { raw -> Result<ReplyEnvelope, WireError> in
            var reader = EnvelopeReader(raw)
            do throws(WireError) {
                switch try reader.byte() {
                case Self.valueTag:
                    return .success(.value(reader.rest()))
                case Self.codableErrorTag:
                    let typeName = try reader.string()
                    let payload = try reader.bytes()
                    let description = try reader.string()
                    try reader.expectEnd()
                    return .success(.codableError(typeName: typeName, payload: payload, description: description))
                case Self.failureTag:
                    let codeName = try reader.string()
                    let message = try reader.string()
                    let remoteTypeName: String?
                    switch try reader.byte() {
                    case 0: remoteTypeName = nil
                    case 1: remoteTypeName = try reader.string()
                    case let other: throw WireError(.typeMismatch, "reply presence tag \(other) is neither 0 nor 1")
                    }
                    try reader.expectEnd()
                    let code = RemoteCallError.Code.known(named: codeName) ?? .remoteError
                    return .success(.failure(RemoteCallError(code, message, remoteTypeName: remoteTypeName)))
                case let other:
                    throw WireError(.typeMismatch, "reply tag \(other) is not 0 (value), 1 (codable error) or 2 (failure)")
                }
            } catch {
                return .failure(error)
            }
        }
        self = try decoded.get()
    }
}

extension RemoteCallError.Code {
    /// Every code, for mapping a name received from a peer back to a code of this build.
    static let all: [RemoteCallError.Code] = [
        .deadlineExceeded, .cancelled, .connectionLost, .peerUnreachable, .handshakeFailed,
        .unknownActor, .targetNotAllowed, .remoteError, .serializationFailed, .systemShutDown,
    ]

    static func known(named name: String) -> RemoteCallError.Code? {
        all.first { $0.name == name }
    }
}

/// Appends envelope fields to a byte array.
struct EnvelopeWriter {
    private(set) var output: [UInt8] = []

    init(capacity: Int) { output.reserveCapacity(capacity) }

    mutating func byte(_ value: UInt8) { output.append(value) }
    mutating func varint(_ value: UInt64) { Varint.append(value, to: &output) }
    mutating func raw(_ bytes: [UInt8]) { output.append(contentsOf: bytes) }

    mutating func bytes(_ bytes: [UInt8]) {
        varint(UInt64(bytes.count))
        output.append(contentsOf: bytes)
    }

    mutating func string(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            output.append(contentsOf: utf8)
        }
    }
}

/// Reads envelope fields from bytes, checking every length against what remains.
struct EnvelopeReader {
    private let input: UnsafeRawBufferPointer
    private var index = 0

    init(_ input: UnsafeRawBufferPointer) { self.input = input }

    private var remaining: Int { input.count - index }

    mutating func byte() throws(WireError) -> UInt8 {
        guard index < input.count else { throw WireError(.truncated, "envelope ended early") }
        defer { index += 1 }
        return input[index]
    }

    mutating func varint() throws(WireError) -> UInt64 {
        try Varint.read(from: input, at: &index)
    }

    /// A length or count: at most the bytes that remain (every element takes at least one).
    mutating func count() throws(WireError) -> Int {
        let value = try varint()
        guard value <= UInt64(remaining) else {
            throw WireError(.collectionTooLarge, "envelope declares \(value) items or bytes but \(remaining) bytes remain")
        }
        return Int(value)
    }

    mutating func bytes() throws(WireError) -> [UInt8] {
        let length = try count()
        defer { index += length }
        return Array(UnsafeRawBufferPointer(rebasing: input[index..<(index + length)]))
    }

    mutating func string() throws(WireError) -> String {
        let length = try count()
        defer { index += length }
        let slice = UnsafeRawBufferPointer(rebasing: input[index..<(index + length)])
        guard let string = String(validating: slice.assumingMemoryBound(to: UInt8.self), as: UTF8.self) else {
            throw WireError(.invalidUTF8, "envelope string is not valid UTF-8")
        }
        return string
    }

    /// Every byte that remains.
    mutating func rest() -> [UInt8] {
        defer { index = input.count }
        return Array(UnsafeRawBufferPointer(rebasing: input[index...]))
    }

    func expectEnd() throws(WireError) {
        guard remaining == 0 else { throw WireError(.trailingBytes, "\(remaining) bytes after the envelope") }
    }
}
