import CoreMetrics
import NakshaWire

/// How a `NakshaActorSystem` listens, dials and times out.
public struct ActorSystemConfiguration: Sendable {
    /// Mutual TLS material, all PEM files. Both sides present a certificate signed by the
    /// cluster CA and verify the peer's against it.
    public struct TLS: Sendable, Equatable {
        public var certificateChainPath: String
        public var privateKeyPath: String
        public var trustedCAPath: String

        public init(certificateChainPath: String, privateKeyPath: String, trustedCAPath: String) {
            self.certificateChainPath = certificateChainPath
            self.privateKeyPath = privateKeyPath
            self.trustedCAPath = trustedCAPath
        }
    }

    /// Whether connections are encrypted. Plaintext must be chosen explicitly.
    public enum Security: Sendable, Equatable {
        case plaintext
        case mutualTLS(TLS)
    }

    /// Host to bind and to advertise to peers.
    public var host: String
    /// Port to bind; 0 picks a free one (the bound port is then `system.address.port`).
    public var port: Int
    public var security: Security
    /// The cluster secret each side proves in the handshake; nil: prove nothing and accept
    /// any peer's proof or none. Independent of `security`: with TLS too, both must pass.
    public var clusterSecret: ClusterSecret?
    /// Deadline of a call when the caller sets none (`NakshaActorSystem.$callTimeout`).
    public var defaultCallTimeout: Duration
    /// How often the deadline sweeper runs; a call fails at most this late.
    public var sweepInterval: Duration
    /// A ping is sent after this long without writing.
    public var heartbeatInterval: Duration
    /// A connection with nothing read for this long is closed as dead.
    public var heartbeatTimeout: Duration
    /// Time allowed for TCP connect plus handshake.
    public var connectTimeout: Duration
    /// First and largest delay between reconnect attempts to a failed peer (jittered, doubling).
    public var reconnectBackoffInitial: Duration
    public var reconnectBackoffMax: Duration
    /// Bytes queued on one connection before senders wait (backpressure).
    public var maxQueuedBytesPerConnection: Int
    /// Frame limits for everything received.
    public var limits: WireLimits
    /// Error types rebuilt as themselves when a remote function throws them; others arrive as
    /// `RemoteCallError.remoteError`. Never a type chosen by the peer.
    public var rebuildableErrors: [any (Error & Codable).Type]
    /// Where the transport's metrics go; nil means the process-wide `MetricsSystem`.
    public var metricsFactory: (any MetricsFactory)?

    public init(
        host: String = "127.0.0.1",
        port: Int = 0,
        security: Security = .plaintext,
        defaultCallTimeout: Duration = .seconds(5),
        sweepInterval: Duration = .milliseconds(10),
        heartbeatInterval: Duration = .seconds(1),
        heartbeatTimeout: Duration = .seconds(5),
        connectTimeout: Duration = .seconds(2),
        reconnectBackoffInitial: Duration = .milliseconds(50),
        reconnectBackoffMax: Duration = .seconds(2),
        maxQueuedBytesPerConnection: Int = 32 << 20,
        limits: WireLimits = .default,
        rebuildableErrors: [any (Error & Codable).Type] = [],
        metricsFactory: (any MetricsFactory)? = nil,
        clusterSecret: ClusterSecret? = nil
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.defaultCallTimeout = defaultCallTimeout
        self.sweepInterval = sweepInterval
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.connectTimeout = connectTimeout
        self.reconnectBackoffInitial = reconnectBackoffInitial
        self.reconnectBackoffMax = reconnectBackoffMax
        self.maxQueuedBytesPerConnection = maxQueuedBytesPerConnection
        self.limits = limits
        self.rebuildableErrors = rebuildableErrors
        self.metricsFactory = metricsFactory
        self.clusterSecret = clusterSecret
    }
}
