/// Where a node listens: the address peers dial.
public struct NodeAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}

/// The identity of a distributed actor: the node that hosts it, that node's incarnation,
/// and a path unique on the node.
///
/// Invariants: a restarted process has a new `incarnation`, so ids of actors that died with
/// the old process never reach an actor of the new one. Incarnation `0` means "whatever
/// incarnation is running now" and is used to address well-known singletons
/// (`raft`, `coordinator`, `shards`) from another node.
public struct NakshaActorID: Hashable, Sendable, Codable, CustomStringConvertible {
    public var node: NodeAddress
    public var incarnation: UInt64
    public var path: String

    public init(node: NodeAddress, incarnation: UInt64, path: String) {
        self.node = node
        self.incarnation = incarnation
        self.path = path
    }

    /// The id of the well-known actor `name` on `node`, whatever its incarnation.
    public static func wellKnown(_ name: String, on node: NodeAddress) -> NakshaActorID {
        NakshaActorID(node: node, incarnation: 0, path: "/\(name)")
    }

    public var description: String { "\(path)@\(node)#\(incarnation)" }
}
