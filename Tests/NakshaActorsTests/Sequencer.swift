import Distributed
import NakshaActors

/// Records the order in which calls reach it.
distributed actor Sequencer: RemoteCallable {
    typealias ActorSystem = NakshaActorSystem

    private var seen: [Int] = []

    distributed func record(_ value: Int) {
        seen.append(value)
    }

    distributed func recorded() -> [Int] {
        seen
    }

    static let remoteCallTargets: Set<String> = [
        "$s17NakshaActorsTests9SequencerC6recordyySiYaKFTE",
        "$s17NakshaActorsTests9SequencerC8recordedSaySiGyYaKFTE",
    ]
}
