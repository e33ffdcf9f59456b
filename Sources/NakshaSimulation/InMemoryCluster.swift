import RaftCore

/// A fault-free, zero-delay cluster for unit tests and benchmarks: messages are delivered in
/// send order, every `Ready` is carried out immediately.
public struct InMemoryCluster: Sendable {
    public private(set) var nodes: [RaftCore]
    private var queue: [RaftMessage] = []
    public private(set) var applied: [[LogEntry]]

    public init(voterCount: Int, configure: (inout RaftCore.Configuration) -> Void = { _ in }) {
        let voters = (1...UInt64(voterCount)).map { ReplicaID($0) }
        nodes = voters.map { id in
            var configuration = RaftCore.Configuration(id: id, randomSeed: id.rawValue)
            configure(&configuration)
            return RaftCore(configuration: configuration, state: .bootstrap(voters: voters))
        }
        applied = Array(repeating: [], count: voterCount)
    }

    /// Node 1 campaigns; returns true once it leads.
    public mutating func electLeader() -> Bool {
        nodes[0].campaign()
        settle()
        return nodes[0].role == .leader
    }

    /// Delivers messages and carries out `Ready`s until nothing is left to do.
    public mutating func settle() {
        var progress = true
        while progress {
            progress = false
            for position in nodes.indices where nodes[position].hasReady {
                let ready = nodes[position].ready()
                applied[position].append(contentsOf: ready.committedEntries)
                queue.append(contentsOf: ready.messages)
                nodes[position].advance(ready)
                progress = true
            }
            let messages = queue
            queue = []
            for message in messages {
                let position = Int(message.to.rawValue) - 1
                guard nodes.indices.contains(position) else { continue }
                try? nodes[position].step(message)
                progress = true
            }
        }
    }

    /// Proposes `count` commands at node 1 in batches of `batch` and settles after each batch;
    /// returns how many were committed.
    public mutating func proposeAndCommit(count: Int, batch: Int, payloadBytes: Int) -> Int {
        let payload = [UInt8](repeating: 7, count: payloadBytes)
        var proposed = 0
        var lastIndex: LogIndex = 0
        let startCommit = nodes[0].commitIndex
        while proposed < count {
            for _ in 0..<min(batch, count - proposed) {
                guard let index = try? nodes[0].propose(payload) else { return proposed }
                lastIndex = index
                proposed += 1
            }
            settle()
            applied = applied.map { _ in [] }
        }
        return nodes[0].commitIndex >= lastIndex ? Int(lastIndex - startCommit) : 0
    }
}
