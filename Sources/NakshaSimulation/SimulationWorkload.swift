import NakshaCore
import NakshaRaftStorage
import RaftCore

/// Where a workload lives in the simulation: its state machine's tag on every replica, and
/// the lowest client id of its request ids (the digest machine's commands use lower ones).
public enum SimulationWorkloadTag {
    public static let machine: UInt8 = 1
    public static let firstClient: UInt64 = 100
}

/// An application run through the simulated log next to the digest machine — for example
/// the coordinators' `ClusterState`, driven by scripted clients — so that its guarantees are
/// checked under the same crashes, partitions, leader changes and disk faults as Raft's.
///
/// The simulation asks it for commands (proposed at the node it would propose a digest
/// command at, with the request id it returns: a repeated request id is a client retrying
/// after an unknown outcome), and tells it the result of every one of its commands, once per
/// log index, in index order.
public protocol SimulationWorkload {
    /// A fresh replica of the application's state machine (each node start and each
    /// snapshot check makes one).
    func makeMachine() -> any ReplicatedStateMachine
    /// The next command to propose, or nil for none this time. `nowMillis` is the proposing
    /// node's clock. Request ids must use clients from `SimulationWorkloadTag.firstClient`.
    mutating func nextCommand(_ random: inout SeededGenerator, nowMillis: UInt64) -> (bytes: [UInt8], requestID: RequestID)?
    /// A command of the workload's was applied at `index` with `result`.
    mutating func applied(index: UInt64, requestID: RequestID, result: [UInt8])
}

extension Simulation {
    mutating func proposeWorkloadCommand(at position: Int) {
        guard var current = workload, let (bytes, requestID) = current.nextCommand(&random, nowMillis: now) else { return }
        workload = current
        let id = nodes[position].id
        do {
            if let index = try nodes[position].replica?.propose(bytes, machine: SimulationWorkloadTag.machine, requestID: requestID, nowMillis: now) {
                stats.proposals += 1
                record("propose workload \(requestID) at \(id) index \(index)", 32, index)
            }
        } catch {
            // Refused (not the leader, too many uncommitted entries): the client tries again later.
        }
    }

    /// Each running replica's workload state machine, by node id (for checks after a run).
    public func workloadMachines() -> [(node: UInt64, machine: any ReplicatedStateMachine)] {
        nodes.compactMap { node in
            guard let machine = node.replica?.host[SimulationWorkloadTag.machine] else { return nil }
            return (node.id.rawValue, machine)
        }
    }
}
