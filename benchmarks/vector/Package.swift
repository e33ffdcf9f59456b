// swift-tools-version: 6.1
// Macro benchmark for the NakshaVector target (issue 7). Build and run in release:
//   swift build -c release && .build/release/vector-bench --help
// See README.md for the datasets, the peers (benchmarks/peers/vector.py) and results.
import Foundation
import PackageDescription

// The root package's identity is the name of the folder it was cloned into.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let rootIdentity = root.lastPathComponent.lowercased()

let package = Package(
    name: "naksha-vector-bench",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "vector-bench",
            dependencies: [
                .product(name: "NakshaVector", package: rootIdentity),
                .product(name: "NakshaCore", package: rootIdentity),
            ],
            path: "Sources/VectorBench",
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
