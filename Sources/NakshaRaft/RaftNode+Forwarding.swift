import Distributed
import NakshaActors
import RaftCore

extension RaftNode {
    /// The leader's ReadIndex (Raft thesis §6.4): once this returns `index`, any replica that
    /// has applied through `index` may serve a linearizable read. Leader only.
    public distributed func readIndex() async throws -> UInt64 {
        try await confirmedReadIndex()
    }

    /// Runs one ReadIndex round here (the leader) and returns the confirmed index.
    func confirmedReadIndex() async throws -> LogIndex {
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
        try await atLeader(timeout: timeout) { node, isLocal in
            isLocal ? try await self.propose(command) : try await node.propose(command)
        }
    }

    /// A linearizable read served by this replica: the leader's ReadIndex (asked remotely
    /// on a follower), then a wait until this replica has applied through it.
    public func linearizableRead<T: Sendable>(
        timeout: Duration = .seconds(5), _ body: @Sendable (any ReplicatedStateMachine) -> T
    ) async throws -> T {
        let index = try await atLeader(timeout: timeout) { node, isLocal in
            isLocal ? try await self.confirmedReadIndex() : try await node.readIndex()
        }
        try await waitUntilApplied(index)
        return body(machine)
    }

    func waitUntilApplied(_ index: LogIndex) async throws {
        guard applied < index else { return }
        _ = try await withCheckedThrowingContinuation { continuation in
            pendingReads.append((index, continuation))
        }
    }

    /// Runs `operation` at the leader, retrying while there is none or it moves.
    private func atLeader<T: Sendable>(
        timeout: Duration, _ operation: (RaftNode, Bool) async throws -> T
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        var lastError: any Error = RaftError.notLeader(leaderHint: nil)
        while ContinuousClock.now < deadline {
            let target: (node: RaftNode, isLocal: Bool)?
            if core.role == .leader {
                target = (self, true)
            } else if let leader = core.leader, let node = proxy(for: leader) {
                target = (node, false)
            } else {
                target = nil
            }
            if let target {
                do {
                    return try await NakshaActorSystem.$callTimeout.withValue(deadline - .now) {
                        try await operation(target.node, target.isLocal)
                    }
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
