import CoreMetrics
import NIOCore
import NIOPosix
import NakshaWire
import Synchronization

/// The client protocol's TCP server (`docs/protocol.md`): one `ProtocolConnectionHandler`
/// per connection, calls dispatched to an `RPCRouter`.
///
/// Bad input never reaches a handler and never affects another connection: the decoder
/// refuses malformed frames, the connection's state machine refuses protocol errors, and
/// either closes only that connection.
public final class ProtocolServer: Sendable {
    /// The port the server listens on (the one asked for, or the one the system chose for 0).
    public let port: Int
    private let listener: any Channel
    private let connections: ConnectionRegistry

    private init(port: Int, listener: any Channel, connections: ConnectionRegistry) {
        self.port = port
        self.listener = listener
        self.connections = connections
    }

    public static func start(
        host: String, port: Int, router: RPCRouter, limits: ProtocolLimits = ProtocolLimits(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ProtocolServer {
        let registry = ConnectionRegistry(limit: limits.maxConnections)
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: TimeAmount(limits.idleTimeout)))
                    try child.pipeline.syncOperations.addHandler(ProtocolConnectionHandler(router: router, limits: limits, registry: registry))
                }
            }
            .bind(host: host, port: port).get()
        return ProtocolServer(port: listener.localAddress?.port ?? port, listener: listener, connections: registry)
    }

    /// Open client connections.
    public var connectionCount: Int { connections.count }

    /// Stops accepting, lets running calls finish for up to `grace` (no new call starts;
    /// each connection gets a `goodbye` when its calls have ended), then closes what is left.
    public func shutdown(grace: Duration = .seconds(5)) async {
        try? await listener.close()  // already closed is fine
        let open = connections.drainAll()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for channel in open { try? await channel.closeFuture.get() }  // a close error still closed it
            }
            group.addTask { try? await Task.sleep(for: grace) }  // cancelled when all closed first
            await group.next()
            group.cancelAll()
        }
        for channel in open where channel.isActive { try? await channel.close() }  // forced after the grace
    }
}

/// The server's open connections: enforces `maxConnections` and drains them at shutdown.
final class ConnectionRegistry: Sendable {
    private struct Entry: Sendable {
        var channel: any Channel
        var drain: @Sendable () -> Void
    }

    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])
    private let limit: Int
    private let gauge = Gauge(label: "naksha_protocol_connections")

    init(limit: Int) { self.limit = limit }

    var count: Int { entries.withLock { $0.count } }

    /// Registers `channel`; false when the server already has `limit` connections.
    func add(_ channel: any Channel, drain: @escaping @Sendable () -> Void) -> Bool {
        let count: Int? = entries.withLock { entries in
            guard entries.count < limit else { return nil }
            entries[ObjectIdentifier(channel)] = Entry(channel: channel, drain: drain)
            return entries.count
        }
        if let count { gauge.record(count) }
        return count != nil
    }

    func remove(_ channel: any Channel) {
        let count = entries.withLock { entries in
            entries[ObjectIdentifier(channel)] = nil
            return entries.count
        }
        gauge.record(count)
    }

    func drainAll() -> [any Channel] {
        let all = entries.withLock { Array($0.values) }
        for entry in all { entry.drain() }
        return all.map(\.channel)
    }
}

/// Counts connection-level refusals by reason (`naksha_protocol_connection_errors_total`).
enum ProtocolMetrics {
    static func connectionError(_ reason: String) {
        Counter(label: "naksha_protocol_connection_errors_total", dimensions: [("reason", reason)]).increment()
    }

    static func callEnded(method: String, known: Bool, code: RPCCode, duration: Duration) {
        let name = known ? method : "unknown"
        Counter(label: "naksha_protocol_calls_total", dimensions: [("method", name), ("code", code.name)]).increment()
        let nanos = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        Timer(label: "naksha_protocol_call_duration_seconds", dimensions: [("method", name)]).recordNanoseconds(nanos)
    }
}
