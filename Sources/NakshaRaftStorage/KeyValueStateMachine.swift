import NakshaWire

/// A small replicated key-value map: the coordinator's `/v1/kv` routes and the target of
/// `naksha bench raft`.
///
/// Snapshot format: version byte (1), then the binary codec's encoding of the map and the
/// applied-command count. An empty or unknown-version snapshot is refused.
public struct KeyValueStateMachine: ReplicatedStateMachine, Equatable {
    /// A command, as proposed (binary codec).
    public enum Command: Codable, Sendable, Equatable {
        case put(key: String, value: [UInt8])
        case delete(key: String)
    }

    static let snapshotVersion: UInt8 = 1

    /// A command's bytes, as `propose` takes them.
    public static func encode(_ command: Command) throws -> [UInt8] {
        try KeyValueCodec.encoder.encode(command)
    }

    public private(set) var values: [String: [UInt8]] = [:]
    public private(set) var appliedCommands = 0

    public init() {}

    public mutating func apply(_ command: [UInt8], context: ApplyContext) -> [UInt8] {
        appliedCommands += 1
        guard let decoded = try? KeyValueCodec.decoder.decode(Command.self, from: command) else {
            return Array("error: not a key-value command".utf8)  // deterministic on every replica
        }
        switch decoded {
        case .put(let key, let value):
            values[key] = value
            return Array("ok".utf8)
        case .delete(let key):
            return Array((values.removeValue(forKey: key) == nil ? "absent" : "ok").utf8)
        }
    }

    public func snapshot() throws -> [UInt8] {
        [Self.snapshotVersion] + (try KeyValueCodec.encoder.encode(Snapshot(values: values, appliedCommands: appliedCommands)))
    }

    public mutating func restore(_ snapshot: [UInt8]) throws {
        guard let version = snapshot.first else {
            throw StateMachineError(.malformed, "key-value snapshot is empty")
        }
        guard version == Self.snapshotVersion else {
            throw StateMachineError(.unknownVersion, "key-value snapshot version \(version) is unknown to this build (it reads \(Self.snapshotVersion)); upgrade this node")
        }
        let decoded = try KeyValueCodec.decoder.decode(Snapshot.self, from: Array(snapshot[1...]))
        values = decoded.values
        appliedCommands = decoded.appliedCommands
    }

    private struct Snapshot: Codable {
        var values: [String: [UInt8]]
        var appliedCommands: Int
    }
}

enum KeyValueCodec {
    static let encoder = BinaryEncoder()
    static let decoder = BinaryDecoder(limits: .snapshot)
}
