import Distributed
import Foundation
import NakshaActors
import NakshaRaft
import RaftCore
import Synchronization
import NakshaTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Three `naksha coordinator` processes on loopback, driven and killed by the test.
@Suite(.serialized) struct CoordinatorProcessTests {
    /// A group of coordinator processes with ports below the ephemeral range.
    final class ProcessCluster: @unchecked Sendable {
        let directory: String
        let peerPorts: [UInt64: Int]
        let httpPorts: [UInt64: Int]
        let clientPorts: [UInt64: Int]
        let snapshotEvery: Int
        var processes: [UInt64: Process] = [:]
        var stderrPaths: [UInt64: String] = [:]

        init(nodes: Int = 3, snapshotEvery: Int = 10_000) throws {
            directory = try Self.temporaryDirectory()
            var peerPorts: [UInt64: Int] = [:]
            var httpPorts: [UInt64: Int] = [:]
            var clientPorts: [UInt64: Int] = [:]
            var taken: Set<Int> = []
            for id in 1...UInt64(nodes) {
                peerPorts[id] = try stableLoopbackPort(avoiding: &taken)
                httpPorts[id] = try stableLoopbackPort(avoiding: &taken)
                clientPorts[id] = try stableLoopbackPort(avoiding: &taken)
            }
            self.peerPorts = peerPorts
            self.httpPorts = httpPorts
            self.clientPorts = clientPorts
            self.snapshotEvery = snapshotEvery
        }

        var peerList: String { peerPorts.keys.sorted().map { "\($0)=127.0.0.1:\(peerPorts[$0]!)" }.joined(separator: ",") }
        func dataDirectory(_ id: UInt64) -> String { "\(directory)/node-\(id)" }
        func http(_ id: UInt64) -> String { "127.0.0.1:\(httpPorts[id]!)" }
        func client(_ id: UInt64) -> String { "127.0.0.1:\(clientPorts[id]!)" }
        var clientAddresses: [String] { clientPorts.keys.sorted().map(client) }
        var addresses: [UInt64: NodeAddress] { peerPorts.mapValues { NodeAddress(host: "127.0.0.1", port: $0) } }

        /// Starts node `id` with the cluster's `--peers` (or `peers`, e.g. a list that
        /// disagrees with the stored membership) and any `extraArguments`.
        func start(_ id: UInt64, peers: String? = nil, extraArguments: [String] = []) throws {
            let process = Process()
            process.executableURL = try CoordinatorProcessTests.nakshaBinary()
            process.arguments = [
                "coordinator", "--node-id", "\(id)", "--peers", peers ?? peerList, "--data-dir", dataDirectory(id), "--http-port", "\(httpPorts[id]!)",
                "--client-port", "\(clientPorts[id]!)", "--snapshot-every", "\(snapshotEvery)",
            ] + extraArguments
            let path = "\(directory)/node-\(id).stderr"
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            processes[id] = process
            stderrPaths[id] = path
        }

        func startAll() throws { for id in peerPorts.keys.sorted() { try start(id) } }

        func kill9(_ id: UInt64) {
            guard let process = processes.removeValue(forKey: id) else { return }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        /// Waits up to `timeout` for node `id`'s process to end by itself; returns its exit
        /// status (`signalled` when a signal ended it) and forgets it, or nil if it still runs.
        func waitForExit(_ id: UInt64, timeout: Duration = .seconds(30)) async -> (status: Int32, signalled: Bool)? {
            guard let process = processes[id] else { return nil }
            guard await CoordinatorProcessTests.waitUntil(timeout: timeout, { !process.isRunning }) else { return nil }
            process.waitUntilExit()
            processes[id] = nil
            return (process.terminationStatus, process.terminationReason == .uncaughtSignal)
        }

        func stderr(_ id: UInt64) -> String {
            (try? String(contentsOfFile: stderrPaths[id] ?? "", encoding: .utf8)) ?? ""
        }

        func stopAll() {
            for id in Array(processes.keys) { kill9(id) }
        }

        deinit {
            stopAll()
            try? FileManager.default.removeItem(atPath: directory)
        }

        static func temporaryDirectory() throws -> String {
            var template = Array("/tmp/naksha-coordinators-XXXXXX".utf8CString)
            guard let pointer = mkdtemp(&template) else { throw CLIProcessError("mkdtemp failed") }
            return String(cString: pointer)
        }
    }

