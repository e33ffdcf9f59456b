import CoreMetrics

/// The worker's metrics:
/// `naksha_worker_tasks_total{kind,result}` (`succeeded`, `failed`, `retrying`, `stopped`,
/// `cached`, `not_recorded`), `naksha_worker_task_duration_seconds{kind}`,
/// `naksha_worker_tasks_running`, and `naksha_worker_provider_throttled_total{provider}`
/// (429s this worker reported). Labels are bounded: node kinds and results are enums,
/// provider keys come from registered graphs.
enum WorkerMetrics {
    static func finished(kind: String, result: String, seconds: Double) {
        Counter(label: "naksha_worker_tasks_total", dimensions: [("kind", kind), ("result", result)]).increment()
        Timer(label: "naksha_worker_task_duration_seconds", dimensions: [("kind", kind)]).recordNanoseconds(Int64(seconds * 1e9))
    }

    static func running(_ count: Int) {
        Gauge(label: "naksha_worker_tasks_running").record(count)
    }

    static func throttled(provider: String) {
        Counter(label: "naksha_worker_provider_throttled_total", dimensions: [("provider", provider)]).increment()
    }
}
