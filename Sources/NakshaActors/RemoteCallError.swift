/// Why a remote call failed, as the caller sees it.
///
/// Every failure of the transport, and every error thrown by the remote function whose type
/// is not on the caller's allow-list, arrives as a `RemoteCallError`. Errors of allow-listed
/// `Codable` types are rebuilt and thrown as themselves instead.
public struct RemoteCallError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, Codable, CustomStringConvertible {
        let name: String

        /// The caller's deadline passed before the reply arrived.
        public static let deadlineExceeded = Code(name: "deadlineExceeded")
        /// The calling task was cancelled; the callee was told to cancel too.
        public static let cancelled = Code(name: "cancelled")
        /// The connection carrying the call closed before the reply arrived.
        public static let connectionLost = Code(name: "connectionLost")
        /// The peer cannot be reached now (refused, unreachable, or backing off after failures).
        public static let peerUnreachable = Code(name: "peerUnreachable")
        /// The peer is not a compatible Naksha node (version, identity or TLS).
        public static let handshakeFailed = Code(name: "handshakeFailed")
        /// The cluster secret did not check out: the peer's proof was missing or wrong, or the
        /// peer refused ours (the nodes have different `NAKSHA_CLUSTER_TOKEN`s, or one has none).
        public static let authenticationFailed = Code(name: "authenticationFailed")
        /// No actor with that id lives on the peer (never existed, died, or an earlier incarnation).
        public static let unknownActor = Code(name: "unknownActor")
        /// The target is not a distributed function of the recipient's type.
        public static let targetNotAllowed = Code(name: "targetNotAllowed")
        /// The remote function threw an error whose type is not rebuilt on this side.
        public static let remoteError = Code(name: "remoteError")
        /// Arguments or the result could not be encoded or decoded.
        public static let serializationFailed = Code(name: "serializationFailed")
        /// The local actor system is shut down.
        public static let systemShutDown = Code(name: "systemShutDown")

        public var description: String { name }
    }

    public var code: Code
    /// What went wrong, for a person.
    public var message: String
    /// For `.remoteError`: the type of the error the remote function threw.
    public var remoteTypeName: String?

    public init(_ code: Code, _ message: String, remoteTypeName: String? = nil) {
        self.code = code
        self.message = message
        self.remoteTypeName = remoteTypeName
    }

    public var description: String {
        if let remoteTypeName { return "RemoteCallError.\(code) (\(remoteTypeName)): \(message)" }
        return "RemoteCallError.\(code): \(message)"
    }
}
