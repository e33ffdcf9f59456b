import CoreMetrics
import Prometheus
import Synchronization

/// The process-wide Prometheus registry behind `/metrics`.
///
/// `bootstrap()` installs it as swift-metrics' backend once per process (later calls return
/// the same export); every target's metrics (`naksha_<area>_<what>_<unit>`) then land in it.
public final class MetricsExport: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    private static let shared = Mutex<MetricsExport?>(nil)

    private init() {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// The process's export, bootstrapping swift-metrics with it on first use.
    public static func bootstrap() -> MetricsExport {
        shared.withLock { current in
            if let current { return current }
            let export = MetricsExport()
            MetricsSystem.bootstrap(export.factory)
            current = export
            return export
        }
    }

    /// The Prometheus text exposition of every metric.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// The content type of `render()`'s output.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}
