import NakshaCore
import NakshaWire

/// The replicated state of a node: several sub-machines (the key-value map, the cluster
/// state, the address book …), each under a one-byte tag that its commands carry, plus the
/// window of recently applied request ids that makes every command apply at most once.
///
/// Invariants: deterministic (sub-machines are kept and snapshotted in tag order; the
/// request window evicts in log order); a command whose request id is in the window is not
/// applied again — its first result is returned; the snapshot carries a version that
/// `restore` checks, and every sub-machine's own versioned snapshot.
///
/// Snapshot layout (`WireWriter` fields: varints and length-prefixed blocks): `version byte (1)
/// | machine count | per machine: tag byte, block | lastTimestampMillis | request count | per
/// request: client, sequence, index, result block`.
public struct StateMachineHost: Sendable {
    public static let snapshotVersion: UInt8 = 1
    /// Request ids remembered by default (oldest evicted first).
    public static let defaultRequestWindow = 16_384

    private var tags: [UInt8]
    private var machines: [UInt8: any ReplicatedStateMachine]
    private var applied: [RequestID: (index: UInt64, result: [UInt8])] = [:]
    private var appliedOrder: [RequestID] = []
    private var appliedOrderStart = 0
    public let requestWindow: Int
    /// The newest leader timestamp applied (carried in snapshots so that a leader elected
    /// after a snapshot still stamps monotonically).
    public private(set) var lastTimestampMillis: UInt64 = 0
    /// Commands answered from the window instead of applied (duplicates).
    public private(set) var duplicatesDropped: UInt64 = 0

    public init(_ machines: [UInt8: any ReplicatedStateMachine], requestWindow: Int = StateMachineHost.defaultRequestWindow) {
        precondition(requestWindow > 0, "the request window must hold at least one id")
        self.machines = machines
        self.tags = machines.keys.sorted()
        self.requestWindow = requestWindow
    }

    /// The sub-machine under `tag`.
    public subscript(tag: UInt8) -> (any ReplicatedStateMachine)? { machines[tag] }

    /// Replaces the sub-machine under `tag` (for shells that update it in place).
    public mutating func update<T: ReplicatedStateMachine>(_ tag: UInt8, as type: T.Type, _ body: (inout T) -> Void) {
        guard var machine = machines[tag] as? T else { return }
        machines[tag] = nil  // keep the value uniquely referenced while it changes
        body(&machine)
        machines[tag] = machine
    }

    /// Whether `requestID` was applied and is still remembered, with its result.
    public func result(of requestID: RequestID) -> [UInt8]? { applied[requestID]?.result }

    /// Applies a decoded command at `index`/`term`, once per request id.
    public mutating func apply(_ envelope: CommandEnvelope, index: UInt64, term: UInt64) -> [UInt8] {
        lastTimestampMillis = max(lastTimestampMillis, envelope.timestampMillis)
        if let earlier = applied[envelope.requestID] {
            duplicatesDropped += 1
            return earlier.result
        }
        let result: [UInt8]
        if var machine = machines[envelope.machine] {
            machines[envelope.machine] = nil  // uniquely referenced: no copy of a large state
            let context = ApplyContext(index: index, term: term, timestampMillis: envelope.timestampMillis, requestID: envelope.requestID)
            result = machine.apply(envelope.payload, context: context)
            machines[envelope.machine] = machine
        } else {
            result = Array("error: no state machine \(envelope.machine) on this node".utf8)  // deterministic everywhere
        }
        remember(envelope.requestID, index: index, result: result)
        return result
    }

    private mutating func remember(_ requestID: RequestID, index: UInt64, result: [UInt8]) {
        applied[requestID] = (index, result)
        appliedOrder.append(requestID)
        while appliedOrder.count - appliedOrderStart > requestWindow {
            applied[appliedOrder[appliedOrderStart]] = nil
            appliedOrderStart += 1
        }
        if appliedOrderStart > requestWindow {
            appliedOrder.removeFirst(appliedOrderStart)
            appliedOrderStart = 0
        }
    }

    // MARK: Snapshots

    public func snapshot() throws -> [UInt8] {
        var writer = WireWriter()
        writer.byte(Self.snapshotVersion)
        writer.varint(UInt64(tags.count))
        for tag in tags {
            guard let machine = machines[tag] else { continue }
            writer.byte(tag)
            writer.block(try machine.snapshot())
        }
        writer.varint(lastTimestampMillis)
        let remembered = appliedOrder[appliedOrderStart...]
        writer.varint(UInt64(remembered.count))
        for requestID in remembered {
            guard let entry = applied[requestID] else { continue }
            writer.varint(requestID.client)
            writer.varint(requestID.sequence)
            writer.varint(entry.index)
            writer.block(entry.result)
        }
        return writer.bytes
    }

    /// Restores every sub-machine and the request window; throws (changing nothing) on an
    /// unknown version, a missing or unknown sub-machine, or malformed bytes.
    public mutating func restore(_ bytes: [UInt8]) throws {
        guard let version = bytes.first else { throw StateMachineError(.malformed, "node snapshot is empty") }
        guard version == Self.snapshotVersion else {
            throw StateMachineError(.unknownVersion, "node snapshot version \(version) is unknown to this build (it reads \(Self.snapshotVersion)); upgrade this node")
        }
        var restored = self
        try bytes.withUnsafeBytes { raw in
            var reader = WireReader(raw, context: "node snapshot")
            _ = try reader.byte()
            var seen: [UInt8] = []
            for _ in 0..<(try reader.count(minimumBytesEach: 2)) {
                let tag = try reader.byte()
                let data = try reader.block()
                guard var machine = restored.machines[tag] else {
                    throw StateMachineError(.unknownMachine, "the snapshot holds state machine \(tag), which this node does not host")
                }
                try machine.restore(data)
                restored.machines[tag] = machine
                seen.append(tag)
            }
            guard seen.sorted() == tags else {
                throw StateMachineError(.malformed, "the snapshot holds state machines \(seen.sorted()), this node hosts \(tags)")
            }
            restored.lastTimestampMillis = try reader.varint()
            restored.applied = [:]
            restored.appliedOrder = []
            restored.appliedOrderStart = 0
            for _ in 0..<(try reader.count(minimumBytesEach: 4)) {
                let requestID = RequestID(client: try reader.varint(), sequence: try reader.varint())
                let index = try reader.varint()
                restored.remember(requestID, index: index, result: try reader.block())
            }
            try reader.expectEnd()
        }
        restored.duplicatesDropped = duplicatesDropped
        self = restored
    }
}
