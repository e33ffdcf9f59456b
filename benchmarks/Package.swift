// swift-tools-version: 6.1
//
// Naksha benchmarks (ordo-one/benchmark). Run from the repository root with `make bench`,
// or here with `swift package --allow-writing-to-package-directory benchmark`.
// Kept out of the root package so that `make test` does not build the benchmark harness.

import Foundation
import PackageDescription

// The root package is a path dependency; its identity is the name of the folder it was
// cloned into, so compute it rather than assume "naksha".
let rootDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let rootIdentity = rootDirectory.lastPathComponent.lowercased()

let package = Package(
    name: "naksha-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "WireBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NakshaWire", package: rootIdentity),
            ],
            path: "Benchmarks/WireBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
