import Metrics

/// The store's metrics, through swift-metrics (the executable bootstraps the backend).
///
/// Names (declared here until `NakshaObservability` owns them; keep them identical):
/// - `naksha_db_query_duration_seconds{op}` — timer per store operation, including retries;
/// - `naksha_db_errors_total{op}` — counter of failed attempts per operation;
/// - `naksha_db_pool_connections{state}` — gauge, `state` ∈ idle, in_use, connecting, waiting.
///
/// Labels are bounded: `op` is one of the store's constant operation names.
struct StoreMetrics: Sendable {
    static let queryDurationName = "naksha_db_query_duration_seconds"
    static let errorsName = "naksha_db_errors_total"
    static let poolConnectionsName = "naksha_db_pool_connections"

    private let factory: (any MetricsFactory)?

    /// `factory` nil uses the globally bootstrapped `MetricsSystem`.
    init(factory: (any MetricsFactory)?) {
        self.factory = factory
    }

    func recordDuration(operation: String, nanoseconds: Int64) {
        let dimensions = [("op", operation)]
        let timer: Timer
        if let factory {
            timer = Timer(label: Self.queryDurationName, dimensions: dimensions, factory: factory)
        } else {
            timer = Timer(label: Self.queryDurationName, dimensions: dimensions)
        }
        timer.recordNanoseconds(nanoseconds)
    }

    func recordError(operation: String) {
        let dimensions = [("op", operation)]
        if let factory {
            Counter(label: Self.errorsName, dimensions: dimensions, factory: factory).increment()
        } else {
            Counter(label: Self.errorsName, dimensions: dimensions).increment()
        }
    }

    func recordPool(idle: Int, inUse: Int, connecting: Int, waiting: Int) {
        for (state, value) in [("idle", idle), ("in_use", inUse), ("connecting", connecting), ("waiting", waiting)] {
            let dimensions = [("state", state)]
            if let factory {
                Gauge(label: Self.poolConnectionsName, dimensions: dimensions, factory: factory).record(value)
            } else {
                Gauge(label: Self.poolConnectionsName, dimensions: dimensions).record(value)
            }
        }
    }
}
