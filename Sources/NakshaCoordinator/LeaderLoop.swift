import Logging
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
///
/// A failure of `body` (a proposal refused because leadership moved, a database that is down)
/// is logged and `body` starts again after a second if the node still leads; it never ends
/// the coordinator's service group.
public struct LeaderLoop: Service {
    public let name: String
    let node: RaftNode
    let pollInterval: Duration
    let body: @Sendable (_ term: UInt64) async throws -> Void
    let logger: Logger

    public init(
        name: String, node: RaftNode, pollInterval: Duration = .milliseconds(50), logger: Logger = Logger(label: "leader-loop"),
        body: @escaping @Sendable (_ term: UInt64) async throws -> Void
    ) {
        self.name = name
        self.node = node
        self.pollInterval = pollInterval
        self.logger = logger
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
                do {
                    try await runFenced(term: term)
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("leader loop failed; it starts again if this node still leads", metadata: ["loop": "\(name)", "raft.term": "\(term)", "error": "\(error)"])
                    lastRun = nil
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    /// Runs `body` until it ends or this node no longer leads in `term`.
    private func runFenced(term: UInt64) async throws {
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
                    _ = try await group.next()
                }
    }
}
