/// Reusable working memory for HNSW searches and inserts: the visited marks and the two
/// candidate heaps. A serving thread keeps one and passes it to every query, so a query
/// allocates nothing but its result. Not shared between threads (each owns its own).
///
/// Invariant: `visited[n] == stamp` exactly for the nodes visited in the current search;
/// `beginSearch` bumps `stamp` (clearing all marks in O(1); on wrap-around the array is
/// zeroed) and grows `visited` to the index's node count.
public struct HNSWSearchScratch: Sendable {
    var visited: [UInt32] = []
    var stamp: UInt32 = 0
    var candidates = CandidateHeap(maxOnTop: false)
    var results = CandidateHeap(maxOnTop: true)
    var selection: [Candidate] = []
    /// Sink for the cache-line touches of `searchLayer` (its value is meaningless).
    var touched: Float = 0

    public init() {}

    mutating func beginSearch(nodeCount: Int) {
        if visited.count < nodeCount {
            visited.append(contentsOf: repeatElement(0, count: max(nodeCount - visited.count, visited.count / 2)))
        }
        if stamp == .max {
            for i in visited.indices { visited[i] = 0 }
            stamp = 0
        }
        stamp &+= 1
        candidates.removeAll()
        results.removeAll()
    }

    /// Marks `node` visited; returns false if it already was.
    @inline(__always)
    mutating func visit(_ node: UInt32) -> Bool {
        let i = Int(node)
        if visited[i] == stamp { return false }
        visited[i] = stamp
        return true
    }
}

/// A graph node with its distance to the current query.
struct Candidate: Sendable {
    var distance: Float
    var node: UInt32
}

/// A binary heap of candidates; the root is the largest distance when `maxOnTop`,
/// the smallest otherwise. Equal distances are ordered by node number, so traversal is
/// deterministic.
struct CandidateHeap: Sendable {
    private(set) var items: [Candidate] = []
    let maxOnTop: Bool

    init(maxOnTop: Bool) { self.maxOnTop = maxOnTop }

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }
    var top: Candidate? { items.first }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    @inline(__always)
    private func above(_ a: Candidate, _ b: Candidate) -> Bool {
        if maxOnTop {
            return a.distance > b.distance || (a.distance == b.distance && a.node > b.node)
        }
        return a.distance < b.distance || (a.distance == b.distance && a.node < b.node)
    }

    mutating func push(_ c: Candidate) {
        items.append(c)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) >> 1
            guard above(c, items[parent]) else { break }
            items[child] = items[parent]
            child = parent
        }
        items[child] = c
    }

    @discardableResult
    mutating func pop() -> Candidate? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            var parent = 0
            let n = items.count
            while true {
                var child = 2 * parent + 1
                guard child < n else { break }
                if child + 1 < n, above(items[child + 1], items[child]) { child += 1 }
                guard above(items[child], last) else { break }
                items[parent] = items[child]
                parent = child
            }
            items[parent] = last
        }
        return first
    }
}
