import Distributed
import NIOCore
import NIOPosix
import NIOSSL
import NakshaWire
import Synchronization

/// Swift distributed actors over Naksha's own TCP transport (SwiftNIO, optional mutual TLS).
///
/// Invariants:
/// - A call is executed only if its target is on the recipient type's `RemoteCallable`
///   allow-list; anything else is answered with `.targetNotAllowed`.
/// - Every outgoing call ends exactly once: reply, deadline (`.deadlineExceeded`), caller
///   cancellation (`.cancelled`, and a `cancel` frame to the callee), loss of its connection
///   (`.connectionLost`) or shutdown.
/// - Calls arriving on one connection start in arrival order (`Task.immediate` from the
///   event loop), so a Raft follower sees AppendEntries in the order they were sent.
/// - Local actors are held weakly: dropping the last reference resigns the id.
public final class NakshaActorSystem: DistributedActorSystem, Sendable {
    public typealias ActorID = NakshaActorID
    public typealias InvocationEncoder = NakshaInvocationEncoder
    public typealias InvocationDecoder = NakshaInvocationDecoder
    public typealias ResultHandler = NakshaResultHandler
    public typealias SerializationRequirement = any Codable

    /// The deadline of calls made in this task (default: `configuration.defaultCallTimeout`).
    @TaskLocal public static var callTimeout: Duration? = nil
    /// The well-known name an actor created in this task gets (`raft`, `coordinator`, …).
    @TaskLocal public static var actorName: String? = nil

    /// Where this node listens and what it advertises.
    public let address: NodeAddress
    /// This process's incarnation: random, non-zero, new on every start.
    public let incarnation: UInt64
    public let configuration: ActorSystemConfiguration

    let group: any EventLoopGroup
    let metrics: ActorMetrics
    let pending = PendingCalls()
    let incoming = IncomingCalls()
    let connections: ConnectionTable
    let encoder: BinaryEncoder
    let decoder: BinaryDecoder
    let frameEncoder: FrameEncoder
    let tls: TLSContexts?
    private let rebuildableErrorNames: Set<String>
    private let registry = Mutex<[String: WeakActor]>([:])
    private let nextCallID = Atomic<UInt64>(1)
    private let nextActorNumber = Atomic<UInt64>(1)
    private let nextConnectionID = Atomic<UInt64>(1)
    private let isShutDown = Atomic<Bool>(false)
    private let server = Mutex<(any Channel)?>(nil)
    private let sweeper = Mutex<RepeatedTask?>(nil)

    private final class WeakActor {
        weak var actor: (any DistributedActor)?
        init(_ actor: any DistributedActor) { self.actor = actor }
    }

