import Foundation
import NakshaVector

/// Timing and machine-readable output: one JSON object per line on stdout, also appended
/// to `<dir>/swift_results.jsonl`.
final class Report: @unchecked Sendable {
    let path: String
    init(directory: String) {
        path = directory + "/swift_results.jsonl"
        FileManager.default.createFile(atPath: path, contents: nil)
    }

    func emit(_ fields: [(String, Any)]) {
        let body = fields.map { key, value -> String in
            switch value {
            case let s as String: return "\"\(key)\":\"\(s)\""
            case let d as Double: return "\"\(key)\":\(String(format: "%.4f", d))"
            default: return "\"\(key)\":\(value)"
            }
        }.joined(separator: ",")
        let line = "{\(body)}\n"
        FileHandle.standardOutput.write(Data(line.utf8))
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(Data(line.utf8))
            try? handle.close()
        }
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}

/// CPU time of the calling thread, in seconds (excludes time the thread waited for a core,
/// which on the shared machine is most of the noise in wall-clock numbers).
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Runs `body` and returns (wall seconds, calling-thread CPU seconds).
func timed(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
    let cpuStart = threadCPUSeconds()
    let wall = try seconds(body)
    return (wall, threadCPUSeconds() - cpuStart)
}

func recallAt10(_ results: [[Neighbor]], _ truth: [[UInt64]]) -> Double {
    var total = 0.0
    for (r, t) in zip(results, truth) {
        total += Double(Set(r.prefix(10).map(\.id)).intersection(t.prefix(10)).count) / Double(min(10, max(1, t.count)))
    }
    return total / Double(max(1, results.count))
}

/// Runs `body(i)` for i in 0..<threads concurrently.
func parallel(_ threads: Int, _ body: @Sendable (Int) -> Void) {
    if threads == 1 { body(0); return }
    DispatchQueue.concurrentPerform(iterations: threads, execute: body)
}

/// A box so concurrent workers can write disjoint slots of one result array.
final class Slots<T>: @unchecked Sendable {
    var values: [T]
    init(_ values: [T]) { self.values = values }
}
