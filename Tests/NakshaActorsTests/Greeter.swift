import Distributed
import NakshaActors

/// A second remotely callable type, to prove that a valid target of one type sent to an
/// actor of another is refused rather than executed.
distributed actor Greeter: RemoteCallable {
    typealias ActorSystem = NakshaActorSystem

    distributed func greet(_ name: String) -> String {
        "hello, \(name)"
    }

    static let remoteCalls: [String: RemoteCall<Greeter>] = [
        "$s17NakshaActorsTests7GreeterC5greetyS2SYaKFTE": .returning { greeter, arguments in
            try await greeter.greet(arguments.decodeNextArgument())
        }
    ]
}

/// A distributed actor type that does not opt in to remote calls at all.
distributed actor LocalOnly {
    typealias ActorSystem = NakshaActorSystem

    distributed func secret() -> Int { 42 }
}