    /// Starts a system: binds the listening socket and the deadline sweeper.
    public static func start(_ configuration: ActorSystemConfiguration = ActorSystemConfiguration()) async throws -> NakshaActorSystem {
        let group = MultiThreadedEventLoopGroup.singleton
        let tls = try configuration.security.makeContexts()
        let holder = SystemHolder()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let system = holder.system else { throw RemoteCallError(.systemShutDown, "system starting") }
                    try system.configurePipeline(channel, role: .server)
                }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        let port = channel.localAddress?.port ?? configuration.port
        let system = NakshaActorSystem(
            configuration: configuration, group: group, tls: tls,
            address: NodeAddress(host: configuration.host, port: port)
        )
        system.server.withLock { $0 = channel }
        holder.system = system
        system.startSweeper()
        return system
    }

    private init(configuration: ActorSystemConfiguration, group: any EventLoopGroup, tls: TLSContexts?, address: NodeAddress) {
        self.configuration = configuration
        self.group = group
        self.tls = tls
        self.address = address
        self.metrics = ActorMetrics(factory: configuration.metricsFactory)
        var random = SystemRandomNumberGenerator()
        self.incarnation = random.next() | 1
        self.connections = ConnectionTable()
        self.encoder = BinaryEncoder()
        self.decoder = BinaryDecoder(limits: configuration.limits)
        self.frameEncoder = FrameEncoder(limits: configuration.limits)
        self.rebuildableErrorNames = Set(configuration.rebuildableErrors.map { String(reflecting: $0) })
    }

    /// Stops listening, closes every connection (accepted ones too) and fails every call
    /// in flight with `.systemShutDown`.
    public func shutdown() async {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        sweeper.withLock { $0?.cancel(); $0 = nil }
        let serverChannel = server.withLock { $0 }
        try? await serverChannel?.close()
        for connection in connections.removeAll() {
            try? await connection.channel.close()
        }
        pending.failAll(with: RemoteCallError(.systemShutDown, "the actor system shut down"))
    }

    var shutDown: Bool { isShutDown.load(ordering: .acquiring) }

    private func startSweeper() {
        let interval = TimeAmount(configuration.sweepInterval)
        let task = group.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
            guard let self else { return }
            let now = ContinuousClock.now
            _ = self.pending.expire(now: now)
            self.incoming.expire(now: now)
            self.connections.forEach { $0.expireWaiters(now: now) }
        }
        sweeper.withLock { $0 = task }
    }

    // MARK: Identity and the local registry

    public func resolve<Act>(id: ActorID, as actorType: Act.Type) throws -> Act? where Act: DistributedActor, Act.ID == ActorID {
        guard isLocal(id) else { return nil }
        let actor = registry.withLock { $0[id.path]?.actor }
        return actor as? Act  // a type mismatch is nil (a remote proxy), never an error
    }

    func isLocal(_ id: ActorID) -> Bool {
        id.node == address && (id.incarnation == 0 || id.incarnation == incarnation)
    }

    public func assignID<Act>(_ actorType: Act.Type) -> ActorID where Act: DistributedActor, Act.ID == ActorID {
        if let name = Self.actorName {
            let path = "/\(name)"
            let taken = registry.withLock { $0[path]?.actor != nil }
            precondition(!taken, "a well-known actor named \"\(name)\" already exists on this node")
            return ActorID(node: address, incarnation: incarnation, path: path)
        }
        let number = nextActorNumber.wrappingAdd(1, ordering: .relaxed).oldValue
        return ActorID(node: address, incarnation: incarnation, path: "/actors/\(number)")
    }

    public func actorReady<Act>(_ actor: Act) where Act: DistributedActor, Act.ID == ActorID {
        registry.withLock { $0[actor.id.path] = WeakActor(actor) }
    }

    public func resignID(_ id: ActorID) {
        registry.withLock { registry in
            if let entry = registry[id.path], entry.actor == nil || (entry.actor?.id as? ActorID) == id {
                registry.removeValue(forKey: id.path)
            }
        }
    }

    /// The number of live local actors (for tests and diagnostics).
    public var localActorCount: Int {
        registry.withLock { $0.values.filter { $0.actor != nil }.count }
    }

    func localActor(for id: ActorID) -> (any DistributedActor)? {
        registry.withLock { $0[id.path]?.actor }
    }

    // MARK: Connections

    func makeConnection(channel: any Channel) -> PeerConnection {
        let connection = PeerConnection(
            id: nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue, channel: channel,
            maxQueuedBytes: configuration.maxQueuedBytesPerConnection, encoder: frameEncoder, metrics: metrics
        )
        connections.track(connection)
        metrics.connectionOpened()
        return connection
    }

    /// A new connection's handshake, with a fresh nonce from the system's random source.
    func makeHandshake(role: PeerHandshake.Role) -> PeerHandshake {
        var random = SystemRandomNumberGenerator()
        let nonce = (0..<HandshakeMessage.nonceByteCount).map { _ in UInt8.random(in: 0...255, using: &random) }
        return PeerHandshake(
            role: role, node: address, incarnation: incarnation, nonce: nonce, secret: configuration.clusterSecret)
    }

    func handshakeFrame(_ message: HandshakeMessage) -> Frame {
        Frame(kind: .handshake, streamID: 0, payload: (try? encoder.encode(message)) ?? [])
    }

    func registerAccepted(_ connection: PeerConnection, peer: NodeAddress) {
        connections.adopt(connection, for: peer)
    }

    func connectionClosed(_ connection: PeerConnection) {
        connection.markClosed()
        connections.remove(connection)
        metrics.connectionClosed()
        pending.failAll(onConnection: connection.id, with: RemoteCallError(.connectionLost, "the connection to the peer closed"))
        incoming.cancelAll(onConnection: connection.id)
    }

    func configurePipeline(_ channel: any Channel, role: ActorChannelHandler.Role) throws {
        let pipeline = channel.pipeline.syncOperations
        if let tls {
            switch role {
            case .server: try pipeline.addHandler(NIOSSLServerHandler(context: tls.server))
            case .client: try pipeline.addHandler(NIOSSLClientHandler(context: tls.client, serverHostname: nil))
            }
        }
        try pipeline.addHandler(ByteToMessageHandler(FrameChannelDecoder(limits: configuration.limits)))
        try pipeline.addHandler(IdleStateHandler(
            readTimeout: TimeAmount(configuration.heartbeatTimeout),
            writeTimeout: TimeAmount(configuration.heartbeatInterval)
        ))
        try pipeline.addHandler(ActorChannelHandler(system: self, role: role))
    }

    func nextCall() -> UInt64 {
        nextCallID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Names of error types this node rebuilds (from `configuration.rebuildableErrors`).
    var rebuildable: Set<String> { rebuildableErrorNames }
}

/// Lets the server's child initializer reach the system created after `bind`.
private final class SystemHolder: Sendable {
    private let stored = Mutex<NakshaActorSystem?>(nil)
    var system: NakshaActorSystem? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}

extension NakshaActorSystem {
    /// Calls from peers currently executing on this node (for tests and diagnostics).
    public var inFlightIncomingCalls: Int { incoming.count }
    /// Calls from this node waiting for replies.
    public var inFlightOutgoingCalls: Int { pending.count }
    /// Open connections, accepted and dialled.
    public var openConnections: Int { connections.openCount }
    /// The most bytes queued but not yet written on any one connection.
    public var maxQueuedBytes: Int {
        var largest = 0
        connections.forEach { largest = max(largest, $0.queuedBytes) }
        return largest
    }
}
