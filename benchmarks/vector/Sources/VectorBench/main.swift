import NakshaCore
import Foundation
import NakshaVector

// vector-bench [--n N] [--queries Q] [--single S] [--dir DIR] [--phases gen,flat,int8,hnsw,filter]
//              [--ef 32,64,128,256,512] [--m 16] [--ef-construction 200] [--repeat 1]
//              [--datasets clustered,hard|latent]
// vector-bench --phases hnsw-build|hnsw-search [--dataset latent] [--round R] (see SavedHNSW.swift)
// --repeat R times each HNSW sweep and one-thread exact batch R times and reports the fastest
// pass (wall clock `qps`, and `qps_cpu` from the thread's CPU time).
var arguments = [String: String]()
var argv = CommandLine.arguments.dropFirst().makeIterator()
while let key = argv.next() {
    if key == "--help" {
        print("vector-bench --n 200000 --queries 1000 --single 200 --dir /tmp/naksha-vector-bench --phases gen,flat,int8,hnsw,filter")
        exit(0)
    }
    arguments[String(key.drop { $0 == "-" })] = argv.next() ?? ""
}
let n = Int(arguments["n"] ?? "") ?? 200_000
let queryCount = Int(arguments["queries"] ?? "") ?? 1000
let singleCount = Int(arguments["single"] ?? "") ?? 200
let directory = arguments["dir"] ?? "/tmp/naksha-vector-bench"
let phases = Set((arguments["phases"] ?? "gen,flat,int8,hnsw,filter").split(separator: ",").map(String.init))
let efList = (arguments["ef"] ?? "32,64,128,256,512").split(separator: ",").compactMap { Int($0) }
let m = Int(arguments["m"] ?? "") ?? 16
let efConstruction = Int(arguments["ef-construction"] ?? "") ?? 200
let repeats = max(1, Int(arguments["repeat"] ?? "") ?? 1)
let d = 384, k = 10
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
let report = Report(directory: directory)
if phases.contains("hnsw-build") || phases.contains("hnsw-search") {
    try runSavedHNSW(directory: directory, datasetName: arguments["dataset"] ?? "latent", phases: phases, efList: efList,
                     m: m, efConstruction: efConstruction, repeats: repeats, round: Int(arguments["round"] ?? "") ?? 0, report: report)
    exit(0)
}

func log(_ s: String) { FileHandle.standardError.write(Data("[vector-bench] \(s)\n".utf8)) }

// MARK: Datasets and ground truth

var datasets: [Dataset] = []
var truths: [String: [[UInt64]]] = [:]
var flats: [String: FlatIndex] = [:]
let generators: [String: (Int, Int, Int) -> Dataset] = [
    "clustered": Dataset.clustered, "hard": { Dataset.hard(count: $0, queryCount: $1, dimension: $2) }, "latent": Dataset.latentMixture,
]
for name in (arguments["datasets"] ?? "clustered,hard").split(separator: ",").map(String.init) {
    guard let make = generators[name] else { log("unknown dataset \(name)"); exit(2) }
    var ds: Dataset!
    let genSeconds = seconds { ds = make(n, queryCount, d) }
    var flat = try FlatIndex(dimension: d, metric: .innerProduct)
    flat.reserveCapacity(n)
    let loadSeconds = try seconds { for i in 0..<n { try flat.add(id: UInt64(i), vector: ds.vector(i)) } }
    var truth: [[UInt64]] = []
    let gtSeconds = try seconds { truth = try flat.search(batch: ds.queries, k: k).map { $0.map(\.id) } }
    if phases.contains("gen") { try ds.write(to: directory, groundTruth: truth) }
    log("\(ds.name): generated in \(genSeconds) s, flat load \(loadSeconds) s, ground truth \(gtSeconds) s")
    report.emit([("bench", "dataset"), ("dataset", ds.name), ("n", n), ("nq", queryCount), ("generate_s", genSeconds), ("flat_load_s", loadSeconds)])
    datasets.append(ds)
    truths[ds.name] = truth
    flats[ds.name] = flat
}

// MARK: Exact search

