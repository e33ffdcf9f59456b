import Foundation
import NakshaActors

/// Drives `echo` calls at a peer for a fixed time with a fixed number in flight and prints
/// one JSON line: calls/s, MB/s and latency percentiles.
enum PeerBenchmark {
    static func run(peer: String, seconds: Double, inFlight: Int, payloadBytes: Int) async throws {
        let parts = peer.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else {
            throw RemoteCallError(.peerUnreachable, "--peer must be HOST:PORT, got \(peer)")
        }
        let system = try await NakshaActorSystem.start(ActorSystemConfiguration())
        let remote = try NodeDiagnostics.resolve(id: NodeDiagnostics.id(on: NodeAddress(host: String(parts[0]), port: port)), using: system)
        let payload = [UInt8](repeating: 7, count: payloadBytes)
        for _ in 0..<200 { _ = try await remote.echo(payload) }  // warm up
        let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<inFlight {
                group.addTask {
                    var samples: [Double] = []
                    while ContinuousClock.now < end {
                        let callStart = ContinuousClock.now
                        _ = try await remote.echo(payload)
                        let elapsed = ContinuousClock.now - callStart
                        samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
                    }
                    return samples
                }
            }
            var all: [Double] = []
            for try await samples in group { all += samples }
            return all.sorted()
        }
        let elapsed = ContinuousClock.now - started
        let elapsedSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let calls = Double(latencies.count)
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        let megabytes = calls * Double(payloadBytes) * 2 / 1_048_576
        print(String(
            format: "{\"inFlight\":%d,\"payloadBytes\":%d,\"calls\":%.0f,\"callsPerSecond\":%.0f,\"mibPerSecond\":%.1f,\"p50Micros\":%.0f,\"p99Micros\":%.0f}",
            inFlight, payloadBytes, calls, calls / elapsedSeconds, megabytes / elapsedSeconds, percentile(0.5), percentile(0.99)
        ))
        await system.shutdown()
    }
}
