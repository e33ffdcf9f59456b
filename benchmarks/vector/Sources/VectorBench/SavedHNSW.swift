import Foundation
import NakshaVector

/// The interleaved-rounds mode (`--phases hnsw-build` then `--phases hnsw-search --round R`):
/// the index is built once and saved with `HNSWIndex.writeSnapshot`, and each round is a
/// fresh process that loads it and sweeps efSearch, so rounds of Naksha and its peers
/// (`benchmarks/peers/hnsw_rounds.py`) can alternate on the same files
/// (`benchmarks/vector/hnsw-rounds.sh`).
func runSavedHNSW(
    directory: String, datasetName: String, phases: Set<String>, efList: [Int], m: Int, efConstruction: Int,
    repeats: Int, round: Int, report: Report
) throws {
    let (ds, truth) = try Dataset.read(from: directory, name: datasetName)
    let path = "\(directory)/\(datasetName)/naksha-m\(m)-efc\(efConstruction).hnsw"
    let k = 10
    if phases.contains("hnsw-build") {
        let parameters = HNSWParameters(m: m, efConstruction: efConstruction, efSearch: 64, seed: 42)
        var index = try HNSWIndex(dimension: ds.dimension, metric: .innerProduct, parameters: parameters)
        index.reserveCapacity(ds.count)
        let build = try timed { for i in 0..<ds.count { try index.add(id: UInt64(i), vector: ds.vector(i)) } }
        try Data(index.snapshotBytes()).write(to: URL(fileURLWithPath: path))
        report.emit([("bench", "hnsw.build"), ("dataset", ds.name), ("n", ds.count), ("m", m), ("ef_construction", efConstruction),
                     ("threads", 1), ("build_s", build.wall), ("build_cpu_s", build.cpu), ("bytes_per_vector", index.bytesPerVector)])
    }
    guard phases.contains("hnsw-search") else { return }
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    var loaded: HNSWIndex?
    let loadSeconds = try seconds { loaded = try HNSWIndex(snapshot: bytes) }
    guard let index = loaded else { return }
    report.emit([("bench", "hnsw.load"), ("system", "naksha"), ("dataset", ds.name), ("round", round), ("n", index.count),
                 ("snapshot_bytes", bytes.count), ("load_s", loadSeconds)])
    let queries = (0..<ds.queryCount).map { ds.query($0) }
    for ef in efList {
        let (results, best) = try timedSweep(index, queries: queries, k: k, ef: ef, repeats: repeats)
        report.emit([("bench", "hnsw.search"), ("system", "naksha"), ("dataset", ds.name), ("round", round), ("ef", ef),
                     ("threads", 1), ("queries", queries.count), ("qps", Double(queries.count) / best.wall),
                     ("qps_cpu", Double(queries.count) / best.cpu), ("repeats", repeats), ("recall10", recallAt10(results, truth))])
    }
}

/// Searches every query `repeats` times with one reused scratch; returns the last pass's
/// results and the fastest pass's wall-clock and thread-CPU seconds.
func timedSweep(_ index: HNSWIndex, queries: [[Float]], k: Int, ef: Int, repeats: Int) throws -> ([[Neighbor]], (wall: Double, cpu: Double)) {
    var scratch = HNSWSearchScratch()
    var results: [[Neighbor]] = []
    var best = (wall: Double.infinity, cpu: Double.infinity)
    for _ in 0..<repeats {
        results = []
        results.reserveCapacity(queries.count)
        let t = try timed { for q in queries { results.append(try index.search(q, k: k, efSearch: ef, scratch: &scratch)) } }
        best = (min(best.wall, t.wall), min(best.cpu, t.cpu))
    }
    return (results, best)
}
