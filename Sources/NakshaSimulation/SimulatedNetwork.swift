import NakshaCore
import RaftCore

/// A simulated network: per-message delay (which also reorders), drops, duplicates, and
/// directed link cuts (two cuts make a symmetric partition, one an asymmetric one).
struct SimulatedNetwork: Sendable {
    struct InFlight: Sendable {
        var deliverAt: UInt64
        var sequence: UInt64
        var message: RaftMessage
    }

    struct Link: Hashable, Sendable {
        var from: ReplicaID
        var to: ReplicaID
    }

    var dropPercent: UInt64 = 0
    var duplicatePercent: UInt64 = 0
    var maxDelayTicks: UInt64 = 1
    private(set) var inFlight: [InFlight] = []
    private(set) var cutLinks: Set<Link> = []
    private var nextSequence: UInt64 = 0

    mutating func send(_ message: RaftMessage, now: UInt64, random: inout SeededGenerator) {
        if cutLinks.contains(Link(from: message.from, to: message.to)) { return }
        if dropPercent > 0 && random.next(below: 100) < dropPercent { return }
        let copies = duplicatePercent > 0 && random.next(below: 100) < duplicatePercent ? 2 : 1
        for _ in 0..<copies {
            let delay = 1 + random.next(below: maxDelayTicks)
            inFlight.append(InFlight(deliverAt: now + delay, sequence: nextSequence, message: message))
            nextSequence += 1
        }
    }

    /// Removes and returns the messages due at `now`, in (delivery time, send order) order.
    mutating func takeDue(now: UInt64) -> [RaftMessage] {
        var due: [InFlight] = []
        var waiting: [InFlight] = []
        for item in inFlight {
            if item.deliverAt <= now { due.append(item) } else { waiting.append(item) }
        }
        inFlight = waiting
        due.sort { ($0.deliverAt, $0.sequence) < ($1.deliverAt, $1.sequence) }
        // Messages cut while in flight are lost too.
        return due.map(\.message).filter { !cutLinks.contains(Link(from: $0.from, to: $0.to)) }
    }

    mutating func cut(from: ReplicaID, to: ReplicaID) {
        cutLinks.insert(Link(from: from, to: to))
    }

    /// Splits `members` into `side` and the rest, cutting both directions.
    mutating func partition(_ side: [ReplicaID], from members: [ReplicaID]) {
        for a in side {
            for b in members where !side.contains(b) {
                cut(from: a, to: b)
                cut(from: b, to: a)
            }
        }
    }

    mutating func heal() {
        cutLinks = []
    }

    mutating func makeReliable() {
        dropPercent = 0
        duplicatePercent = 0
    }
}
