import NakshaCore
import NakshaGraph
import Testing

@testable import NakshaState

@Suite struct EncodingTests {
    @Test func dictionariesEncodeTheSameWhateverTheirInsertionOrder() throws {
        var forward: [String: GraphValue] = [:]
        var backward: [String: GraphValue] = [:]
        let keys = (0..<200).map { "key\($0)" }
        for key in keys { forward[key] = .string(key) }
        for key in keys.reversed() { backward[key] = .string(key) }
        #expect(try CanonicalEncoder.encode(forward) == CanonicalEncoder.encode(backward))
    }

    @Test func commandsRoundTripThroughBytes() throws {
        let commands: [ClusterCommand] = [
            .registerGraph(RegisterGraph(name: "pipeline", yaml: Graphs.pipeline, contentHash: "abc")),
            .setGraphConcurrency(graph: "pipeline", maxLeasedTasks: nil),
            .submitJob(SubmitJob(graph: .inline(yaml: "y", contentHash: "h"), input: ["a": [1, 2.5, "x", nil, ["m": true]]], idempotencyKey: "k", priority: -3, fairnessKey: "tenant")),
            .leaseTasks(LeaseTasks(worker: "w", max: 3, leaseDurationMillis: 30_000)),
            .completeTask(CompleteTask(task: TaskID(job: JobID(rawValue: 9), number: 2), token: LeaseToken(rawValue: 12), output: ["docs": "d"])),
            .failTask(FailTask(task: TaskID(job: JobID(rawValue: 9), number: 2), token: LeaseToken(rawValue: 12), reason: "503", retryable: true)),
            .expireLeases(nil), .expireLeases([LeaseReference(task: TaskID(job: JobID(rawValue: 1), number: 1), token: LeaseToken(rawValue: 4))]),
            .cancelJob(JobID(rawValue: 5)), .resumeJob(ResumeJob(job: JobID(rawValue: 5), input: ["approved": true])),
            .registerWorker(RegisterWorker(worker: "w", capacity: 4, labels: ["gpu": "a100"], memoryBudgetBytes: 1 << 30)),
            .deregisterWorker("w"), .expireWorkers(["a", "b"]), .evictJobs([JobID(rawValue: 1)]),
        ]
        for command in commands {
            let bytes = ClusterState.encodeCommand(command)
            #expect(bytes.first == ClusterState.formatVersion)
            #expect(try ClusterState.decodeCommand(bytes) == command)
        }
    }

    @Test func badCommandBytesAreTypedErrorsNeverCrashes() {
        let valid = ClusterState.encodeCommand(.cancelJob(JobID(rawValue: 5)))
        #expect(throws: ClusterError.self) { try ClusterState.decodeCommand([]) }
        #expect(throws: ClusterError(.unknownVersion, "command format version 9 is not known to this build (it reads 1)")) {
            try ClusterState.decodeCommand([9] + valid.dropFirst())
        }
        for length in 1..<valid.count {
            #expect(throws: ClusterError.self) { try ClusterState.decodeCommand(Array(valid.prefix(length))) }
        }
        var generator = SeededGenerator(seed: 42)
        var kept = 0
        for _ in 0..<2_000 {
            var bytes = valid
            bytes[Int(generator.next(below: UInt64(bytes.count - 1))) + 1] = UInt8(truncatingIfNeeded: generator.next())
            if (try? ClusterState.decodeCommand(bytes)) == nil { kept += 1 }
        }
        #expect(kept >= 500, "only \(kept) corrupted commands were refused")
        // A deeply nested value is refused, not a stack overflow.
        let deep = [UInt8](repeating: CanonicalBytes.Tag.list.rawValue, count: 1) + [UInt8](repeating: 0, count: 0)
        #expect(throws: ClusterError.self) { try ClusterState.decodeCommand([1] + Array(repeating: [CanonicalBytes.Tag.list.rawValue, 1], count: 10_000).flatMap { $0 } + deep) }
    }

    @Test func snapshotThenRestoreIsByteIdentical() throws {
        var harness = Harness()
        try harness.register(Graphs.pipeline)
        try harness.register(Graphs.approval)
        harness.addWorker("w1")
        _ = try harness.submit("pipeline", input: ["question": "q"], key: "k")
        let approval = try harness.submit("approval")
        let leased = try harness.lease(max: 1)
        harness.apply(.failTask(FailTask(task: leased[0].task, token: leased[0].token, reason: "x", retryable: true)))
        _ = try harness.lease()
        harness.apply(.cancelJob(approval))
        let bytes = harness.state.encoded()
        let restored = try ClusterState.decode(bytes)
        #expect(restored == harness.state)
        #expect(restored.encoded() == bytes)
        #expect(throws: ClusterError.self) { try ClusterState.decode(Array(bytes.dropLast())) }
        #expect(throws: ClusterError.self) { try ClusterState.decode([0x4E, 0x53, 2] + bytes.dropFirst(3)) }
    }

    @Test func resultsRoundTripThroughBytes() throws {
        let results: [ClusterResult] = [
            .success(.jobSubmitted(JobID(rawValue: 3), status: .queued, existing: false)),
            .success(.jobSubmitted(JobID(rawValue: 3), status: nil, existing: true)),
            .failure(ClusterError(.staleLease, "lease 4 of task 3.1 is no longer valid")),
        ]
        for result in results {
            #expect(try ClusterState.decodeResult(ClusterState.encodeResult(result)) == result)
        }
    }

    /// A type that writes its keys out of order, one of them twice (the last write wins,
    /// as in a dictionary-backed encoder), and reads them back by key.
    struct Scrambled: Codable, Equatable {
        var values: [String: Int]
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        init(values: [String: Int]) { self.values = values }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            for key in values.keys.sorted().reversed() { try container.encode(-1, forKey: Key(stringValue: key)) }
            for key in values.keys.sorted(by: { $0.count > $1.count || ($0.count == $1.count && $0 > $1) }) {
                try container.encode(values[key] ?? 0, forKey: Key(stringValue: key))
            }
        }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            var values: [String: Int] = [:]
            for key in container.allKeys { values[key.stringValue] = try container.decode(Int.self, forKey: key) }
            #expect(!container.contains(Key(stringValue: "absent")))
            self.values = values
        }
    }

    @Test("keys written in any order, some twice, encode sorted with the last value, and every key decodes",
          arguments: [1, 2, 7, 64, 500])
    func keyedContainersSortAndKeepTheLastWrite(count: Int) throws {
        let values = Dictionary(uniqueKeysWithValues: (0..<count).map { ("k\($0 * 7919 % 1000)", $0) })
        let bytes = try CanonicalEncoder.encode(Scrambled(values: values))
        #expect(bytes == (try CanonicalEncoder.encode(values)), "the same bytes as a dictionary's")
        #expect(try CanonicalDecoder.decode(Scrambled.self, from: bytes) == Scrambled(values: values))
        // A missing key is a typed error naming it, not a crash.
        struct Wants: Decodable { var absent: Int }
        #expect(throws: DecodingError.self) { try CanonicalDecoder.decode(Wants.self, from: bytes) }
    }
}

