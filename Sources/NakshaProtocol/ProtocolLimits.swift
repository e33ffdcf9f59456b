/// What a server allows each client connection. The defaults suit a coordinator; tests
/// lower them.
public struct ProtocolLimits: Sendable, Equatable {
    /// The largest frame payload a client may send (a request's envelope and message).
    /// Larger frames close the connection with a `goodbye` carrying RESOURCE_EXHAUSTED.
    public var maxRequestBytes: Int
    /// Calls running at once on one connection; one more is answered RESOURCE_EXHAUSTED and
    /// the connection stays open.
    public var maxConcurrentCalls: Int
    /// A server stream's window when the request names none (`initial_window` 0).
    public var defaultWindow: UInt32
    /// The most messages a reader may allow at once (initial window plus credits).
    public var maxWindow: UInt32
    /// The deadline of a unary call whose request names none.
    public var defaultUnaryTimeout: Duration
    /// Open connections the server accepts; more are sent a `goodbye` (RESOURCE_EXHAUSTED)
    /// and closed.
    public var maxConnections: Int
    /// A connection with no call running that sends nothing for this long is closed.
    public var idleTimeout: Duration

    public init(
        maxRequestBytes: Int = 4 << 20, maxConcurrentCalls: Int = 128, defaultWindow: UInt32 = 32, maxWindow: UInt32 = 1024,
        defaultUnaryTimeout: Duration = .seconds(30), maxConnections: Int = 16_384, idleTimeout: Duration = .seconds(300)
    ) {
        self.maxRequestBytes = maxRequestBytes
        self.maxConcurrentCalls = maxConcurrentCalls
        self.defaultWindow = defaultWindow
        self.maxWindow = maxWindow
        self.defaultUnaryTimeout = defaultUnaryTimeout
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
    }
}
