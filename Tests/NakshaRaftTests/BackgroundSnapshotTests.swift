import Distributed
import Foundation
import MetricsTestKit
import NakshaActors
import NakshaRaft
import RaftCore
import Synchronization
import Testing

/// Snapshots are serialised and written off the node: a slow snapshot does not stop it.
@Suite(.serialized) struct BackgroundSnapshotTests {
    /// Holds `snapshot()` until the test opens it, and says when a snapshot has begun.
    final class Gate: Sendable {
        private let state = Mutex((entered: 0, open: false))
        private let opened = DispatchSemaphore(value: 0)

        var entered: Int { state.withLock { $0.entered } }

        func pass() {
            let mustWait = state.withLock { state -> Bool in
                state.entered += 1
                return !state.open
            }
            if mustWait { opened.wait() }
        }

        func open() {
            let waiting = state.withLock { state -> Int in
                state.open = true
                return state.entered
            }
            for _ in 0..<waiting { opened.signal() }
        }
    }

    /// A key-value machine whose snapshots wait at a gate (they run on a Dispatch thread,
    /// never on the node, so blocking there is what a slow disk or a huge state looks like).
    struct GatedMachine: ReplicatedStateMachine {
        var inner = KeyValueStateMachine()
        let gate: Gate

        mutating func apply(_ command: [UInt8], index: UInt64) -> [UInt8] { inner.apply(command, index: index) }
        func snapshot() -> [UInt8] {
            gate.pass()
            return inner.snapshot()
        }
        mutating func restore(_ snapshot: [UInt8]) throws { try inner.restore(snapshot) }
    }

    @Test func theNodeKeepsCommittingWhileASnapshotIsWritten() async throws {
        let system = try await NakshaActorSystem.start(ActorSystemConfiguration(rebuildableErrors: [RaftError.self]))
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let gate = Gate()
        let node = try RaftNode.start(
            id: 1, peers: [1: system.address], directory: directory, machine: GatedMachine(gate: gate),
            options: RaftNode.Options(tickInterval: .milliseconds(10), electionTimeoutTicks: 10, snapshotEveryEntries: 10),
            system: system)
        let runner = Task { _ = await node.whenLocal { await $0.run() } }
        #expect(try await RaftNodeTests.waitFor { (try? await node.status().role) == "leader" })

        for index in 0..<10 { _ = try await node.propose(try RaftNodeTests.put("a\(index)", "v")) }
        // The snapshot has begun and is now held at the gate.
        #expect(try await RaftNodeTests.waitFor { gate.entered == 1 })
        // Meanwhile the node commits and answers, and reports no durable snapshot yet. (Had the
        // snapshot run on the node, these would wait for the gate: bounded, then reported.)
        let answered = Mutex(0)
        let proposals = Task {
            for index in 0..<50 where try await node.propose(try RaftNodeTests.put("b\(index)", "v")) == Array("ok".utf8) {
                answered.withLock { $0 += 1 }
            }
        }
        let allAnswered = try await RaftNodeTests.waitFor(timeout: .seconds(20)) { answered.withLock { $0 } == 50 }
        #expect(allAnswered, "proposals waited for the snapshot: \(answered.withLock { $0 }) of 50 answered")
        if allAnswered {
            #expect(try await node.status().snapshotIndex == 0)
            #expect(gate.entered == 1, "one snapshot at a time")
        }

        gate.open()
        try await proposals.value
        #expect(try await RaftNodeTests.waitFor { (try? await node.status().snapshotIndex) ?? 0 >= 10 })
        // The snapshot on disk holds the state as of its index, not what came after.
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/snapshots").filter { $0.hasSuffix(".snap") }
        #expect(files.count >= 1)
        let stored = try #require(try SnapshotStore(directory: "\(directory)/snapshots").latest().snapshot)
        #expect(stored.index >= 10 && stored.index < 60)

        runner.cancel()
        await runner.value
        await system.shutdown()
    }

    /// A snapshot that cannot be written (here: its directory replaced by a file, a real
    /// `ENOTDIR` from the kernel) is counted and logged; the node keeps serving, keeps its
    /// whole log, and the next snapshot after the disk recovers is written. A restart then
    /// has every acknowledged write.
    @Test func aFailedSnapshotLosesNothingAndTheNextOneSucceeds() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let options = RaftNode.Options(tickInterval: .milliseconds(10), electionTimeoutTicks: 10, snapshotEveryEntries: 10)
        var system = try await NakshaActorSystem.start(ActorSystemConfiguration(rebuildableErrors: [RaftError.self]))
        let metrics = TestMetrics()
        var node = try RaftNode.start(
            id: 1, peers: [1: system.address], directory: directory, machine: KeyValueStateMachine(), options: options,
            metrics: RaftMetrics(factory: metrics), system: system)
        var runner = Task { [node] in _ = await node.whenLocal { await $0.run() } }
        #expect(try await RaftNodeTests.waitFor { (try? await node.status().role) == "leader" })

        let snapshots = "\(directory)/snapshots"
        try FileManager.default.removeItem(atPath: snapshots)
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: snapshots))
        for index in 0..<10 { _ = try await node.propose(try RaftNodeTests.put("a\(index)", "v")) }
        #expect(try await RaftNodeTests.waitFor {
            ((try? metrics.expectCounter("naksha_raft_snapshot_failures_total"))?.totalValue ?? 0) >= 1
        })
        #expect(try await node.status().snapshotIndex == 0)
        #expect(try await node.propose(try RaftNodeTests.put("during", "v")) == Array("ok".utf8))

        // The disk recovers: the next snapshot is written and covers everything before it.
        try FileManager.default.removeItem(atPath: snapshots)
        try FileManager.default.createDirectory(atPath: snapshots, withIntermediateDirectories: false)
        for index in 0..<20 { _ = try await node.propose(try RaftNodeTests.put("b\(index)", "v")) }
        #expect(try await RaftNodeTests.waitFor { (try? await node.status().snapshotIndex) ?? 0 > 10 })

        // Restart from disk: every acknowledged write is there.
        runner.cancel()
        await runner.value
        await system.shutdown()
        system = try await NakshaActorSystem.start(ActorSystemConfiguration(rebuildableErrors: [RaftError.self]))
        node = try RaftNode.start(id: 1, peers: [1: system.address], directory: directory, machine: KeyValueStateMachine(), options: options, system: system)
        runner = Task { [node] in _ = await node.whenLocal { await $0.run() } }
        #expect(try await RaftNodeTests.waitFor { (try? await node.status().role) == "leader" })
        let keys = ["a0", "a9", "during", "b0", "b19"]
        #expect(try await RaftNodeTests.waitFor {
            await node.whenLocal { node in
                node.readLocal { machine in keys.allSatisfy { (machine as? KeyValueStateMachine)?.values[$0] != nil } }
            } ?? false
        })
        runner.cancel()
        await runner.value
        await system.shutdown()
    }
}
