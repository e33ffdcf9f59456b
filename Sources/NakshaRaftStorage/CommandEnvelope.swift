import NakshaCore
import NakshaWire

/// What every command entry of the log carries around the application's bytes: a format
/// version, the request id, the leader's timestamp stamped at append, and which sub-machine
/// of the `StateMachineHost` it is for.
///
/// Layout (little-endian), 26 bytes then the payload:
/// `version UInt8 (1) | client UInt64 | sequence UInt64 | timestampMillis UInt64 | machine UInt8 | payload`.
public struct CommandEnvelope: Sendable, Equatable {
    public static let version: UInt8 = 1
    public static let headerSize = 26

    public var requestID: RequestID
    public var timestampMillis: UInt64
    public var machine: UInt8
    public var payload: [UInt8]

    public init(requestID: RequestID, timestampMillis: UInt64, machine: UInt8, payload: [UInt8]) {
        self.requestID = requestID
        self.timestampMillis = timestampMillis
        self.machine = machine
        self.payload = payload
    }

    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.headerSize + payload.count)
        bytes.append(Self.version)
        bytes.appendLittleEndian(requestID.client)
        bytes.appendLittleEndian(requestID.sequence)
        bytes.appendLittleEndian(timestampMillis)
        bytes.append(machine)
        bytes.append(contentsOf: payload)
        return bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(StateMachineError) -> CommandEnvelope {
        guard let version = bytes.first else { throw StateMachineError(.malformed, "empty command") }
        guard version == Self.version else {
            throw StateMachineError(.unknownVersion, "command format version \(version) is unknown to this build (it reads \(Self.version))")
        }
        guard bytes.count >= headerSize else { throw StateMachineError(.malformed, "command of \(bytes.count) bytes is shorter than its header") }
        return bytes.withUnsafeBytes { raw in
            CommandEnvelope(
                requestID: RequestID(
                    client: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 1, as: UInt64.self)),
                    sequence: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 9, as: UInt64.self))),
                timestampMillis: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 17, as: UInt64.self)),
                machine: raw[25], payload: Array(bytes[headerSize...]))
        }
    }

    /// The timestamp of an encoded envelope without decoding the rest, or nil.
    static func timestamp(of bytes: [UInt8]) -> UInt64? {
        guard bytes.count >= headerSize, bytes[0] == version else { return nil }
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 17, as: UInt64.self)) }
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        var little = value.littleEndian
        Swift.withUnsafeBytes(of: &little) { append(contentsOf: $0) }
    }
}
