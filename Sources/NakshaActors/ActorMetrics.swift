import CoreMetrics
import Distributed
import Synchronization
import NakshaCore

/// The transport's metrics, declared once:
/// `naksha_actor_calls_total{target,outcome}`, `naksha_actor_call_duration_seconds`,
/// `naksha_actor_connections`, `naksha_actor_bytes_total{direction}`,
/// `naksha_actor_frame_errors_total{code}`, `naksha_actor_handshake_failures_total{reason}`.
///
/// Label values are bounded: `target` is a distributed function's name (the code has a fixed
/// set), `outcome` a `RemoteCallError.Code` or `ok`.
final class ActorMetrics: Sendable {
    private let factory: any MetricsFactory
    private let callCounters = Mutex<[String: Counter]>([:])
    private let callDuration: Timer
    private let connections: Gauge
    private let connectionCount = Mutex(0)
    private let bytesSent: Counter
    private let bytesReceived: Counter
    private let frameErrors = Mutex<[String: Counter]>([:])
    private let handshakeFailures: [PeerHandshake.FailureReason: Counter]

    /// Metrics go to `factory`, or to the process-wide `MetricsSystem` when it is nil.
    init(factory: (any MetricsFactory)?) {
        let factory = factory ?? MetricsSystem.factory
        self.factory = factory
        callDuration = Timer(label: "naksha_actor_call_duration_seconds", dimensions: [], factory: factory)
        connections = Gauge(label: "naksha_actor_connections", dimensions: [], factory: factory)
        bytesSent = Counter(label: "naksha_actor_bytes_total", dimensions: [("direction", "sent")], factory: factory)
        bytesReceived = Counter(label: "naksha_actor_bytes_total", dimensions: [("direction", "received")], factory: factory)
        var failures: [PeerHandshake.FailureReason: Counter] = [:]
        for reason in PeerHandshake.FailureReason.allCases {
            failures[reason] = Counter(
                label: "naksha_actor_handshake_failures_total", dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        handshakeFailures = failures
    }

    /// Counts a finished call. The counter is cached per target identifier and outcome, so
    /// the target's name is demangled once, not on every call.
    func recordCall(target: RemoteCallTarget, outcome: String, duration: Duration) {
        let key = target.identifier + "\u{0}" + outcome
        let counter = callCounters.withLock { counters in
            if let existing = counters[key] { return existing }
            let name = Self.shortName(of: target)
            let created = Counter(
                label: "naksha_actor_calls_total", dimensions: [("target", name), ("outcome", outcome)], factory: factory)
            counters[key] = created
            return created
        }
        counter.increment()
        callDuration.recordNanoseconds(duration.inNanoseconds)
    }

    func connectionOpened() {
        connections.record(connectionCount.withLock { $0 += 1; return $0 })
    }

    func connectionClosed() {
        connections.record(connectionCount.withLock { $0 -= 1; return $0 })
    }

    func recordBytes(sent: Int) { bytesSent.increment(by: sent) }
    func recordBytes(received: Int) { bytesReceived.increment(by: received) }

    func recordFrameError(_ code: String) {
        let counter = frameErrors.withLock { counters in
            if let existing = counters[code] { return existing }
            let created = Counter(label: "naksha_actor_frame_errors_total", dimensions: [("code", code)], factory: factory)
            counters[code] = created
            return created
        }
        counter.increment()
    }

    /// Counts a connection refused or abandoned during its handshake (either role).
    func recordHandshakeFailure(_ reason: PeerHandshake.FailureReason) {
        handshakeFailures[reason]?.increment()
    }

    /// The bounded label for a target in metrics: the function's base name.
    static func shortName(of target: RemoteCallTarget) -> String {
        let description = target.description
        guard let paren = description.firstIndex(of: "(") else { return description }
        let head = description[..<paren]
        let name = head.split(separator: ".").last.map(String.init) ?? String(head)
        return name.split(separator: " ").last.map(String.init) ?? name
    }
}
