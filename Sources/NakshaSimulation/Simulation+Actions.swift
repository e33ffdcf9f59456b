import NakshaCore
import NakshaRaftStorage
import RaftCore

extension Simulation {
    /// Crashes, restarts, partitions (symmetric and asymmetric) and heals, at the seed's rates.
    mutating func injectFaults() {
        let live = nodes.indices.filter { !nodes[$0].decommissioned }
        if random.next(below: 1000) < profile.crashPerMille {
            let up = live.filter { nodes[$0].isUp }
            if !up.isEmpty {
                crash(up[Int(random.next(below: UInt64(up.count)))])
            }
        }
        let down = live.filter { !nodes[$0].isUp }
        if !down.isEmpty && random.next(below: 100) < profile.restartPercent {
            let position = down[Int(random.next(below: UInt64(down.count)))]
            nodes[position].restarts += 1
            stats.restarts += 1
            // Sometimes an operator restarts a member with --peers listing only itself (the
            // split brain of issue 14, 1a): the stored membership must refuse it.
            let alone = !nodes[position].joining && nodes[position].storage.hardState.term > 0
                && random.next(below: 1000) < profile.loneRestartPerMille
            start(position, alone: alone)
        }
        if random.next(below: 1000) < profile.partitionPerMille {
            let members = live.map { nodes[$0].id }
            if random.next(below: 2) == 0 {
                let side = members.filter { _ in random.next(below: 2) == 0 }
                network.partition(side, from: members)
                record("partition \(side)", 20, UInt64(side.count))
            } else if members.count >= 2 {
                let from = members[Int(random.next(below: UInt64(members.count)))]
                let to = members[Int(random.next(below: UInt64(members.count)))]
                if from != to {
                    network.cut(from: from, to: to)
                    record("cut \(from)->\(to)", 21, from.rawValue << 8 | to.rawValue)
                }
            }
        }
        if random.next(below: 100) < profile.healPercent && !network.cutLinks.isEmpty {
            network.heal()
            record("heal", 22, 0)
        }
    }

    /// Client work: proposals, reads, membership changes, leader transfers, compactions.
    mutating func runWorkload() {
        if random.next(below: 100) < profile.proposePercent {
            proposeCommand()
        }
        if random.next(below: 100) < profile.readPercent {
            requestRead()
        }
        if random.next(below: 1000) < profile.membershipPerMille {
            changeMembership()
        }
        if random.next(below: 1000) < profile.transferPerMille {
            transferLeadership()
        }
        if random.next(below: 1000) < profile.compactionPerMille {
            compactSomeNode()
        }
    }

    mutating func proposeCommand() {
        let up = upPositions
        guard !up.isEmpty else { return }
        // Mostly at the leader; sometimes at a random node, which must refuse unless leader;
        // sometimes at a stale leader (a client that has not heard of the new one), which
        // builds the uncommitted suffixes that a new leader later overwrites.
        let staleLeaders = up.filter { nodes[$0].core?.role == .leader && $0 != currentLeader }
        let position: Int
        if !staleLeaders.isEmpty && random.next(below: 100) < profile.staleLeaderProposalPercent {
            position = staleLeaders[Int(random.next(below: UInt64(staleLeaders.count)))]
        } else if random.next(below: 4) == 0 {
            position = up[Int(random.next(below: UInt64(up.count)))]
        } else {
            position = currentLeader ?? up[0]
        }
        if workload != nil, random.next(below: 2) == 0 {
            proposeWorkloadCommand(at: position)
            return
        }
        nextCommand += 1
        var bytes: [UInt8] = []
        var value = nextCommand
        for _ in 0..<8 {
            bytes.append(UInt8(value & 0xff))
            value >>= 8
        }
        bytes.append(contentsOf: [UInt8](repeating: 0xab, count: Int(random.next(below: 16))))
        guard let wasLeader = nodes[position].core.map({ $0.role == .leader }) else { return }
        let id = nodes[position].id
        let command = nextCommand
        do {
            if let index = try nodes[position].replica?.propose(
                bytes, machine: 0, requestID: RequestID(client: 1, sequence: command), nowMillis: now)
            {
                stats.proposals += 1
                record("propose \(command) at \(id) index \(index)", 30, index)
                if !wasLeader {
                    checker.fail("propose: non-leader \(id) accepted a proposal")
                }
            }
        } catch {
            if error.code == .notLeader && wasLeader {
                checker.fail("propose: leader \(id) answered notLeader")
            }
        }
    }

