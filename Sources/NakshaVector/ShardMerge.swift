/// The router's k-way merge of per-shard top-k lists into one global top-k.
public enum ShardMerge {
    /// Merges shard results, each sorted best first by `Neighbor.precedes`, into the best
    /// `k` overall, best first.
    ///
    /// Invariants: the output is sorted by `Neighbor.precedes` and has
    /// `min(k, distinct ids in the input)` entries; if an id appears in more than one list
    /// (two replicas answering during a shard move), only its best entry is kept. The result
    /// equals sorting the concatenation and taking the first `k` distinct ids, but runs in
    /// `O(k · log(lists))` using a heap of list heads.
    ///
    /// - Precondition: every list is sorted best first (each shard's `TopK.sorted()` is).
    public static func merge(_ lists: [[Neighbor]], k: Int) -> [Neighbor] {
        guard k > 0 else { return [] }
        // Heap of (list index, position), ordered so the root is the best current head.
        var cursors: [(list: Int, position: Int)] = []
        cursors.reserveCapacity(lists.count)
        for (index, list) in lists.enumerated() where !list.isEmpty {
            cursors.append((index, 0))
        }
        func head(_ c: (list: Int, position: Int)) -> Neighbor { lists[c.list][c.position] }
        func better(_ a: Int, _ b: Int) -> Bool {
            let x = head(cursors[a]), y = head(cursors[b])
            return Neighbor.precedes(x, y) || (x == y && cursors[a].list < cursors[b].list)
        }
        func siftDown(_ start: Int) {
            var parent = start
            while true {
                var child = 2 * parent + 1
                guard child < cursors.count else { return }
                if child + 1 < cursors.count, better(child + 1, child) { child += 1 }
                guard better(child, parent) else { return }
                cursors.swapAt(child, parent)
                parent = child
            }
        }
        for i in stride(from: cursors.count / 2 - 1, through: 0, by: -1) { siftDown(i) }

        var result: [Neighbor] = []
        result.reserveCapacity(k)
        var seen: Set<UInt64> = []
        while result.count < k, let top = cursors.first {
            let candidate = head(top)
            if seen.insert(candidate.id).inserted { result.append(candidate) }
            if top.position + 1 < lists[top.list].count {
                cursors[0].position += 1
            } else {
                cursors[0] = cursors[cursors.count - 1]
                cursors.removeLast()
            }
            if !cursors.isEmpty { siftDown(0) }
        }
        return result
    }
}
