/// Why a provider call failed: a stable code, what to do, and whether trying the task again
/// may help (`isRetryable`).
///
/// A `rateLimited` error carries the provider's `Retry-After`, which the worker reports to the
/// coordinator's governor so that every worker backs off together.
public struct ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case rateLimited = "rate_limited"
            case serverError = "server_error"
            case requestRejected = "request_rejected"
            case unauthorized
            case timeout
            case transport
            case malformedResponse = "malformed_response"
            case invalidInput = "invalid_input"
            case unknownModel = "unknown_model"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// `429`: the provider asks to wait (`retryAfterMillis`).
        public static let rateLimited = Code(.rateLimited)
        /// A `5xx` answer that did not clear after the client's own retries.
        public static let serverError = Code(.serverError)
        /// A `4xx` answer other than 401, 403 and 429: the request itself is wrong.
        public static let requestRejected = Code(.requestRejected)
        /// `401` or `403`: the key is missing or wrong.
        public static let unauthorized = Code(.unauthorized)
        /// No answer within the node's timeout.
        public static let timeout = Code(.timeout)
        /// The connection failed (refused, reset, DNS).
        public static let transport = Code(.transport)
        /// A `200` whose body is not the documented JSON.
        public static let malformedResponse = Code(.malformedResponse)
        /// The input cannot be sent (empty text, too many inputs).
        public static let invalidInput = Code(.invalidInput)
        /// A model name no configured provider serves.
        public static let unknownModel = Code(.unknownModel)

        public var description: String { value.rawValue }
    }

    public let code: Code
    public let message: String
    /// For `rateLimited`: how long the provider asked to wait.
    public let retryAfterMillis: UInt64?
    /// The HTTP status, when the provider answered.
    public let httpStatus: Int?

    public init(_ code: Code, _ message: String, retryAfterMillis: UInt64? = nil, httpStatus: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterMillis = retryAfterMillis
        self.httpStatus = httpStatus
    }

    /// Whether the task may succeed if tried again later: rate limits, server errors,
    /// timeouts and broken connections are; a rejected request, a bad key, a malformed answer
    /// and bad input are not.
    public var isRetryable: Bool {
        code == .rateLimited || code == .serverError || code == .timeout || code == .transport
    }

    public var description: String { "\(code): \(message)" }
}
