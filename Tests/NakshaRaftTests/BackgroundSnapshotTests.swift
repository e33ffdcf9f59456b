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

        mutating func apply(_ command: [UInt8], context: ApplyContext) -> [UInt8] { inner.apply(command, context: context) }
        func snapshot() throws -> [UInt8] {
            gate.pass()
            return try inner.snapshot()
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
    /// `ENOTDIR` from the kernel) stops the node (fail-stop, as etcd): it is counted, the
    /// stop callback fires once, waiting and later proposals fail with `nodeStopped`, and the
    /// node writes nothing more. After the disk recovers a restart has every acknowledged
    /// write, and snapshots work again.
    @Test func aSnapshotThatCannotBeWrittenStopsTheNodeAndARestartLosesNothing() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stops = Mutex<[String]>([])
        var options = RaftNode.Options(tickInterval: .milliseconds(10), electionTimeoutTicks: 10, snapshotEveryEntries: 10)
        options.onStop = { error in stops.withLock { $0.append("\(error)") } }
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
        // The snapshot at entry 10 fails in the background while proposals go on: the ones
        // acknowledged before the node stops must survive; the first refused one ends the loop.
        var acknowledged: [String] = []
        for index in 0..<20 {
            do {
                _ = try await node.propose(try RaftNodeTests.put("a\(index)", "v"))
                acknowledged.append("a\(index)")
            } catch let error as RaftError where error.code == .nodeStopped {
                break
            }
        }
        #expect(acknowledged.count >= 9, "the writes before the snapshot point were acknowledged: \(acknowledged)")
        #expect(try await RaftNodeTests.waitFor { stops.withLock { $0.count } == 1 })
        #expect(stops.withLock { $0.first?.contains("snapshots") } == true, "\(stops.withLock { $0 })")
        #expect(((try? metrics.expectCounter("naksha_raft_snapshot_failures_total"))?.totalValue ?? 0) >= 1)
        #expect(await node.whenLocal { $0.stopReason } != nil)
        do {
            _ = try await node.propose(try RaftNodeTests.put("after", "v"))
            Issue.record("a stopped node accepted a proposal")
        } catch let error as RaftError {
            #expect(error.code == .nodeStopped)
        }
        // The clock loop ended with the stop.
        await runner.value
        #expect(stops.withLock { $0.count } == 1, "the stop is announced once")

        // The disk recovers; restart from it: every acknowledged write is there, and the next
        // snapshot is written.
        await system.shutdown()
        try FileManager.default.removeItem(atPath: snapshots)
        try FileManager.default.createDirectory(atPath: snapshots, withIntermediateDirectories: false)
        system = try await NakshaActorSystem.start(ActorSystemConfiguration(rebuildableErrors: [RaftError.self]))
        node = try RaftNode.start(id: 1, peers: [1: system.address], directory: directory, machine: KeyValueStateMachine(), options: options, system: system)
        runner = Task { [node] in _ = await node.whenLocal { await $0.run() } }
        #expect(try await RaftNodeTests.waitFor { (try? await node.status().role) == "leader" })
        let keys = acknowledged
        #expect(try await RaftNodeTests.waitFor {
            await node.whenLocal { node in
                node.readLocal { machine in keys.allSatisfy { (machine as? KeyValueStateMachine)?.values[$0] != nil } }
            } ?? false
        })
        for index in 0..<20 { _ = try await node.propose(try RaftNodeTests.put("b\(index)", "v")) }
        #expect(try await RaftNodeTests.waitFor { (try? await node.status().snapshotIndex) ?? 0 > 10 })
        runner.cancel()
        await runner.value
        await system.shutdown()
    }
}
