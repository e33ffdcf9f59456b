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

    static let remoteCalls: [String: RemoteCall<Sequencer>] = [
        "$s17NakshaActorsTests9SequencerC6recordyySiYaKFTE": .void { sequencer, arguments in
            try await sequencer.record(arguments.decodeNextArgument())
        },
        "$s17NakshaActorsTests9SequencerC8recordedSaySiGyYaKFTE": .returning { sequencer, _ in
            try await sequencer.recorded()
        },
    ]
}