    mutating func requestRead() {
        guard let position = currentLeader else { return }
        nextReadID += 1
        readStartedAt[nextReadID] = checker.highestCommitted
        let readID = nextReadID
        let id = nodes[position].id
        do {
            try nodes[position].replica?.withCore { core throws(RaftError) in try core.readIndex(requestID: readID) }
            record("read \(readID) at \(id)", 31, readID)
        } catch {
            readStartedAt[nextReadID] = nil
        }
    }

    mutating func changeMembership() {
        guard let position = currentLeader, let leader = nodes[position].core else { return }
        let membership = leader.membership
        let maximumMembers = options.nodeCount + 2
        let change: MembershipChange
        let choice = random.next(below: 3)
        if choice == 0 && membership.members.count < maximumMembers {
            change = .addLearner(ReplicaID(UInt64(nodes.count + 1)))
        } else if choice == 1, let learner = membership.learners.first {
            change = .promoteLearner(learner)
        } else {
            let removable = membership.learners
                + (membership.voters.count > options.nodeCount ? membership.voters.filter { $0 != leader.id } : [])
            guard !removable.isEmpty else { return }
            change = .remove(removable[Int(random.next(below: UInt64(removable.count)))])
        }
        do {
            let index = try nodes[position].replica?.withCore { core throws(RaftError) in try core.proposeMembershipChange(change) }
            stats.membershipChanges += 1
            record("membership \(change) at index \(index ?? 0)", 32, index ?? 0)
            if case .addLearner(let newID) = change {
                addNode(id: newID, state: .joining, joining: true)
            }
        } catch {
            record("membership \(change) refused: \(error)", 33, 0)
        }
    }

    mutating func transferLeadership() {
        guard let position = currentLeader, let leader = nodes[position].core else { return }
        let others = leader.membership.voters.filter { $0 != leader.id }
        guard !others.isEmpty else { return }
        let target = others[Int(random.next(below: UInt64(others.count)))]
        do {
            try nodes[position].replica?.withCore { core throws(RaftError) in try core.transferLeadership(to: target) }
            stats.leaderTransfers += 1
            record("transfer \(leader.id)->\(target)", 34, target.rawValue)
        } catch {
            record("transfer refused: \(error)", 35, 0)
        }
    }

    mutating func compactSomeNode() {
        let up = upPositions
        guard !up.isEmpty else { return }
        let position = up[Int(random.next(below: UInt64(up.count)))]
        guard let replica = nodes[position].replica else { return }
        let applied = replica.applied
        guard applied > replica.core.snapshotIndex + 2 else { return }
        let id = nodes[position].id
        do {
            try replica.takeSnapshot()
            nodes[position].storage.compact(replica.core.snapshot)
            stats.compactions += 1
            record("compact \(id) through \(applied)", 36, applied)
            if faultsEnabled && random.next(below: 100) < profile.crashAfterCompactionPercent {
                crash(position)  // a crash right after segments were deleted: recovery must hold
            }
        } catch {
            if replica.stopError != nil {
                // The snapshot file, its marker or the segment removal failed: fail-stop.
                stats.persistFailures += 1
                nodes[position].failedSnapshot = replica.core.snapshot
                record("compact \(id) failed: \(error)", 38, applied)
                crash(position)
            } else {
                record("compact refused: \(error)", 37, 0)
            }
        }
    }

    /// Heals every fault, restarts every crashed member, and requires a leader to commit a new
    /// entry within `livenessTicks`.
    mutating func runLivenessPhase() {
        faultsEnabled = false
        network.heal()
        network.makeReliable()
        for position in nodes.indices { nodes[position].fileSystem.setRates(.none) }
        for position in nodes.indices where !nodes[position].isUp && !nodes[position].decommissioned {
            start(position)
        }
        record("liveness phase", 40, 0)
        var marker: (leader: ReplicaID, term: Term, index: LogIndex)?
        for tick in 0..<options.livenessTicks {
            step()
            guard checker.violations.isEmpty else { return }
            guard let position = currentLeader, let leader = nodes[position].core else { continue }
            if let current = marker, current.leader == leader.id, current.term == leader.term {
                if leader.commitIndex >= current.index && leader.term(at: current.index) == current.term {
                    stats.livenessTicksUsed = tick + 1
                    return
                }
                continue
            }
            nextCommand += 1
            if let index = try? nodes[position].replica?.propose(
                [0x4c, 0x49, 0x56, 0x45], machine: 0, requestID: RequestID(client: 1, sequence: nextCommand), nowMillis: now)
            {
                marker = (leader.id, leader.term, index)
            }
        }
        checker.fail("Liveness: no leader committed a new entry within \(options.livenessTicks) ticks after healing")
    }
}
