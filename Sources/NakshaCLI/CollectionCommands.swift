import ArgumentParser
import Foundation
import NakshaProtocol
import SwiftProtobuf

/// `naksha collection create | list | drop`: vector collections in the shard map.
struct CollectionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collection",
        abstract: "Create, list and drop vector collections (the shard map; see docs/vectors.md).",
        subcommands: [Create.self, List.self, Drop.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a collection; its shards' replicas are placed on the registered workers.",
            discussion: "Example: naksha collection create docs --dimension 384 --metric cosine --shards 8 --replicas 2")
        @Argument(help: "The collection's name.") var name: String
        @Option(help: "Vector dimension.") var dimension: UInt32
        @Option(help: "cosine, ip or l2.") var metric = "cosine"
        @Option(help: "flat, hnsw or int8.") var index = "hnsw"
        @Option(help: "Shards (1…1024).") var shards: UInt32 = 4
        @Option(help: "Replicas of each shard (1…16).") var replicas: UInt32 = 2
        @OptionGroup var connection: ClientOptions

        func run() async throws {
            try await runClient {
                let client = try connection.client()
                defer { Task { await client.close() } }
                var request = Naksha_V1_CreateCollectionRequest()
                request.name = name
                request.dimension = dimension
                request.metric = metric
                request.index = index
                request.shards = shards
                request.replicas = replicas
                let created = try await client.createCollection(request)
                print("collection \(created.name) \(created.created ? "created" : "exists already with this shape"): \(created.dimension) dimensions, \(created.metric), \(created.index), \(created.shards) shards × \(created.replicas) replicas (map epoch \(created.epoch))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Collections and their shape.")
        @OptionGroup var connection: ClientOptions

        func run() async throws {
            try await runClient {
                let client = try connection.client()
                defer { Task { await client.close() } }
                let list = try await client.listCollections()
                print("NAME".padding(toLength: 24, withPad: " ", startingAt: 0) + "DIM   METRIC  INDEX  SHARDS×REPLICAS")
                for item in list.collections {
                    print(item.name.padding(toLength: 24, withPad: " ", startingAt: 0) + "\(item.dimension)".padding(toLength: 6, withPad: " ", startingAt: 0)
                        + item.metric.padding(toLength: 8, withPad: " ", startingAt: 0) + item.index.padding(toLength: 7, withPad: " ", startingAt: 0)
                        + "\(item.shards)×\(item.replicas)")
                }
                print("shard map epoch \(list.epoch)")
            }
        }
    }

    struct Drop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop a collection from the shard map.")
        @Argument(help: "The collection's name.") var name: String
        @OptionGroup var connection: ClientOptions

        func run() async throws {
            try await runClient {
                let client = try connection.client()
                defer { Task { await client.close() } }
                let dropped = try await client.dropCollection(name)
                print("collection \(name) dropped (map epoch \(dropped.epoch))")
            }
        }
    }
}

