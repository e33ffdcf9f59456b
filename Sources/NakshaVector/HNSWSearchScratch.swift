/// Reusable working memory for HNSW searches and inserts: the visited marks, the two
/// candidate heaps and the neighbour-selection buffers. A serving thread keeps one and
/// passes it to every query, so a query allocates nothing but its result. Not shared
/// between threads (each owns its own).
///
/// Value semantics over manually managed storage: the buffers live in a class
/// (`HNSWScratchStorage`) so the hot loop can use raw pointers (no bounds checks, no
/// copy-on-write checks, no retain/release per access). `prepare(nodeCount:)` — called
/// once per layer search with exclusive (`inout`) access — replaces the storage if it is
/// shared with a copy of this scratch, so two copies never write the same buffers.
/// `init()` allocates nothing; the storage is created on first use.
public struct HNSWSearchScratch: Sendable {
    var storage: HNSWScratchStorage?

    public init() {}

    /// Readies the storage for a search over `nodeCount` nodes: unique, `visited` grown and
    /// cleared (by a new epoch), both heaps empty.
    mutating func prepare(nodeCount: Int) -> HNSWScratchStorage {
        let ready: HNSWScratchStorage
        // Test uniqueness before binding: a binding is itself a reference.
        if isKnownUniquelyReferenced(&storage), let existing = storage {
            ready = existing
        } else {
            ready = HNSWScratchStorage()
            storage = ready
        }
        ready.visited.beginSearch(nodeCount: nodeCount)
        ready.candidates.removeAll()
        ready.results.removeAll()
        return ready
    }

    /// Bytes held (the visited marks dominate: 2 bytes per node of the largest index
    /// searched).
    var memoryBytes: Int { storage?.memoryBytes ?? 0 }
}

/// The buffers behind `HNSWSearchScratch`. Only reached through a scratch that
/// `prepare(nodeCount:)` made unique, hence `@unchecked Sendable`.
///
/// Invariant: `candidates`, `results` and `visited` each own their allocation exclusively;
/// `deinit` frees them. A search copies the heaps into locals, works on the copies (whose
/// pointers may move when they grow) and stores them back before returning.
final class HNSWScratchStorage: @unchecked Sendable {
    var visited = VisitedSet()
    var candidates = CandidateHeap<NearestFirst>()
    var results = CandidateHeap<FarthestFirst>()
    /// Nearest-first copy of the results and the heuristic's inputs/outputs during inserts.
    var sorted: [Candidate] = []
    var chosen: [Candidate] = []
    var backCandidates: [Candidate] = []
    var backChosen: [Candidate] = []

    deinit {
        visited.deallocate()
        candidates.deallocate()
        results.deallocate()
    }

    var memoryBytes: Int {
        visited.capacity * MemoryLayout<UInt16>.stride
            + (candidates.capacity + results.capacity + sorted.capacity + chosen.capacity
                + backCandidates.capacity + backChosen.capacity) * MemoryLayout<Candidate>.stride
    }
}

/// Visited marks for one search at a time, cleared in O(1) by bumping an epoch
/// (hnswlib's `VisitedList`).
///
/// Invariant: after `beginSearch`, `marks[n] == epoch` exactly for the nodes `insert`ed
/// since. Marks left by earlier searches hold smaller epochs: the epoch only increases
/// between wrap-arounds, and when the 16-bit epoch would wrap the marks are zeroed and it
/// restarts at 1 (one O(capacity) clear per 65,535 searches).
struct VisitedSet {
    private(set) var marks: UnsafeMutablePointer<UInt16>?
    private(set) var capacity = 0
    private(set) var epoch: UInt16 = 0

    /// Starts a new search over nodes `0 ..< nodeCount`: grows the marks (zeroed) if
    /// needed and makes every node unvisited.
    mutating func beginSearch(nodeCount: Int) {
        if nodeCount > capacity {
            let newCapacity = max(nodeCount, capacity + capacity / 2)
            let grown = UnsafeMutablePointer<UInt16>.allocate(capacity: newCapacity)
            grown.initialize(repeating: 0, count: newCapacity)
            if let marks { grown.update(from: marks, count: capacity); marks.deallocate() }
            marks = grown
            capacity = newCapacity
        }
        if epoch == .max {
            marks?.update(repeating: 0, count: capacity)
            epoch = 0
        }
        epoch &+= 1
    }

