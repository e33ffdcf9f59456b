import NakshaCore
import NakshaRaftStorage
import Synchronization

/// A disk for the simulator that keeps what is durable apart from what is only written, so
/// the real storage code (`RaftStorage`, `WriteAheadLog`, `SnapshotStore`) can be crashed at
/// any point. Every choice comes from its own seeded generator.
///
/// Model (what `FileSystem` promises, and no more):
/// - a file's bytes are durable up to its last successful `sync`; later writes are volatile;
/// - namespace changes (create, rename, remove) are durable once `syncDirectory` returns;
/// - `crash()` keeps, per file, the durable bytes plus a random prefix of the volatile writes,
///   the last kept one possibly torn; and per directory, the durable namespace plus a random
///   prefix of the changes since — so unsynced writes to different files, and directory
///   changes, reach the disk in any order relative to each other;
/// - faults, drawn per call at the configured rates: a `write` may store a prefix of its
///   bytes and fail with ENOSPC or EIO; `sync`, `rename` and `syncDirectory` may fail with
///   EIO (then nothing more is durable than before the call).
public final class SimulatedFileSystem: FileSystem, Sendable {
    /// Fault rates, in parts per ten thousand calls.
    public struct FaultRates: Sendable, Equatable {
        public var writePerTenThousand: UInt64
        public var syncPerTenThousand: UInt64
        public var renamePerTenThousand: UInt64

        public init(writePerTenThousand: UInt64 = 0, syncPerTenThousand: UInt64 = 0, renamePerTenThousand: UInt64 = 0) {
            self.writePerTenThousand = writePerTenThousand
            self.syncPerTenThousand = syncPerTenThousand
            self.renamePerTenThousand = renamePerTenThousand
        }

        public static let none = FaultRates()
    }

    struct Inode {
        var durable: [UInt8] = []
        var content: [UInt8] = []
        /// The end offset of each volatile write, oldest first (all past `durable.count`).
        var volatileWrites: [Int] = []
    }

    enum NamespaceChange {
        case link(path: String, inode: Int)
        case unlink(path: String)
        /// Atomic, as on ext4: either both names change or neither.
        case rename(from: String, to: String, inode: Int)
    }

    struct State {
        var random: SeededGenerator
        var rates: FaultRates
        var inodes: [Int: Inode] = [:]
        var nextInode = 1
        /// The namespace as calls see it, and as it is durable.
        var names: [String: Int] = [:]
        var durableNames: [String: Int] = [:]
        var directories: Set<String> = []
        /// Namespace changes since the last `syncDirectory`, per directory, oldest first.
        var pending: [String: [NamespaceChange]] = [:]
        var handles: [Int32: Int] = [:]
        var nextHandle: Int32 = 3
        var faultsInjected = 0
        /// Set by the last injected sync failure: the simulator crashes the node soon after.
        var failedSyncs = 0
    }

    private let state: Mutex<State>

    public init(seed: UInt64, rates: FaultRates = .none) {
        state = Mutex(State(random: SeededGenerator(seed: seed), rates: rates))
    }

    /// Faults injected so far, and of those, failed syncs.
    public var faultsInjected: Int { state.withLock { $0.faultsInjected } }
    public var failedSyncs: Int { state.withLock { $0.failedSyncs } }

    public func setRates(_ rates: FaultRates) { state.withLock { $0.rates = rates } }

    // MARK: Crash

    /// Loses what was not made durable, as a power cut would (see the type's model). Open
    /// handles are closed.
    public func crash() {
        state.withLock { state in
            var names = state.durableNames
            for directory in state.pending.keys.sorted() {
                let changes = state.pending[directory] ?? []
                let kept = Int(state.random.next(below: UInt64(changes.count + 1)))
                for change in changes.prefix(kept) { Self.apply(change, to: &names) }
            }
            state.names = names
            state.durableNames = names
            state.pending = [:]
            state.handles = [:]
            for id in state.inodes.keys.sorted() {
                guard var inode = state.inodes[id] else { continue }
                let writes = inode.volatileWrites
                let kept = Int(state.random.next(below: UInt64(writes.count + 1)))
                var end = kept == 0 ? inode.durable.count : writes[kept - 1]
                if kept > 0, state.random.next(below: 4) == 0 {
                    let start = kept == 1 ? inode.durable.count : writes[kept - 2]
                    end = start + Int(state.random.next(below: UInt64(end - start + 1)))  // torn
                }
                inode.content = Array(inode.content.prefix(end))
                inode.durable = inode.content
                inode.volatileWrites = []
                state.inodes[id] = inode
            }
            let live = Set(state.names.values)
            state.inodes = state.inodes.filter { live.contains($0.key) }
        }
    }

    // MARK: FileSystem

    public func openForAppend(_ path: String, create: Bool, truncate: Bool) throws(WALError) -> FileHandleID {
        try state.withLock { state throws(WALError) -> FileHandleID in
            let inode: Int
            if let existing = state.names[path] {
                inode = existing
                if truncate { state.inodes[existing] = Inode() }
            } else {
                guard create else { throw WALError(.io, "open \(path): No such file or directory") }
                guard state.directories.contains(Self.parent(of: path)) else {
                    throw WALError(.io, "open \(path): No such file or directory (no directory)")
                }
                inode = state.nextInode
                state.nextInode += 1
                state.inodes[inode] = Inode()
                state.names[path] = inode
                state.pending[Self.parent(of: path), default: []].append(.link(path: path, inode: inode))
            }
            let handle = state.nextHandle
            state.nextHandle += 1
            state.handles[handle] = inode
            return FileHandleID(handle)
        }
    }