    struct CLIProcessError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func nakshaBinary() throws -> URL {
        try builtExecutable("naksha")
    }

    // MARK: HTTP

    static func get(_ server: String, _ path: String) async -> (status: Int, body: Data)? {
        guard let url = URL(string: "http://\(server)\(path)") else { return nil }
        var request = URLRequest(url: url)
        request.timeoutInterval = 2
        guard let (data, response) = try? await URLSession.shared.data(for: request), let http = response as? HTTPURLResponse else { return nil }
        return (http.statusCode, data)
    }

    struct Listing: Decodable {
        var appliedIndex: UInt64
        var count: Int
        var keys: [String]
    }

    struct ClusterJSON: Decodable {
        struct Member: Decodable {
            var id: UInt64
            var role: String
            var matchIndex: UInt64?
        }
        var leader: UInt64?
        var term: UInt64
        var commitIndex: UInt64
        var members: [Member]
    }

    static func cluster(_ server: String) async -> ClusterJSON? {
        guard let answer = await get(server, "/v1/cluster"), answer.status == 200 else { return nil }
        return try? JSONDecoder().decode(ClusterJSON.self, from: answer.body)
    }

    static func keys(_ server: String) async -> Listing? {
        guard let answer = await get(server, "/v1/kv?consistency=local"), answer.status == 200 else { return nil }
        return try? JSONDecoder().decode(Listing.self, from: answer.body)
    }

