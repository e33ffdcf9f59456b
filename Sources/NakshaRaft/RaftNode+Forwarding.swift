import Distributed
import NakshaActors
import RaftCore

extension RaftNode {
    /// The leader's ReadIndex (Raft thesis §6.4): once this returns `index`, any replica that
    /// has applied through `index` may serve a linearizable read. Leader only (a follower
    /// throws `notLeader`); `linearizableRead` asks it wherever the leader is.
    public distributed func readIndex() async throws -> UInt64 {
        let requestID = nextReadID
        nextReadID += 1
        return try await withCheckedThrowingContinuation { continuation in
            readWaiters[requestID] = continuation
            do {
                try core.readIndex(requestID: requestID)
                scheduleFlush()
            } catch {
                if let waiter = readWaiters.removeValue(forKey: requestID) { waiter.resume(throwing: error) }
            }
        }
    }

    /// Proposes `command` at whichever node leads: here if this node is the leader, else
    /// forwarded to the leader (following `notLeader` hints while leadership moves) until
    /// `timeout` has passed. Returns the state machine's result.
    public func submit(_ command: [UInt8], timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        try await atLeader(timeout: timeout) { try await $0.propose(command) }
    }

    /// A linearizable read served by this replica: the leader's ReadIndex (asked remotely
    /// on a follower), then a wait until this replica has applied through it.
    public func linearizableRead<T: Sendable>(
        timeout: Duration = .seconds(5), _ body: @Sendable (any ReplicatedStateMachine) -> T
    ) async throws -> T {
        let index = try await atLeader(timeout: timeout) { try await $0.readIndex() }
        try await waitUntilApplied(index)
        return body(machine)
    }

    func waitUntilApplied(_ index: LogIndex) async throws {
        guard applied < index else { return }
        _ = try await withCheckedThrowingContinuation { continuation in
            pendingReads.append((index, continuation))
        }
    }

    /// Runs `operation` on the leader's `RaftNode` — this one (a local call) or a proxy —
    /// retrying while there is no leader or it moves, until `timeout` has passed.
    public func atLeader<T: Sendable>(
        timeout: Duration = .seconds(5), _ operation: @Sendable (RaftNode) async throws -> T
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        var lastError: any Error = RaftError.notLeader(leaderHint: nil)
        while ContinuousClock.now < deadline {
            let target = core.role == .leader ? self : core.leader.flatMap { peerNode($0) }
            if let target {
                do {
                    return try await NakshaActorSystem.$callTimeout.withValue(deadline - .now) { try await operation(target) }
                } catch let error as RaftError where error.code == .notLeader || error.code == .leaderTransferInProgress {
                    lastError = error
                } catch let error as RemoteCallError where error.code == .peerUnreachable || error.code == .connectionLost {
                    lastError = error  // the leader just died: wait for the next one
                }
            }
            try await Task.sleep(for: options.tickInterval)
        }
        throw lastError
    }
}
