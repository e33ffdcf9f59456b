import Glibc
import Logging
import NakshaCore
import Synchronization

/// Structured logs: one JSON object per line on standard error, with `ts` (seconds since
/// the epoch), `level`, `app` (always `naksha`), `component` (the logger's label), `msg`,
/// and the metadata as string fields.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let component: String

    public init(component: String, level: Logger.Level = .info) {
        self.component = component
        self.logLevel = level
    }

    /// Makes every `Logger` in the process log JSON lines at `level` (once per process).
    public static func bootstrap(level: Logger.Level = .info) {
        bootstrapped.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in JSONLogHandler(component: label, level: level) }
        }
    }

    private static let bootstrapped = Mutex(false)

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("ts", Self.timestamp()), ("level", event.level.rawValue), ("app", "naksha"), ("component", component),
            ("msg", event.message.description),
        ]
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) { fields.append((key, "\(value)")) }
        var line = "{"
        for (position, field) in fields.enumerated() {
            if position > 0 { line += "," }
            line += JSONText.quoted(field.0) + ":" + (field.0 == "ts" ? field.1 : JSONText.quoted(field.1))
        }
        line += "}\n"
        Self.write(line)
    }

    private static func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            _ = Glibc.write(2, buffer.baseAddress, buffer.count)
        }
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let millis = String(now.tv_nsec / 1_000_000)
        return "\(now.tv_sec)." + String(repeating: "0", count: 3 - millis.count) + millis
    }
}
