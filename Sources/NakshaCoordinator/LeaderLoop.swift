import NakshaRaft
import RaftCore
import ServiceLifecycle

/// A leader-only loop (the archiver, the lease reaper, placement), fenced by term: `body`
/// runs on this coordinator only while its Raft node leads, once per term in which it leads,
/// and is cancelled as soon as the node stops leading or the term changes. A service of the
/// coordinator's `ServiceGroup`; graceful shutdown cancels it.
///
/// Fencing, end to end: `body` receives the term it was started in and must make its writes
/// with `RaftNode.propose(_:machine:requestID:asLeaderOf:)`, which refuses them unless the
/// node still leads in that term — so a loop that lost leadership (and, say, regained it in a
/// later term) never writes with a stale view.
public struct LeaderLoop: Service {
    public let name: String
    let node: RaftNode
    let pollInterval: Duration
    let body: @Sendable (_ term: UInt64) async throws -> Void

    public init(name: String, node: RaftNode, pollInterval: Duration = .milliseconds(50), body: @escaping @Sendable (_ term: UInt64) async throws -> Void) {
        self.name = name
        self.node = node
        self.pollInterval = pollInterval
        self.body = body
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            var lastRun: UInt64? = nil
            while !Task.isCancelled {
                let status = try await node.status()
                guard status.role == "leader", status.term != lastRun else {
                    try await Task.sleep(for: pollInterval)
                    continue
                }
                let term = status.term
                lastRun = term
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await body(term) }
                    group.addTask {
                        // The fence: ends the group once this node no longer leads in `term`.
                        while true {
                            try await Task.sleep(for: pollInterval)
                            let now = try await node.status()
                            if now.role != "leader" || now.term != term { return }
                        }
                    }
                    defer { group.cancelAll() }
                    do {
                        _ = try await group.next()
                    } catch is CancellationError {
                        return
                    }
                }
            }
        }
    }
}
