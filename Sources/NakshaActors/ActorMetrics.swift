import CoreMetrics
import Synchronization

/// The transport's metrics, declared once:
/// `naksha_actor_calls_total{target,outcome}`, `naksha_actor_call_duration_seconds`,
/// `naksha_actor_connections`, `naksha_actor_bytes_total{direction}`,
/// `naksha_actor_frame_errors_total{code}`.
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

    /// Metrics go to `factory`, or to the process-wide `MetricsSystem` when it is nil.
    init(factory: (any MetricsFactory)?) {
        let factory = factory ?? MetricsSystem.factory
        self.factory = factory
        callDuration = Timer(label: "naksha_actor_call_duration_seconds", dimensions: [], factory: factory)
        connections = Gauge(label: "naksha_actor_connections", dimensions: [], factory: factory)
        bytesSent = Counter(label: "naksha_actor_bytes_total", dimensions: [("direction", "sent")], factory: factory)
        bytesReceived = Counter(label: "naksha_actor_bytes_total", dimensions: [("direction", "received")], factory: factory)
    }

    func recordCall(target: String, outcome: String, duration: Duration) {
        let key = target + "\u{0}" + outcome
        let counter = callCounters.withLock { counters in
            if let existing = counters[key] { return existing }
            let created = Counter(
                label: "naksha_actor_calls_total", dimensions: [("target", target), ("outcome", outcome)], factory: factory)
            counters[key] = created
            return created
        }
        counter.increment()
        let (seconds, attoseconds) = duration.components
        callDuration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
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
}
