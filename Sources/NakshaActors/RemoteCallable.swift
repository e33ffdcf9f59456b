import Distributed

/// A distributed actor type that may be called from other nodes.
///
/// `remoteCalls` is its dispatch table: the mangled identifier of each distributed function
/// that other nodes may call, mapped to a handler that decodes the arguments and calls that
/// function on the local actor. The table is both the allow-list and the dispatch:
/// - a call whose target is not in the recipient type's table is refused before anything
///   runs (`targetNotAllowed`); a type that does not conform cannot be called remotely;
/// - a handler is typed on `Self`, so a valid target of *another* type can never run on the
///   wrong memory layout (the Swift runtime's `executeDistributedTarget` does not check that,
///   and demangles the target's signature on every call — over a quarter of a small call's
///   cost on the callee);
/// - a test per type calls every function remotely and checks the table is exact, so a
///   renamed or added function fails the tests until its entry is written (the failure
///   message prints the identifier).
///
/// An entry reads like the call it makes:
///
/// ```swift
/// static let remoteCalls: [String: RemoteCall<Greeter>] = [
///     "$s…7GreeterC5greetyS2SYaKFTE": .returning { greeter, arguments in
///         try await greeter.greet(arguments.decodeNextArgument())
///     },
/// ]
/// ```
public protocol RemoteCallable: DistributedActor where ActorSystem == NakshaActorSystem {
    static var remoteCalls: [String: RemoteCall<Self>] { get }
}

/// How to run one distributed function of `Actor` for a remote caller.
public struct RemoteCall<Actor: DistributedActor>: Sendable {
    let run: @Sendable (Actor, NakshaInvocationDecoder, NakshaResultHandler) async throws -> Void

    /// A function with a result: `body` decodes the arguments in declaration order, calls the
    /// function, and returns its result, which is sent back to the caller.
    public static func returning<Value: Codable & Sendable>(
        _ body: @escaping @Sendable (Actor, NakshaInvocationDecoder) async throws -> Value
    ) -> RemoteCall {
        RemoteCall { actor, arguments, handler in
            try await handler.onReturn(value: body(actor, arguments))
        }
    }

    /// A function without a result.
    public static func void(
        _ body: @escaping @Sendable (Actor, NakshaInvocationDecoder) async throws -> Void
    ) -> RemoteCall {
        RemoteCall { actor, arguments, handler in
            try await body(actor, arguments)
            try await handler.onReturnVoid()
        }
    }
}
