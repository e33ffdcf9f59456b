import Distributed
import NakshaActors
import NakshaCore
import NakshaRaftStorage
import RaftCore

extension RaftNode {
    /// The leader's ReadIndex (Raft thesis §6.4): once this returns `index`, any replica that
    /// has applied through `index` may serve a linearizable read. Leader only (a follower
    /// throws `notLeader`); `linearizableRead` asks it wherever the leader is. Ends with
    /// `notLeader` if leadership moves first, `deadlineExceeded` after `requestTimeout`.
    public distributed func readIndex() async throws -> UInt64 {
        try replica.checkRunning()
        let requestID = nextReadID
        nextReadID += 1
        let deadline = ContinuousClock.now + options.requestTimeout
        return try await withCheckedThrowingContinuation { continuation in
            readWaiters[requestID] = ReadWaiter(deadline: deadline, continuation: continuation)
            do {
                try replica.withCore { core throws(RaftError) in try core.readIndex(requestID: requestID) }
                scheduleFlush()
            } catch {
                if let waiter = readWaiters.removeValue(forKey: requestID) { waiter.continuation.resume(throwing: error) }
            }
        }
    }

    /// Proposes `command` at whichever node leads: here if this node is the leader, else
    /// forwarded to the leader, until `timeout` has passed. Returns the state machine's
    /// result.
    ///
    /// Retries only what certainly did not append (`notLeader`, a transfer in progress, a
    /// leader that could not be reached); an answer lost after the command was sent is
    /// `outcomeUnknown`, never retried here. The command carries `requestID` (a fresh one by
    /// default): retrying it with the same id later applies it at most once.
    public func submit(
        _ command: [UInt8], machine: UInt8 = RaftNode.primaryMachineTag, requestID: RequestID? = nil,
        timeout: Duration = .seconds(5)
    ) async throws -> [UInt8] {
        let proposal = Proposal(requestID: requestID ?? RequestID(client: localClient, sequence: nextSequence()), machine: machine, command: command)
        return try await atLeader(timeout: timeout, idempotent: false) { try await $0.proposeRequest(proposal) }
    }

    private func nextSequence() -> UInt64 {
        defer { nextLocalSequence += 1 }
        return nextLocalSequence
    }

    /// A linearizable read served by this replica's primary state machine: the leader's
    /// ReadIndex (asked remotely on a follower), then a wait until this replica has applied
    /// through it.
    public func linearizableRead<T: Sendable>(
        timeout: Duration = .seconds(5), _ body: @Sendable (any ReplicatedStateMachine) -> T
    ) async throws -> T {
        try await linearizableRead(machine: Self.primaryMachineTag, timeout: timeout, body)
    }

    /// A linearizable read of sub-machine `machine`.
    public func linearizableRead<T: Sendable>(
        machine: UInt8, timeout: Duration = .seconds(5), _ body: @Sendable (any ReplicatedStateMachine) -> T
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        let index = try await atLeader(timeout: timeout, idempotent: true) { try await $0.readIndex() }
        try await waitUntilApplied(index, deadline: deadline)
        guard let state = replica.host[machine] else {
            throw StateMachineError(.unknownMachine, "this node hosts no state machine \(machine)")
        }
        return body(state)
    }

    func waitUntilApplied(_ index: LogIndex, deadline: ContinuousClock.Instant) async throws {
        try replica.checkRunning()
        guard applied < index else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            pendingReads.append((index, deadline, continuation))
        }
    }

    /// Runs `operation` on the leader's `RaftNode` — this one (a local call) or a proxy —
    /// retrying while there is no leader or it moves, until `timeout` has passed.
    ///
    /// With `idempotent: false` (proposals) only failures that prove the operation did not
    /// run are retried; a connection lost or a deadline passed after it was sent becomes
    /// `outcomeUnknown`.
    public func atLeader<T: Sendable>(
        timeout: Duration = .seconds(5), idempotent: Bool = true, _ operation: @Sendable (RaftNode) async throws -> T
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        var lastError: any Error = RaftError.notLeader(leaderHint: nil)
        while ContinuousClock.now < deadline {
            try replica.checkRunning()
            let target = core.role == .leader ? self : core.leader.flatMap { peerNode($0) }
            if let target {
                do {
                    return try await NakshaActorSystem.$callTimeout.withValue(deadline - .now) { try await operation(target) }
                } catch let error as RaftError where error.code == .notLeader || error.code == .leaderTransferInProgress {
                    lastError = error
                } catch let error as RemoteCallError where error.code == .peerUnreachable {
                    lastError = error  // never connected: nothing was sent
                } catch let error as RemoteCallError where error.code == .connectionLost || error.code == .deadlineExceeded {
                    guard idempotent else {
                        throw RaftError.outcomeUnknown("the leader's answer was lost (\(error.code))", leaderHint: core.leader)
                    }
                    lastError = error  // the leader just died: wait for the next one
                }
            }
            try await Task.sleep(for: options.tickInterval)
        }
        throw lastError
    }
}