    /// The marks base for the hot loop (valid until the next `beginSearch`).
    /// - Precondition: `beginSearch` was called (programmer error otherwise).
    var base: UnsafeMutablePointer<UInt16> {
        guard let marks else { preconditionFailure("VisitedSet used before beginSearch") }
        return marks
    }

    /// Marks `node`; returns false if it already was marked in this search.
    /// - Precondition: `node < capacity` (the caller sized the set with `beginSearch`).
    @inline(__always)
    func insert(_ node: UInt32) -> Bool {
        let slot = base + Int(node)
        if slot.pointee == epoch { return false }
        slot.pointee = epoch
        return true
    }

    @inline(__always)
    func contains(_ node: UInt32) -> Bool { base[Int(node)] == epoch }

    mutating func deallocate() {
        marks?.deallocate()
        marks = nil
        capacity = 0
    }
}

/// A graph node with its distance to the current query.
struct Candidate: Sendable, Equatable {
    var distance: Float
    var node: UInt32

    /// The total order every walk uses: smaller distance, then smaller node number, so
    /// traversal (and therefore the graph) does not depend on heap layout.
    @inline(__always)
    static func precedes(_ a: Candidate, _ b: Candidate) -> Bool {
        a.distance < b.distance || (a.distance == b.distance && a.node < b.node)
    }
}

/// Which end of `Candidate.precedes` a `CandidateHeap` keeps at its root.
protocol CandidateHeapOrder {
    /// Whether `a` belongs nearer the root than `b`.
    static func above(_ a: Candidate, _ b: Candidate) -> Bool
}

/// Root = nearest (the walk's frontier).
enum NearestFirst: CandidateHeapOrder {
    @inline(__always) static func above(_ a: Candidate, _ b: Candidate) -> Bool { Candidate.precedes(a, b) }
}

/// Root = farthest (the bounded result set: the root is the one to evict).
enum FarthestFirst: CandidateHeapOrder {
    @inline(__always) static func above(_ a: Candidate, _ b: Candidate) -> Bool { Candidate.precedes(b, a) }
}

/// A binary heap of candidates on manually managed storage that grows by doubling.
/// Distances are compared with `Candidate.precedes`, so ties are broken by node number and
/// the pop order is a pure function of the pushed set (NaN distances are never pushed by
/// the indexes: stored vectors and queries are validated finite).
///
/// Invariants: `items[0 ..< count]` is initialised and heap-ordered under `Order.above`;
/// `count <= capacity`; the value owns `items` (it is a plain copyable struct for speed —
/// exactly one copy may be live at a time, see `HNSWScratchStorage`).
struct CandidateHeap<Order: CandidateHeapOrder> {
    private(set) var items: UnsafeMutablePointer<Candidate>?
    private(set) var count = 0
    private(set) var capacity = 0

    var isEmpty: Bool { count == 0 }
    /// The root (nearest for `NearestFirst`, farthest for `FarthestFirst`).
    var top: Candidate? { count > 0 ? items?[0] : nil }

    mutating func removeAll() { count = 0 }

    /// The heap's contents in heap order (not sorted); valid until the next mutation.
    var unordered: UnsafeBufferPointer<Candidate> { UnsafeBufferPointer(start: items, count: count) }

    @inline(__always)
    mutating func push(_ c: Candidate) {
        if count == capacity { grow() }
        guard let items else { return }
        var child = count
        count &+= 1
        while child > 0 {
            let parent = (child &- 1) >> 1
            let p = items[parent]
            guard Order.above(c, p) else { break }
            items[child] = p
            child = parent
        }
        items[child] = c
    }

    @inline(__always) @discardableResult
    mutating func pop() -> Candidate? {
        guard count > 0, let items else { return nil }
        let first = items[0]
        count &-= 1
        let n = count
        if n > 0 {
            let last = items[n]
            var parent = 0
            while true {
                var child = 2 &* parent &+ 1
                guard child < n else { break }
                if child &+ 1 < n, Order.above(items[child &+ 1], items[child]) { child &+= 1 }
                let c = items[child]
                guard Order.above(c, last) else { break }
                items[parent] = c
                parent = child
            }
            items[parent] = last
        }
        return first
    }

    @inline(never)
    mutating func grow() {
        let newCapacity = max(64, capacity * 2)
        let grown = UnsafeMutablePointer<Candidate>.allocate(capacity: newCapacity)
        if let items {
            grown.moveInitialize(from: items, count: count)
            items.deallocate()
        }
        items = grown
        capacity = newCapacity
    }

    mutating func deallocate() {
        items?.deallocate()
        items = nil
        count = 0
        capacity = 0
    }
}
