import NakshaWire

// The call and reply envelopes are on every call's path, so they have a fixed, hand-written
// layout instead of going through `Codable` (whose per-field dynamic casts and container
// boxes cost more than the TCP round trip did). The handshake, sent once per connection,
// stays `Codable`.
//
// Layout (all integers LEB128 varints; strings and byte strings are a varint length, then
// the bytes). The handshake's protocol version covers it: version 2 introduced it (and
// version 3, which changed only the handshake, keeps it).
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
        var writer = WireWriter(capacity: 64 + target.utf8.count + recipient.path.utf8.count + arguments.reduce(0) { $0 + $1.count + 5 })
        writer.string(recipient.node.host)
        writer.varint(UInt64(clamping: recipient.node.port))
        writer.varint(recipient.incarnation)
        writer.string(recipient.path)
        writer.string(target)
        writer.varint(timeoutMillis)
        writer.varint(UInt64(arguments.count))
        for argument in arguments { writer.block(argument) }
        return writer.bytes
    }

    /// Decodes an envelope. Every declared count and length is checked against the bytes
    /// that remain, so a peer cannot make the decoder reserve more than the frame holds.
    init(decoding bytes: [UInt8]) throws(WireError) {
        let decoded = bytes.withUnsafeBytes { raw -> Result<CallEnvelope, WireError> in
            var reader = WireReader(raw, context: "call envelope")
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
                for _ in 0..<count { arguments.append(try reader.block()) }
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
            var writer = WireWriter(capacity: value.count + 1)
            writer.byte(Self.valueTag)
            writer.raw(value)
            return writer.bytes
        case .codableError(let typeName, let payload, let description):
            var writer = WireWriter(capacity: typeName.utf8.count + payload.count + description.utf8.count + 20)
            writer.byte(Self.codableErrorTag)
            writer.string(typeName)
            writer.block(payload)
            writer.string(description)
            return writer.bytes
        case .failure(let error):
            var writer = WireWriter(capacity: error.message.utf8.count + 64)
            writer.byte(Self.failureTag)
            writer.string(error.code.description)
            writer.string(error.message)
            writer.flag(error.remoteTypeName != nil)
            if let remoteTypeName = error.remoteTypeName { writer.string(remoteTypeName) }
            return writer.bytes
        }
    }

    /// Decodes an envelope. A failure code this build does not know becomes `.remoteError`
    /// (metrics label calls by code, so a peer must not be able to invent new labels).
    init(decoding bytes: [UInt8]) throws(WireError) {
        let decoded = bytes.withUnsafeBytes { raw -> Result<ReplyEnvelope, WireError> in
            var reader = WireReader(raw, context: "reply envelope")
            do throws(WireError) {
                switch try reader.byte() {
                case Self.valueTag:
                    return .success(.value(reader.rest()))
                case Self.codableErrorTag:
                    let typeName = try reader.string()
                    let payload = try reader.block()
                    let description = try reader.string()
                    try reader.expectEnd()
                    return .success(.codableError(typeName: typeName, payload: payload, description: description))
                case Self.failureTag:
                    let codeName = try reader.string()
                    let message = try reader.string()
                    let remoteTypeName = try reader.flag() ? try reader.string() : nil
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
        .deadlineExceeded, .cancelled, .connectionLost, .peerUnreachable, .handshakeFailed, .authenticationFailed,
        .unknownActor, .targetNotAllowed, .remoteError, .serializationFailed, .systemShutDown,
    ]

    static func known(named name: String) -> RemoteCallError.Code? {
        all.first { $0.name == name }
    }
}
