import Distributed
import NakshaWire

/// Records the arguments of an outgoing call, each encoded with the binary codec.
///
/// Generic distributed functions are refused: their substitutions would travel as mangled
/// type names that the receiver would have to resolve with `_typeByName`, letting a peer
/// choose which type gets decoded.
public struct NakshaInvocationEncoder: DistributedTargetInvocationEncoder {
    public typealias SerializationRequirement = any Codable

    var arguments: [[UInt8]] = []
    let encoder: BinaryEncoder

    init(encoder: BinaryEncoder) {
        self.encoder = encoder
    }

    public mutating func recordGenericSubstitution<T>(_ type: T.Type) throws {
        throw RemoteCallError(.serializationFailed, "generic distributed functions are not supported (substitution \(T.self))")
    }

    public mutating func recordArgument<Value: Codable>(_ argument: RemoteCallArgument<Value>) throws {
        do {
            arguments.append(try encoder.encode(argument.value))
        } catch {
            throw RemoteCallError(.serializationFailed, "cannot encode argument \(argument.label ?? argument.name): \(error)")
        }
    }

    public mutating func recordErrorType<E: Error>(_ type: E.Type) throws {}
    public mutating func recordReturnType<R: Codable>(_ type: R.Type) throws {}
    public mutating func doneRecording() throws {}
}

/// The arguments of an incoming call, decoded in declaration order by the recipient type's
/// `RemoteCall` handler. Used by one call's task only.
public final class NakshaInvocationDecoder: DistributedTargetInvocationDecoder, @unchecked Sendable {
    public typealias SerializationRequirement = any Codable

    private let arguments: [[UInt8]]
    private var nextIndex = 0
    private let decoder: BinaryDecoder

    init(arguments: [[UInt8]], decoder: BinaryDecoder) {
        self.arguments = arguments
        self.decoder = decoder
    }

    public func decodeGenericSubstitutions() throws -> [Any.Type] { [] }

    public func decodeNextArgument<Argument: Codable>() throws -> Argument {
        guard nextIndex < arguments.count else {
            throw RemoteCallError(.serializationFailed, "call carries \(arguments.count) arguments; more were expected")
        }
        defer { nextIndex += 1 }
        do {
            return try decoder.decode(Argument.self, from: arguments[nextIndex])
        } catch {
            throw RemoteCallError(.serializationFailed, "argument \(nextIndex) is not a valid \(Argument.self): \(error)")
        }
    }

    public func decodeErrorType() throws -> Any.Type? { nil }
    public func decodeReturnType() throws -> Any.Type? { nil }
}

/// Receives the outcome of an incoming call — value, void or error — and sends the reply.
/// It is the only completion path: a function that throws, and arguments that do not
/// decode, arrive through `onThrow`.
public struct NakshaResultHandler: DistributedTargetInvocationResultHandler, Sendable {
    public typealias SerializationRequirement = any Codable

    let reply: @Sendable (ReplyEnvelope) -> Void
    let encoder: BinaryEncoder
    let rebuildable: Set<String>

    public func onReturn<Success: Codable>(value: Success) async throws {
        do {
            reply(.value(try encoder.encode(value)))
        } catch {
            reply(.failure(RemoteCallError(.serializationFailed, "cannot encode the result \(Success.self): \(error)")))
        }
    }

    public func onReturnVoid() async throws {
        reply(.value([]))
    }

    public func onThrow<Err: Error>(error: Err) async throws {
        let boxed: any Error = error  // `Err` is `any Error` here; re-box to see the real type
        reply(Self.envelope(for: boxed, encoder: encoder, rebuildable: rebuildable))
    }

    static func envelope(for error: any Error, encoder: BinaryEncoder, rebuildable: Set<String>) -> ReplyEnvelope {
        if let transport = error as? RemoteCallError {
            return .failure(transport)
        }
        let typeName = String(reflecting: type(of: error))
        if rebuildable.contains(typeName), let encodable = error as? any Encodable,
            let payload = try? encoder.encode(encodable)
        {
            return .codableError(typeName: typeName, payload: payload, description: String(describing: error))
        }
        return .failure(RemoteCallError(.remoteError, String(describing: error), remoteTypeName: typeName))
    }
}
