/// What a `RaftNode` applies committed commands to.
///
/// Invariants: `apply` is deterministic — every replica that applies the same commands in
/// the same order reaches the same state and returns the same results; `snapshot` followed
/// by `restore` on another replica yields an equal state.
public protocol ReplicatedStateMachine: Sendable {
    /// Applies one committed command (at log `index`) and returns its result for the proposer.
    mutating func apply(_ command: [UInt8], index: UInt64) -> [UInt8]
    /// The whole state, for a snapshot.
    func snapshot() -> [UInt8]
    /// Replaces the whole state with a snapshot's.
    mutating func restore(_ snapshot: [UInt8]) throws
}

/// A small replicated key-value map: the coordinator's state machine until `ClusterState`
/// exists, and the target of `naksha bench raft` afterwards.
public struct KeyValueStateMachine: ReplicatedStateMachine, Equatable {
    /// A command, as proposed (binary codec).
    public enum Command: Codable, Sendable, Equatable {
        case put(key: String, value: [UInt8])
        case delete(key: String)
    }

    /// A command's bytes, as `propose` takes them.
    public static func encode(_ command: Command) throws -> [UInt8] {
        try KeyValueCodec.encoder.encode(command)
    }

    public private(set) var values: [String: [UInt8]] = [:]
    public private(set) var appliedCommands = 0

    public init() {}

    public mutating func apply(_ command: [UInt8], index: UInt64) -> [UInt8] {
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

    public func snapshot() -> [UInt8] {
        (try? KeyValueCodec.encoder.encode(Snapshot(values: values, appliedCommands: appliedCommands))) ?? []
    }

    public mutating func restore(_ snapshot: [UInt8]) throws {
        if snapshot.isEmpty {
            self = KeyValueStateMachine()
            return
        }
        let decoded = try KeyValueCodec.decoder.decode(Snapshot.self, from: snapshot)
        values = decoded.values
        appliedCommands = decoded.appliedCommands
    }

    private struct Snapshot: Codable {
        var values: [String: [UInt8]]
        var appliedCommands: Int
    }
}

import NakshaWire

enum KeyValueCodec {
    static let encoder = BinaryEncoder()
    static let decoder = BinaryDecoder(limits: .snapshot)
}