if phases.contains("flat"), let ds = datasets.first, let flat = flats[ds.name], let truth = truths[ds.name] {
    let queries = (0..<queryCount).map { ds.query($0) }
    // One query at a time, one thread.
    var single: [[Neighbor]] = []
    let t1 = try seconds { for q in queries.prefix(singleCount) { single.append(try flat.search(q, k: k)) } }
    report.emit([("bench", "flat.single"), ("dataset", ds.name), ("threads", 1), ("queries", singleCount),
                 ("qps", Double(singleCount) / t1), ("recall10", recallAt10(single, Array(truth.prefix(singleCount)))),
                 ("bytes_per_vector", flat.bytesPerVector)])
    // One query at a time, two threads: the data split into two shards searched concurrently, then merged.
    var shards = [try FlatIndex(dimension: d, metric: .innerProduct), try FlatIndex(dimension: d, metric: .innerProduct)]
    for i in 0..<n { try shards[i % 2].add(id: UInt64(i), vector: ds.vector(i)) }
    let shardBox = shards
    var merged: [[Neighbor]] = []
    let t2 = seconds {
        for q in queries.prefix(singleCount) {
            let partial = Slots<[Neighbor]>([[], []])
            parallel(2) { s in partial.values[s] = (try? shardBox[s].search(q, k: k)) ?? [] }
            merged.append(ShardMerge.merge(partial.values, k: k))
        }
    }
    report.emit([("bench", "flat.single"), ("dataset", ds.name), ("threads", 2), ("queries", singleCount),
                 ("qps", Double(singleCount) / t2), ("recall10", recallAt10(merged, Array(truth.prefix(singleCount))))])
    shards = []
    // Batches of 100 and 1000, one and two threads (two threads split each batch's queries).
    for batch in [100, 1000] where batch <= queryCount {
        for threads in [1, 2] {
            let results = Slots<[Neighbor]>(Array(repeating: [], count: queryCount))
            var best = (wall: Double.infinity, cpu: Double.infinity)
            for _ in 0..<repeats {
            let t = timed {
                var start = 0
                while start < queryCount {
                    let size = min(batch, queryCount - start)
                    let per = (size + threads - 1) / threads
                    let from = start
                    parallel(threads) { w in
                        let lo = from + w * per, hi = min(from + size, lo + per)
                        guard lo < hi else { return }
                        let flatQueries = Array(ds.queries[(lo * d)..<(hi * d)])
                        let r = (try? flat.search(batch: flatQueries, k: k)) ?? []
                        for (j, x) in r.enumerated() { results.values[lo + j] = x }
                    }
                    start += size
                }
            }
            best = (min(best.wall, t.wall), min(best.cpu, t.cpu))
            }
            // With two threads the work runs on other threads, so this thread's CPU time says nothing.
            let cpuField: [(String, Any)] = threads == 1 ? [("qps_cpu", Double(queryCount) / best.cpu)] : []
            report.emit([("bench", "flat.batch"), ("dataset", ds.name), ("batch", batch), ("threads", threads),
                         ("queries", queryCount), ("qps", Double(queryCount) / best.wall)] + cpuField
                        + [("repeats", repeats), ("recall10", recallAt10(results.values, truth))])
        }
    }
}

// MARK: int8 with rescoring

if phases.contains("int8") {
    for ds in datasets {
        guard let truth = truths[ds.name] else { continue }
        var index = try QuantizedFlatIndex(dimension: d, metric: .innerProduct, trainingSample: Array(ds.base.prefix(10_000 * d)), rescoreFactor: 8)
        index.reserveCapacity(n)
        let build = try seconds { for i in 0..<n { try index.add(id: UInt64(i), vector: ds.vector(i)) } }
        var results: [[Neighbor]] = []
        let t = try seconds { for i in 0..<singleCount { results.append(try index.search(ds.query(i), k: k)) } }
        report.emit([("bench", "int8.single"), ("dataset", ds.name), ("threads", 1), ("queries", singleCount), ("rescore_factor", 8),
                     ("qps", Double(singleCount) / t), ("recall10", recallAt10(results, Array(truth.prefix(singleCount)))),
                     ("build_s", build), ("bytes_per_vector", index.bytesPerVector)])
    }
}

// MARK: HNSW on the hard dataset