    static func waitUntil(timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    static func waitForReady(_ cluster: ProcessCluster, _ ids: [UInt64]) async -> Bool {
        await waitUntil {
            for id in ids where await get(cluster.http(id), "/readyz")?.status != 200 { return false }
            return true
        }
    }

    // MARK: A client over the actor transport

    /// Proposes at the leader, following hints and leader changes, as `naksha bench raft` does.
    final class Writer: Sendable {
        let nodes: [UInt64: RaftNode]
        let leader = Mutex<UInt64?>(nil)
        let dead = Mutex<Set<UInt64>>([])

        init(addresses: [UInt64: NodeAddress], system: NakshaActorSystem) throws {
            nodes = try addresses.mapValues { try RaftNode.resolve(id: .wellKnown("raft", on: $0), using: system) }
        }

        func put(_ key: String, deadline: ContinuousClock.Instant) async throws {
            let command = try KeyValueStateMachine.encode(.put(key: key, value: Array(key.utf8)))
            while ContinuousClock.now < deadline {
                let excluded = dead.withLock { $0 }
                let target = leader.withLock { $0 }.flatMap { excluded.contains($0) ? nil : $0 }
                if let target, let node = nodes[target] {
                    do {
                        _ = try await NakshaActorSystem.$callTimeout.withValue(.seconds(2)) { try await node.propose(command) }
                        return
                    } catch let error as RaftError where error.code == .notLeader {
                        leader.withLock { $0 = error.leaderHint?.rawValue }
                        if error.leaderHint != nil { continue }
                    } catch {
                        leader.withLock { if $0 == target { $0 = nil } }
                    }
                }
                for (id, node) in nodes where !excluded.contains(id) {
                    if let status = try? await NakshaActorSystem.$callTimeout.withValue(.milliseconds(300), operation: { try await node.status() }),
                        let known = status.leader, !excluded.contains(known)
                    {
                        leader.withLock { $0 = known }
                        break
                    }
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            throw CLIProcessError("no leader committed \(key) before the deadline")
        }
    }

    /// What the load's clients share: the acknowledged keys and when the leader was killed.
    final class LoadState: Sendable {
        let next = Atomic<Int>(0)
        private let state = Mutex<(acknowledged: [String], victim: UInt64?, killedAt: ContinuousClock.Instant?, firstAfterKill: ContinuousClock.Instant?)>(
            ([], nil, nil, nil))

        /// Records an acknowledged key whose write started at `started`; returns how many
        /// there are now. Only a write started after the kill counts for failover.
        func acknowledge(_ key: String, started: ContinuousClock.Instant) -> Int {
            let now = ContinuousClock.now
            return state.withLock { state in
                state.acknowledged.append(key)
                if let killedAt = state.killedAt, state.firstAfterKill == nil, started > killedAt { state.firstAfterKill = now }
                return state.acknowledged.count
            }
        }

        func killed(_ id: UInt64) {
            state.withLock { state in
                state.victim = id
                state.killedAt = .now
            }
        }

        func result() -> (UInt64?, ContinuousClock.Instant?, ContinuousClock.Instant?, [String]) {
            state.withLock { ($0.victim, $0.killedAt, $0.firstAfterKill, $0.acknowledged) }
        }
    }

    // MARK: Tests

    @Test func threeCoordinatorsCommitTenThousandSurviveALeaderKillAndTheVictimCatchesUpBySnapshot() async throws {
        let cluster = try ProcessCluster(snapshotEvery: 1_000)
        try cluster.startAll()
        #expect(await Self.waitForReady(cluster, [1, 2, 3]), "\(cluster.stderr(1))")
        let client = try await NakshaActorSystem.start(ActorSystemConfiguration(rebuildableErrors: [RaftError.self]))
        let writer = try Writer(addresses: cluster.addresses, system: client)

        // 10,000 proposals from 64 concurrent clients; the leader is killed (-9) after 3,000.
        let load = LoadState()
        let total = 10_000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    while true {
                        let index = load.next.add(1, ordering: .relaxed).oldValue
                        guard index < total else { return }
                        let started = ContinuousClock.now
                        try await writer.put("key-\(index)", deadline: .now + .seconds(30))
                        let count = load.acknowledge("key-\(index)", started: started)
                        if count == 3_000 {
                            // The client that sees the 3,000th acknowledgement kills the leader.
                            var found = await Self.cluster(cluster.http(1))?.leader
                            if found == nil { found = await Self.cluster(cluster.http(2))?.leader }
                            guard let leader = found else { continue }
                            writer.dead.withLock { _ = $0.insert(leader) }
                            load.killed(leader)
                            cluster.kill9(leader)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let (victim, killedAt, firstWriteAfterKill, acknowledged) = load.result()
        let killed = try #require(victim)
        let failover = try #require(firstWriteAfterKill) - (try #require(killedAt))
        #expect(failover < .seconds(2), "a new leader accepted a write \(failover) after kill -9 of the leader")
        #expect(acknowledged.count == total)

        // Every acknowledged write is on every survivor.
        let survivors = [UInt64(1), 2, 3].filter { $0 != killed }
        let expected = Set(acknowledged)
        for id in survivors {
            var listing: Listing? = nil
            #expect(await Self.waitUntil {
                listing = await Self.keys(cluster.http(id))
                return listing?.count == total
            })
            #expect(Set(listing?.keys ?? []) == expected, "node \(id) lost acknowledged writes")
        }

        // The victim restarts from its directory; the leader compacted past it, so it catches
        // up by snapshot.
        try cluster.start(killed)
        #expect(await Self.waitForReady(cluster, [killed]), "\(cluster.stderr(killed))")
        var listing: Listing? = nil
        #expect(await Self.waitUntil {
            listing = await Self.keys(cluster.http(killed))
            return listing?.count == total
        })
        #expect(Set(listing?.keys ?? []) == expected)
        let metrics = String(decoding: await Self.get(cluster.http(killed), "/metrics")?.body ?? Data(), as: UTF8.self)
        // At least one install (a second one is fine: the leader may compact again while the
        // first is in flight, and then sends the newer snapshot).
        let installs = metrics.split(separator: "\n").first { $0.hasPrefix("naksha_raft_snapshot_duration_seconds_count{kind=\"installed\"}") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0
        #expect(installs >= 1, "\(metrics)")
        // And the status shows all three members with the leader's match indexes.
        let status = await Self.cluster(cluster.http(killed))
        #expect(status?.members.count == 3)
        #expect(status?.members.allSatisfy { $0.matchIndex != nil } == true)
        await client.shutdown()
    }

    /// The WAL's record layout (docs/raft.md): 16-byte segment header, then records of
    /// `length u32 | type u8 | tag u64 | crc u32 | payload`. Returns each record's offset.
    static func recordOffsets(_ bytes: [UInt8]) -> [Int] {
        var offsets: [Int] = []
        var offset = 16
        while offset + 17 <= bytes.count {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
            guard offset + 17 + length <= bytes.count else { break }
            offsets.append(offset)
            offset += 17 + length
        }
        return offsets
    }

    static func lastSegment(_ cluster: ProcessCluster, _ id: UInt64) throws -> String {
        let directory = "\(cluster.dataDirectory(id))/wal"
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".wal") }.sorted()
        return "\(directory)/\(try #require(names.last))"
    }

