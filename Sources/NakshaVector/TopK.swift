/// A bounded selection of the `k` best neighbours seen so far, for one query on one shard.
///
/// Invariants:
/// - `heap` holds at most `k` entries and is a binary max-heap under `Neighbor.precedes`:
///   the root is the *worst* kept neighbour, so a candidate is compared with one entry.
/// - Ties on distance are broken by the smaller id, so the kept set and its order do not
///   depend on the order candidates arrive in (shard layout, thread split, insertion order).
/// - A candidate with a NaN distance is never kept (NaN compares false with everything, so
///   it could not be ordered); a NaN therefore never reaches a result list.
///
/// The storage is reserved once at `init` with capacity `k` and becomes the result, so a
/// scan allocates nothing else.
public struct TopK: Sendable {
    /// How many neighbours are kept.
    public let k: Int
    @usableFromInline var heap: [Neighbor]

    /// - Precondition: `k >= 0` (indexes validate user-supplied `k` and throw first).
    public init(k: Int) {
        precondition(k >= 0, "TopK: k must be non-negative, got \(k)")
        self.k = k
        self.heap = []
        heap.reserveCapacity(k)
    }

    /// Number of neighbours kept so far (≤ `k`).
    public var count: Int { heap.count }

    /// The distance a candidate must not exceed to be considered: the worst kept distance
    /// once `k` are kept, `+infinity` before, `-infinity` when `k == 0`. Scans test `distance <= threshold` before
    /// calling `insert`, which keeps the common rejection to one compare.
    @inlinable
    public var threshold: Float {
        heap.count < k ? .infinity : (k == 0 ? -.infinity : heap[0].distance)
    }

    /// Offers one candidate; keeps it if it is among the best `k` seen so far.
    @inlinable
    public mutating func insert(id: UInt64, distance: Float) {
        guard !distance.isNaN, k > 0 else { return }
        let candidate = Neighbor(id: id, distance: distance)
        if heap.count < k {
            heap.append(candidate)
            siftUp(heap.count &- 1)
        } else if Neighbor.precedes(candidate, heap[0]) {
            heap[0] = candidate
            siftDown(0)
        }
    }

    /// The kept neighbours, best first (ascending distance, then ascending id).
    public func sorted() -> [Neighbor] {
        heap.sorted(by: Neighbor.precedes)
    }

    @inlinable
    mutating func siftUp(_ start: Int) {
        var child = start
        let item = heap[child]
        while child > 0 {
            let parent = (child &- 1) >> 1
            guard Neighbor.precedes(heap[parent], item) else { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = item
    }

    @inlinable
    mutating func siftDown(_ start: Int) {
        var parent = start
        let count = heap.count
        let item = heap[parent]
        while true {
            var child = 2 &* parent &+ 1
            guard child < count else { break }
            if child &+ 1 < count, Neighbor.precedes(heap[child], heap[child &+ 1]) { child &+= 1 }
            guard Neighbor.precedes(item, heap[child]) else { break }
            heap[parent] = heap[child]
            parent = child
        }
        heap[parent] = item
    }
}
