import Logging
import NakshaActors
import NakshaClusterAPI
import NakshaCore

/// The worker's way to the leader's `ClusterEndpoint`. It remembers the coordinator that
/// answered last; a `notLeader` answer moves it to the named leader, and an unreachable or
/// failing coordinator moves it to the next in the list, with backoff, until the call's
/// deadline.
///
/// Only errors that say nothing was done, or that make a repeat harmless, are retried here:
/// a repeated `lease` at worst leases tasks nobody heartbeats (they expire and are leased
/// again); a repeated `complete` or `fail` after one that applied is answered `staleLease`,
/// which the caller treats as done. `ClusterAPIError`s other than `notLeader` are the
/// cluster's answer and are thrown as they are.
actor ClusterConnection {
    let system: NakshaActorSystem
    let coordinators: [NodeAddress]
    let logger: Logger
    private var current: NodeAddress?
    private var next = 0
    /// When a leader last answered a call (a follower's `notLeader` does not count).
    private(set) var lastContact: ContinuousClock.Instant?

    init(system: NakshaActorSystem, coordinators: [NodeAddress], logger: Logger) {
        self.system = system
        self.coordinators = coordinators
        self.logger = logger
    }

    func call<T: Sendable>(
        _ what: String, within budget: Duration, callTimeout: Duration = .seconds(10),
        _ body: @escaping @Sendable (ClusterEndpoint) async throws -> T
    ) async throws -> T {
        let deadline = ContinuousClock.now + budget
        var backoff = Duration.milliseconds(50)
        while true {
            try Task.checkCancellation()
            let target = current ?? coordinators[next % coordinators.count]
            do {
                let endpoint = try ClusterEndpoint.at(target, system: system)
                let answer = try await NakshaActorSystem.$callTimeout.withValue(callTimeout) { try await body(endpoint) }
                current = target
                lastContact = .now
                return answer
            } catch let error as ClusterAPIError where error.code == ClusterAPIError.notLeader {
                current = error.leaderAddress.flatMap { try? WorkerConfiguration.parseCoordinators($0).first }  // unparsable: try the list
                if current == nil || current == target { advance(from: target) }
            } catch let error as ClusterAPIError {
                lastContact = .now
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch let error as RemoteCallError where error.code == .serializationFailed {
                throw error  // the same call fails the same way anywhere: not retried
            } catch {
                logger.debug("coordinator call failed", metadata: ["call": "\(what)", "coordinator": "\(target)", "error": "\(error)"])
                advance(from: target)
                if ContinuousClock.now + backoff >= deadline { throw error }
            }
            guard ContinuousClock.now < deadline else {
                throw WorkerError(.coordinatorsUnreachable, "\(what): no coordinator leader answered within \(budget)")
            }
            try await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(1))
        }
    }

    private func advance(from target: NodeAddress) {
        current = nil
        if let index = coordinators.firstIndex(of: target) { next = index + 1 } else { next += 1 }
    }
}
