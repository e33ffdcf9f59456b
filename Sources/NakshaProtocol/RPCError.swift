import SwiftProtobuf

/// A status code of the client protocol (`naksha.v1.Code`; gRPC's numbers).
public typealias RPCCode = Naksha_V1_Code

/// A call that did not end OK: its status code, a message for people and a stable,
/// machine-readable reason (lower camel case, such as `unknownJob`).
///
/// Servers throw it from handlers; clients receive it for every failed call, including
/// failures that never reached a server (`unavailable` with reason `connectFailed`).
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: RPCCode
    public var message: String
    public var reason: String
    /// Trailing metadata: `leader`, `retry-after-ms`.
    public var metadata: [String: String]

    public init(_ code: RPCCode, _ message: String, reason: String = "", metadata: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = metadata
    }

    /// The status frame's message.
    public init(status: Naksha_V1_Status) {
        self.init(status.code, status.message, reason: status.reason, metadata: status.metadata)
    }

    public var status: Naksha_V1_Status {
        var status = Naksha_V1_Status()
        status.code = code
        status.message = message
        status.reason = reason
        status.metadata = metadata
        return status
    }

    public var description: String {
        let name = code.name
        return reason.isEmpty ? "\(name): \(message)" : "\(name) (\(reason)): \(message)"
    }
}

extension Naksha_V1_Code {
    /// The code's name as `docs/protocol.md` writes it (`NOT_FOUND`).
    public var name: String {
        switch self {
        case .ok: return "OK"
        case .cancelled: return "CANCELLED"
        case .unknown: return "UNKNOWN"
        case .invalidArgument: return "INVALID_ARGUMENT"
        case .deadlineExceeded: return "DEADLINE_EXCEEDED"
        case .notFound: return "NOT_FOUND"
        case .alreadyExists: return "ALREADY_EXISTS"
        case .permissionDenied: return "PERMISSION_DENIED"
        case .resourceExhausted: return "RESOURCE_EXHAUSTED"
        case .failedPrecondition: return "FAILED_PRECONDITION"
        case .unimplemented: return "UNIMPLEMENTED"
        case .internal: return "INTERNAL"
        case .unavailable: return "UNAVAILABLE"
        case .unauthenticated: return "UNAUTHENTICATED"
        case .UNRECOGNIZED(let value): return "CODE_\(value)"
        }
    }
}

/// The methods of `naksha.v1.Naksha`, as named on the wire.
public enum NakshaMethod {
    public static let service = "naksha.v1.Naksha"
    public static let submitJob = "\(service)/SubmitJob"
    public static let getJob = "\(service)/GetJob"
    public static let cancelJob = "\(service)/CancelJob"
    public static let resumeJob = "\(service)/ResumeJob"
    public static let listJobs = "\(service)/ListJobs"
    public static let watchJob = "\(service)/WatchJob"
    public static let registerGraph = "\(service)/RegisterGraph"
    public static let listGraphs = "\(service)/ListGraphs"
    public static let clusterStatus = "\(service)/ClusterStatus"
    public static let health = "\(service)/Health"
    public static let createCollection = "\(service)/CreateCollection"
    public static let listCollections = "\(service)/ListCollections"
    public static let dropCollection = "\(service)/DropCollection"
    public static let listShards = "\(service)/ListShards"
    public static let moveShard = "\(service)/MoveShard"
    public static let rebalanceShards = "\(service)/RebalanceShards"
    public static let upsertVectors = "\(service)/UpsertVectors"
    public static let deleteVectors = "\(service)/DeleteVectors"
    public static let queryVectors = "\(service)/QueryVectors"
}