var hnswIndex: HNSWIndex?
if phases.contains("hnsw") || phases.contains("filter"), let ds = datasets.last, let truth = truths[ds.name] {
    let parameters = HNSWParameters(m: m, efConstruction: efConstruction, efSearch: 64, seed: 42)
    var index = try HNSWIndex(dimension: d, metric: .innerProduct, parameters: parameters)
    index.reserveCapacity(n)
    let buckets = (0..<n).map { i -> Int64 in var r = SeededGenerator(seed: UInt64(i)); return Int64(r.next() % 100) }
    let build = try timed {
        for i in 0..<n { try index.add(id: UInt64(i), vector: ds.vector(i), metadata: ["bucket": .int(buckets[i])]) }
    }
    report.emit([("bench", "hnsw.build"), ("dataset", ds.name), ("m", m), ("ef_construction", efConstruction), ("threads", 1),
                 ("build_s", build.wall), ("build_cpu_s", build.cpu), ("bytes_per_vector", index.bytesPerVector),
                 ("estimated_bytes_per_vector", Double(HNSWIndex.estimatedBytes(count: n, dimension: d, parameters: parameters)) / Double(n))])
    let queries = (0..<queryCount).map { ds.query($0) }
    if phases.contains("hnsw") {
        for ef in efList {
            let (results, best) = try timedSweep(index, queries: queries, k: k, ef: ef, repeats: repeats)
            report.emit([("bench", "hnsw.search"), ("dataset", ds.name), ("ef", ef), ("threads", 1), ("queries", queryCount),
                         ("qps", Double(queryCount) / best.wall), ("qps_cpu", Double(queryCount) / best.cpu),
                         ("repeats", repeats), ("recall10", recallAt10(results, truth))])
        }
    }
    hnswIndex = index

    // MARK: Filtered search (bucket < p selects p % of vectors)
    if phases.contains("filter"), let flat = flats[ds.name] {
        var flatWithMetadata = try FlatIndex(dimension: d, metric: .innerProduct)
        flatWithMetadata.reserveCapacity(n)
        for i in 0..<n { try flatWithMetadata.add(id: UInt64(i), vector: ds.vector(i), metadata: ["bucket": .int(buckets[i])]) }
        _ = flat
        let filterQueries = Array(queries.prefix(singleCount))
        for percent in [50, 10, 1] {
            let filter = MetadataFilter.range("bucket", min: nil, max: .int(Int64(percent - 1)))
            let flatBitmap = flatWithMetadata.matches(filter)
            var truthFiltered: [[Neighbor]] = []
            let tf = try seconds { for q in filterQueries { truthFiltered.append(try flatWithMetadata.search(q, k: k, matching: flatBitmap)) } }
            let truthIDs = truthFiltered.map { $0.map(\.id) }
            report.emit([("bench", "filter.flat"), ("dataset", ds.name), ("selectivity_pct", percent), ("queries", singleCount),
                         ("qps", Double(singleCount) / tf), ("recall10", 1.0)])
            var evalResults: [[Neighbor]] = []
            let te = try seconds { for q in filterQueries.prefix(50) { evalResults.append(try flatWithMetadata.search(q, k: k, filter: filter)) } }
            report.emit([("bench", "filter.flat.eval_per_query"), ("dataset", ds.name), ("selectivity_pct", percent), ("queries", 50),
                         ("qps", 50 / te), ("recall10", recallAt10(evalResults, Array(truthIDs.prefix(50))))])
            let bitmap = index.matches(filter)
            for ef in [64, 128, 256] {
                var scratch = HNSWSearchScratch()
                var results: [[Neighbor]] = []
                let t = try seconds { for q in filterQueries { results.append(try index.search(q, k: k, efSearch: ef, matching: bitmap, scratch: &scratch)) } }
                report.emit([("bench", "filter.hnsw"), ("dataset", ds.name), ("selectivity_pct", percent), ("ef", ef), ("queries", singleCount),
                             ("qps", Double(singleCount) / t), ("recall10", recallAt10(results, truthIDs)),
                             ("exact_fallback", index.usesExactScan(matching: bitmap, efSearch: max(ef, k)) ? 1 : 0)])
            }
        }
    }
}
log("done")
