import Distributed

/// A small distributed actor every node can host under the well-known name `diagnostics`:
/// liveness (`ping`), transport checks (`echo`), and deadline and cancellation probes
/// (`pause`). Tests and `naksha-actor-peer` use it across processes.
public distributed actor NodeDiagnostics: RemoteCallable {
    public typealias ActorSystem = NakshaActorSystem

    /// What `ping` answers: who the node is.
    public struct Identity: Codable, Sendable, Equatable {
        public var address: NodeAddress
        public var incarnation: UInt64

        public init(address: NodeAddress, incarnation: UInt64) {
            self.address = address
            self.incarnation = incarnation
        }
    }

    /// What a remote function throws on request (`fail`), to test error transport.
    public struct Failure: Error, Codable, Sendable, Equatable {
        public var message: String
        public init(message: String) { self.message = message }
    }

    public init(actorSystem: ActorSystem) {
        self.actorSystem = actorSystem
    }

    /// Creates the node's diagnostics actor under its well-known name.
    public static func wellKnown(on system: NakshaActorSystem) -> NodeDiagnostics {
        NakshaActorSystem.$actorName.withValue("diagnostics") { NodeDiagnostics(actorSystem: system) }
    }

    /// The id of `node`'s diagnostics actor.
    public static func id(on node: NodeAddress) -> NakshaActorID {
        .wellKnown("diagnostics", on: node)
    }

    public distributed func ping() -> Identity {
        Identity(address: actorSystem.address, incarnation: actorSystem.incarnation)
    }

    public distributed func echo(_ bytes: [UInt8]) -> [UInt8] {
        bytes
    }

    /// Waits `milliseconds`; returns `true` if it was cancelled first (the caller gave up).
    public distributed func pause(milliseconds: Int) async -> Bool {
        do {
            try await Task.sleep(for: .milliseconds(milliseconds))
            return false
        } catch {
            pausesCancelled += 1
            return true
        }
    }

    /// How many `pause` calls were cancelled (by a cancel frame or the deadline).
    public distributed func cancelledPauses() -> Int {
        pausesCancelled
    }

    public distributed func fail(_ message: String) throws -> Int {
        throw Failure(message: message)
    }

    private var pausesCancelled = 0

    /// Kept exact by `RemoteCallTargetTests` (a new function fails it until added here).
    public static let remoteCalls: [String: RemoteCall<NodeDiagnostics>] = [
        "$s12NakshaActors15NodeDiagnosticsC4pingAC8IdentityVyYaKFTE": .returning { actor, _ in
            try await actor.ping()
        },
        "$s12NakshaActors15NodeDiagnosticsC4echoySays5UInt8VGAGYaKFTE": .returning { actor, arguments in
            try await actor.echo(arguments.decodeNextArgument())
        },
        "$s12NakshaActors15NodeDiagnosticsC5pause12millisecondsSbSi_tYaKFTE": .returning { actor, arguments in
            try await actor.pause(milliseconds: arguments.decodeNextArgument())
        },
        "$s12NakshaActors15NodeDiagnosticsC15cancelledPausesSiyYaKFTE": .returning { actor, _ in
            try await actor.cancelledPauses()
        },
        "$s12NakshaActors15NodeDiagnosticsC4failySiSSYaKFTE": .returning { actor, arguments in
            try await actor.fail(arguments.decodeNextArgument())
        },
    ]
}