/// `naksha shards list | rebalance | move`: where each shard's replicas are, the spread per
/// worker with its memory, and moves.
struct ShardsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shards", abstract: "Show and change the shard map: replicas per shard and per worker, rebalance, move.",
        subcommands: [List.self, Rebalance.self, Move.self])

    static func bytes(_ count: UInt64) -> String {
        ByteCountFormatter.string(fromByteCount: Int64(clamping: count), countStyle: .memory)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replicas per shard, then per worker with the memory it uses and its budget.")
        @Option(help: "Only this collection.") var collection: String?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var connection: ClientOptions

        func run() async throws {
            try await runClient {
                let client = try connection.client()
                defer { Task { await client.close() } }
                let map = try await client.listShards(collection: collection ?? "")
                if json {
                    print((try? map.jsonString()) ?? "{}")  // a generated message always encodes
                    return
                }
                print("shard map epoch \(map.epoch)")
                for shard in map.shards {
                    let workers = shard.workers.isEmpty ? (shard.refusedBy.isEmpty ? "(no worker registered)" : "(no worker with room)") : shard.workers.joined(separator: ", ")
                    let move = shard.movingTo.isEmpty ? "" : "  moving \(shard.movingFrom) → \(shard.movingTo)"
                    print("  \(shard.collection)/\(shard.shard)".padding(toLength: 28, withPad: " ", startingAt: 0) + workers
                        + (shard.underReplicated ? "  under-replicated" : "") + move
                        + (shard.refusedBy.isEmpty ? "" : "  refused by \(shard.refusedBy.joined(separator: ", ")) (memory budget)"))
                }
                print("WORKER".padding(toLength: 20, withPad: " ", startingAt: 0) + "REPLICAS  READY  LOADING  REFUSED  VECTORS     MEMORY USED / BUDGET")
                for worker in map.workers {
                    let budget = worker.memoryBudgetBytes == 0 ? "-" : ShardsCommand.bytes(worker.memoryBudgetBytes)
                    let states = worker.reachable
                        ? "\(worker.ready)".padding(toLength: 7, withPad: " ", startingAt: 0) + "\(worker.loading)".padding(toLength: 9, withPad: " ", startingAt: 0)
                            + "\(worker.refused)".padding(toLength: 9, withPad: " ", startingAt: 0) + "\(worker.vectors)".padding(toLength: 12, withPad: " ", startingAt: 0)
                            + "\(ShardsCommand.bytes(worker.memoryUsedBytes)) / \(budget)"
                        : "(did not answer)".padding(toLength: 37, withPad: " ", startingAt: 0) + "- / \(budget)"
                    print(worker.worker.padding(toLength: 20, withPad: " ", startingAt: 0) + "\(worker.replicas)".padding(toLength: 10, withPad: " ", startingAt: 0) + states)
                }
            }
        }
    }

    static func printMoves(_ answer: Naksha_V1_ShardMovesResponse, json: Bool) {
        if json {
            print((try? answer.jsonString()) ?? "{}")  // a generated message always encodes
            return
        }
        if answer.moves.isEmpty {
            print("balanced: no move \(answer.dryRun ? "needed" : "started") (map epoch \(answer.epoch))")
            return
        }
        print("\(answer.moves.count) move\(answer.moves.count == 1 ? "" : "s") \(answer.dryRun ? "planned (dry run; nothing moved)" : "started") at map epoch \(answer.epoch):")
        for move in answer.moves { print("  \(move.collection)/\(move.shard)  \(move.from) → \(move.to)") }
        if !answer.dryRun { print("each target loads and catches up, then takes its source's place; follow with: naksha shards list") }
    }

    struct Rebalance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move replicas until workers differ by at most one replica (the fewest moves; one per shard at a time).")
        @Flag(help: "Only print the moves.") var dryRun = false
        @Option(help: "At most this many moves.") var maxMoves: UInt32 = 0
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var connection: ClientOptions

        func run() async throws {
            try await runClient {
                let client = try connection.client()
                defer { Task { await client.close() } }
                var request = Naksha_V1_RebalanceShardsRequest()
                request.dryRun = dryRun
                request.maxMoves = maxMoves
                ShardsCommand.printMoves(try await client.rebalanceShards(request), json: json)
            }
        }
    }

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move one replica of a shard to a worker; the source serves until the target is ready.")
        @Option(help: "The collection.") var collection: String
        @Option(help: "The shard number.") var shard: UInt32
        @Option(help: "The worker to move it to.") var to: String
        @Option(help: "The worker to move it from (default: the holder with the most replicas).") var from: String?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var connection: ClientOptions

        func run() async throws {
            try await runClient {
                let client = try connection.client()
                defer { Task { await client.close() } }
                var request = Naksha_V1_MoveShardRequest()
                request.collection = collection
                request.shard = shard
                request.to = to
                request.from = from ?? ""
                ShardsCommand.printMoves(try await client.moveShard(request), json: json)
            }
        }
    }
}
