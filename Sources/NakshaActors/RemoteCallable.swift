import Distributed

/// A distributed actor type that may be called from other nodes.
///
/// `remoteCallTargets` is the allow-list of the mangled identifiers of its distributed
/// functions. The actor system refuses, before dispatching, any call whose target is not on
/// the recipient type's list: the Swift runtime does not check that a target belongs to the
/// recipient's type, and a valid target of another type would otherwise be executed on the
/// wrong memory layout and crash the process. A type that does not conform cannot be called
/// remotely at all. A test per type calls every function and checks the list is exact.
public protocol RemoteCallable: DistributedActor {
    static var remoteCallTargets: Set<String> { get }
}