    public func write(_ handle: FileHandleID, _ bytes: [UInt8], path: String) throws(WALError) {
        try state.withLock { state throws(WALError) in
            guard let id = state.handles[handle.rawValue], var inode = state.inodes[id] else {
                throw WALError(.io, "write \(path): Bad file descriptor")
            }
            if Self.draw(&state, state.rates.writePerTenThousand) {
                let stored = Int(state.random.next(below: UInt64(bytes.count + 1)))
                if stored > 0 {
                    inode.content.append(contentsOf: bytes.prefix(stored))
                    inode.volatileWrites.append(inode.content.count)
                    state.inodes[id] = inode
                }
                let reason = state.random.next(below: 2) == 0 ? "No space left on device" : "Input/output error"
                throw WALError(.io, "write \(path): \(reason) (simulated)")
            }
            inode.content.append(contentsOf: bytes)
            inode.volatileWrites.append(inode.content.count)
            state.inodes[id] = inode
        }
    }

    public func sync(_ handle: FileHandleID, path: String) throws(WALError) {
        try state.withLock { state throws(WALError) in
            guard let id = state.handles[handle.rawValue], var inode = state.inodes[id] else {
                throw WALError(.io, "fdatasync \(path): Bad file descriptor")
            }
            if Self.draw(&state, state.rates.syncPerTenThousand) {
                state.failedSyncs += 1
                throw WALError(.io, "fdatasync \(path): Input/output error (simulated)")
            }
            inode.durable = inode.content
            inode.volatileWrites = []
            state.inodes[id] = inode
        }
    }

    public func close(_ handle: FileHandleID) {
        _ = state.withLock { $0.handles.removeValue(forKey: handle.rawValue) }
    }

    public func syncDirectory(_ path: String) throws(WALError) {
        try state.withLock { state throws(WALError) in
            guard state.directories.contains(path) else { throw WALError(.io, "open directory \(path): No such file or directory") }
            if Self.draw(&state, state.rates.syncPerTenThousand) {
                state.failedSyncs += 1
                throw WALError(.io, "fsync directory \(path): Input/output error (simulated)")
            }
            for change in state.pending[path] ?? [] { Self.apply(change, to: &state.durableNames) }
            state.pending[path] = nil
        }
    }

    public func readWholeFile(_ path: String) throws(WALError) -> [UInt8] {
        try state.withLock { state throws(WALError) -> [UInt8] in
            guard let id = state.names[path], let inode = state.inodes[id] else { throw WALError(.io, "open \(path): No such file or directory") }
            return inode.content
        }
    }

    public func fileSize(_ path: String) throws(WALError) -> Int64 {
        Int64(try readWholeFile(path).count)
    }

    public func truncate(_ path: String, to length: Int) throws(WALError) {
        try state.withLock { state throws(WALError) in
            guard let id = state.names[path], var inode = state.inodes[id] else { throw WALError(.io, "truncate \(path): No such file or directory") }
            inode.content = Array(inode.content.prefix(length))
            inode.durable = Array(inode.durable.prefix(length))  // metadata change: treated as synced at once
            inode.volatileWrites = inode.volatileWrites.filter { $0 <= length }
            state.inodes[id] = inode
        }
    }

    public func rename(_ from: String, _ to: String) throws(WALError) {
        try state.withLock { state throws(WALError) in
            guard let inode = state.names[from] else { throw WALError(.io, "rename \(from) to \(to): No such file or directory") }
            if Self.draw(&state, state.rates.renamePerTenThousand) {
                throw WALError(.io, "rename \(from) to \(to): Input/output error (simulated)")
            }
            state.names[from] = nil
            state.names[to] = inode
            let directory = Self.parent(of: to)
            state.pending[directory, default: []].append(.rename(from: from, to: to, inode: inode))
        }
    }

    public func remove(_ path: String) throws(WALError) {
        state.withLock { state in
            guard state.names.removeValue(forKey: path) != nil else { return }
            state.pending[Self.parent(of: path), default: []].append(.unlink(path: path))
        }
    }

    public func makeDirectory(_ path: String) throws(WALError) {
        state.withLock { state in
            // Directories are created durably (the data directory exists before the node).
            var current = ""
            for component in path.split(separator: "/") {
                current += "/" + component
                state.directories.insert(current)
            }
        }
    }

    public func listDirectory(_ path: String) throws(WALError) -> [String] {
        try state.withLock { state throws(WALError) -> [String] in
            guard state.directories.contains(path) else { throw WALError(.io, "opendir \(path): No such file or directory") }
            let prefix = path + "/"
            return state.names.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
                .map { String($0.dropFirst(prefix.count)) }.sorted()
        }
    }

    // MARK: Helpers

    private static func draw(_ state: inout State, _ rate: UInt64) -> Bool {
        guard rate > 0, state.random.next(below: 10_000) < rate else { return false }
        state.faultsInjected += 1
        return true
    }

    private static func apply(_ change: NamespaceChange, to names: inout [String: Int]) {
        switch change {
        case .link(let path, let inode): names[path] = inode
        case .unlink(let path): names[path] = nil
        case .rename(let from, let to, let inode):
            names[from] = nil
            names[to] = inode
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }
}
