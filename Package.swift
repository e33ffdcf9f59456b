// swift-tools-version: 6.1
//
// Naksha — one binary for workflow graphs and sharded vector search on a Raft-coordinated
// worker pool. The targets and what each may import are fixed by ARCHITECTURE.md; keep this
// file in step with it (`make lint` checks the layering).

import PackageDescription

/// Swift settings every target gets: the upcoming features the conventions require.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
let yams = Target.Dependency.product(name: "Yams", package: "Yams")
let asyncHTTPClient = Target.Dependency.product(name: "AsyncHTTPClient", package: "async-http-client")
let swiftProtobuf = Target.Dependency.product(name: "SwiftProtobuf", package: "swift-protobuf")
let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "naksha",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "naksha", targets: ["NakshaCLI"]),
        .executable(name: "naksha-actor-peer", targets: ["NakshaActorPeer"]),
        .executable(name: "naksha-sim", targets: ["NakshaSim"]),
        .library(name: "NakshaWire", targets: ["NakshaWire"]),
        .library(name: "NakshaCore", targets: ["NakshaCore"]),
        .library(name: "NakshaVector", targets: ["NakshaVector"]),
        .library(name: "NakshaGraph", targets: ["NakshaGraph"]),
        .library(name: "RaftCore", targets: ["RaftCore"]),
        .library(name: "NakshaStore", targets: ["NakshaStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries (pkg-config). `make setup` installs libzstd-dev and libpq-dev.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // Pure foundations.
        .target(name: "NakshaCore", swiftSettings: strictSettings),
        .target(name: "CNakshaCRC32C"),
        .target(name: "NakshaWire", dependencies: ["NakshaCore", "CZstd", "CNakshaCRC32C"], swiftSettings: strictSettings),
        .target(name: "RaftCore", dependencies: ["NakshaCore"], swiftSettings: strictSettings),

        // Transport and replication shells.
        .target(
            name: "NakshaActors",
            dependencies: ["NakshaCore", "NakshaWire", nioCore, nioPosix, nioSSL, metrics],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "NakshaActorPeer",
            dependencies: ["NakshaActors", nioCore, nioPosix],
            swiftSettings: strictSettings
        ),
        // The Raft replica without transport: write-ahead log, snapshots, file-system seam,
        // state-machine host and ready processing (driven by RaftNode and by the simulator).
        .target(name: "NakshaRaftStorage", dependencies: ["RaftCore", "NakshaCore", "NakshaWire"], swiftSettings: strictSettings),
        .target(
            name: "NakshaRaft", dependencies: ["RaftCore", "NakshaCore", "NakshaRaftStorage", "NakshaActors", logging, metrics],
            swiftSettings: strictSettings),

        // Pure domain logic.
        .target(name: "NakshaGraph", dependencies: ["NakshaCore", yams], swiftSettings: strictSettings),
        .target(name: "CNakshaPrefetch"),
        .target(name: "NakshaVector", dependencies: ["NakshaCore", "CNakshaPrefetch"], swiftSettings: strictSettings),
        .target(name: "NakshaState", dependencies: ["NakshaCore", "NakshaGraph"], swiftSettings: strictSettings),

        // The distributed-actor interface workers call on coordinators (one stable module).
        .target(
            name: "NakshaClusterAPI", dependencies: ["NakshaCore", "NakshaActors", "NakshaState", "NakshaGraph"],
            swiftSettings: strictSettings),

        // I/O services.
        .target(name: "NakshaStore", dependencies: ["NakshaCore", "CLibPQ", logging, metrics], swiftSettings: strictSettings),
        .target(
            name: "NakshaObservability",
            dependencies: ["NakshaCore", logging, metrics, prometheus],
            swiftSettings: strictSettings
        ),
        .target(
            name: "NakshaProviders", dependencies: ["NakshaCore", asyncHTTPClient, logging, nioCore, .product(name: "NIOHTTP1", package: "swift-nio")],
            swiftSettings: strictSettings),
        .target(
            name: "NakshaProtocol",
            dependencies: ["NakshaCore", "NakshaWire", swiftProtobuf, nioCore, nioPosix, metrics],
            swiftSettings: strictSettings
        ),
        .target(
            name: "NakshaCoordinator",
            dependencies: [
                "NakshaCore", "NakshaWire", "RaftCore", "NakshaActors", "NakshaRaft", "NakshaRaftStorage", "NakshaGraph",
                "NakshaVector", "NakshaState", "NakshaStore", "NakshaObservability", "NakshaProviders",
                "NakshaProtocol", "NakshaClusterAPI", hummingbird, serviceLifecycle, unixSignals, asyncHTTPClient,
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "NakshaWorker",
            dependencies: [
                "NakshaCore", "NakshaWire", "NakshaActors", "NakshaGraph", "NakshaVector", "NakshaState", "NakshaClusterAPI",
                "NakshaStore", "NakshaObservability", "NakshaProviders", "NakshaProtocol", serviceLifecycle, unixSignals,
                asyncHTTPClient, hummingbird, logging, metrics, nioCore, .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "NakshaCLI",
            dependencies: [
                "NakshaCore", "NakshaWire", "NakshaActors", "NakshaGraph", "NakshaVector", "NakshaState",
                "NakshaStore", "NakshaObservability", "NakshaCoordinator", "NakshaWorker", "NakshaProviders", "NakshaProtocol", "NakshaRaft", "NakshaRaftStorage", "RaftCore", argumentParser, swiftProtobuf,
                asyncHTTPClient, hummingbird, logging, nioCore, nioPosix, .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),

        // Test support: the simulated network, disk and clock for deterministic simulation.
        .target(name: "NakshaSimulation", dependencies: ["NakshaCore", "RaftCore", "NakshaRaftStorage"], swiftSettings: strictSettings),
        .executableTarget(
            name: "NakshaSim",
            dependencies: ["NakshaSimulation", "RaftCore", "NakshaCore"],
            swiftSettings: strictSettings
        ),

        // Tests.
        // Helpers the test targets share (binaries next to the tests, stable loopback ports).
        .target(name: "NakshaTestSupport", dependencies: ["NakshaStore"], path: "Tests/NakshaTestSupport", swiftSettings: strictSettings),
        .testTarget(name: "NakshaCoreTests", dependencies: ["NakshaCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "NakshaWireTests",
            dependencies: ["NakshaWire", "NakshaCore", "NakshaTestSupport"],
            exclude: ["Golden"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "NakshaGraphTests",
            dependencies: ["NakshaGraph", "NakshaCore"],
            resources: [.copy("Corpus")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "NakshaClusterAPITests", dependencies: ["NakshaClusterAPI", "NakshaGraph", "NakshaCore"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "NakshaCLITests",
            dependencies: [
                "NakshaCLI", "NakshaCoordinator", "NakshaRaft", "NakshaRaftStorage", "NakshaActors", "RaftCore", "NakshaTestSupport",
                "NakshaClusterAPI", "NakshaState", "NakshaGraph", "NakshaCore", "NakshaProtocol", "NakshaWorker", "NakshaStore", "NakshaVector",
                hummingbird, logging,
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "NakshaStoreTests",
            dependencies: [
                "NakshaStore", "NakshaCore", "NakshaTestSupport", logging, metrics,
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "RaftCoreTests", dependencies: ["RaftCore", "NakshaCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "NakshaSimulationTests",
            dependencies: ["NakshaSimulation", "RaftCore", "NakshaCore", "NakshaRaftStorage", "NakshaState", "NakshaGraph"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "NakshaRaftTests",
            dependencies: ["NakshaRaft", "NakshaRaftStorage", "NakshaCore", .product(name: "MetricsTestKit", package: "swift-metrics")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "NakshaStateTests", dependencies: ["NakshaState", "NakshaCore", "NakshaGraph"], exclude: ["Golden"],
            swiftSettings: strictSettings),
        .testTarget(name: "NakshaVectorTests", dependencies: ["NakshaVector", "NakshaCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "NakshaProtocolTests", dependencies: ["NakshaProtocol", "NakshaWire", "NakshaCore", "NakshaTestSupport", swiftProtobuf, nioCore, nioPosix],
            exclude: ["Golden"], swiftSettings: strictSettings),
        .testTarget(
            name: "NakshaProvidersTests",
            dependencies: ["NakshaProviders", "NakshaCore", "NakshaTestSupport", asyncHTTPClient, hummingbird, nioCore],
            swiftSettings: strictSettings),
        .testTarget(
            name: "NakshaActorsTests",
            dependencies: [
                "NakshaActors", "NakshaActorPeer", "NakshaWire", "NakshaTestSupport", nioCore, nioPosix,
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