    @Test func walDamageAtTheTailIsRepairedAndInTheMiddleRefusesToStart() async throws {
        let cluster = try ProcessCluster()
        try cluster.startAll()
        #expect(await Self.waitForReady(cluster, [1, 2, 3]))
        let client = try await NakshaActorSystem.start(ActorSystemConfiguration(rebuildableErrors: [RaftError.self]))
        let writer = try Writer(addresses: cluster.addresses, system: client)
        for index in 0..<200 { try await writer.put("k\(index)", deadline: .now + .seconds(20)) }
        // Node 3 must hold everything before it is stopped.
        #expect(await Self.waitUntil { await Self.keys(cluster.http(3))?.count == 200 })

        // 1. A write torn mid-record: truncated and logged; the node starts and catches up.
        cluster.kill9(3)
        var path = try Self.lastSegment(cluster, 3)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var offsets = Self.recordOffsets(bytes)
        try Data(bytes[..<(offsets.last! + 9)]).write(to: URL(fileURLWithPath: path))
        try cluster.start(3)
        #expect(await Self.waitForReady(cluster, [3]), "\(cluster.stderr(3))")
        #expect(cluster.stderr(3).contains("truncated a torn record"))
        for index in 200..<220 { try await writer.put("k\(index)", deadline: .now + .seconds(20)) }
        #expect(await Self.waitUntil { await Self.keys(cluster.http(3))?.count == 220 })

        // 2. A flipped byte in the last record: the same repair.
        cluster.kill9(3)
        path = try Self.lastSegment(cluster, 3)
        bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        offsets = Self.recordOffsets(bytes)
        bytes[offsets.last! + 17] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try cluster.start(3)
        #expect(await Self.waitForReady(cluster, [3]), "\(cluster.stderr(3))")
        #expect(await Self.waitUntil { await Self.keys(cluster.http(3))?.count == 220 })

        // 3. A flipped byte in a middle record: refuses to start, naming file and offset.
        cluster.kill9(3)
        path = try Self.lastSegment(cluster, 3)
        bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        offsets = Self.recordOffsets(bytes)
        let middle = offsets[offsets.count / 2]
        bytes[middle + 17] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try cluster.start(3)
        let process = try #require(cluster.processes[3])
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        let message = cluster.stderr(3)
        #expect(message.contains(path) && message.contains("offset \(middle)"), "\(message)")
        cluster.processes[3] = nil
        await client.shutdown()
    }
}
