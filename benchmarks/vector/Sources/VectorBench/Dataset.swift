import NakshaCore
import Foundation
import NakshaVector

/// The two deterministic benchmark datasets. The generation algorithm is the contract
/// with `benchmarks/peers/vector.py`, which reads the files written here (it does not
/// regenerate them), so both sides search identical bytes.
///
/// Gaussian samples: Box–Muller over SeededGenerator (`u1 = (next() >> 11)·2⁻⁵³`, clamped to
/// ≥ 1e-300, `u2` likewise; emits `r·cos θ` then `r·sin θ`).
/// - clustered (seed 1 base, 2 queries): 256 centres ~ N(0, I₃₈₄) drawn first from the base
///   stream; each point picks centre `next() % 256` and adds 0.6·N(0, I); then unit length.
/// - hard (seed 3 base, 4 queries): A ~ N(0,1)^(32×384)/√32 drawn first from seed 5; each
///   point is z·A + σ·N(0, I₃₈₄) with z ~ N(0, I₃₂), σ = 0.1, then unit length — a
///   32-dimensional latent Gaussian embedded in 384 dimensions plus small noise.
/// - latent (seed 7 mixture, 8 base, 9 queries): a 64-dimensional Gaussian mixture of 100
///   clusters whose weights fall off as 1/(c+1) (Zipf: the largest cluster holds ≈ 19 % of
///   the points, the smallest ≈ 0.2 %), drawn first from seed 7 as: centres ~ N(0, I₆₄),
///   then spreads s_c = 0.25 + 0.75·u_c; A ~ N(0,1)^(64×384)/8 from seed 10. Each point picks
///   cluster c by inverse CDF of u = (next() >> 11)·2⁻⁵³, z = centre_c + s_c·N(0, I₆₄),
///   x = z·A + 0.05·N(0, I₃₈₄), then unit length. Queries are new draws (seed 9) from the same
///   mixture — the shape of the independent check in issue 18.
/// Files: `<dir>/<name>/base.f32` (n×384 little-endian float32, row-major),
/// `queries.f32` (nq×384), `gt.i32` (nq×10 exact inner-product neighbours, best first),
/// `meta.json`.
struct Dataset {
    var name: String
    var dimension: Int
    var base: [Float]
    var queries: [Float]
    var count: Int { base.count / dimension }
    var queryCount: Int { queries.count / dimension }

    func query(_ i: Int) -> [Float] { Array(queries[(i * dimension)..<((i + 1) * dimension)]) }
    func vector(_ i: Int) -> [Float] { Array(base[(i * dimension)..<((i + 1) * dimension)]) }

    struct Gaussian {
        var rng: SeededGenerator
        var spare: Float?
        init(seed: UInt64) { rng = SeededGenerator(seed: seed) }
        mutating func next() -> Float {
            if let s = spare { spare = nil; return s }
            let u1 = max(Double(rng.next() >> 11) * 0x1p-53, 1e-300)
            let u2 = Double(rng.next() >> 11) * 0x1p-53
            let r = (-2 * log(u1)).squareRoot()
            spare = Float(r * sin(2 * .pi * u2))
            return Float(r * cos(2 * .pi * u2))
        }
    }

    static func normalize(_ v: inout ArraySlice<Float>) {
        var s: Float = 0
        for x in v { s += x * x }
        let inv = s > 0 ? 1 / s.squareRoot() : 0
        for i in v.indices { v[i] *= inv }
    }

    static func clustered(count: Int, queryCount: Int, dimension d: Int) -> Dataset {
        func make(_ n: Int, seed: UInt64, centres: [Float]) -> [Float] {
            var g = Gaussian(seed: seed)
            var out = [Float](repeating: 0, count: n * d)
            for i in 0..<n {
                let c = Int(g.rng.next() % 256)
                for j in 0..<d { out[i * d + j] = centres[c * d + j] + 0.6 * g.next() }
                Self.normalize(&out[(i * d)..<((i + 1) * d)])
            }
            return out
        }
        var cg = Gaussian(seed: 1)
        let centres = (0..<(256 * d)).map { _ in cg.next() }
        return Dataset(name: "clustered", dimension: d, base: make(count, seed: 11, centres: centres),
                       queries: make(queryCount, seed: 2, centres: centres))
    }

    static func hard(count: Int, queryCount: Int, dimension d: Int, latent: Int = 32, sigma: Float = 0.1) -> Dataset {
        var ag = Gaussian(seed: 5)
        let scale = 1 / Float(latent).squareRoot()
        let a = (0..<(latent * d)).map { _ in ag.next() * scale }
        func make(_ n: Int, seed: UInt64) -> [Float] {
            var g = Gaussian(seed: seed)
            var out = [Float](repeating: 0, count: n * d)
            var z = [Float](repeating: 0, count: latent)
            for i in 0..<n {
                for l in 0..<latent { z[l] = g.next() }
                Self.embedRow(z, through: a, noise: sigma, gaussian: &g, into: &out, row: i, dimension: d)
            }
            return out
        }
        return Dataset(name: "hard", dimension: d, base: make(count, seed: 3), queries: make(queryCount, seed: 4))
    }

    static func latentMixture(count: Int, queryCount: Int, dimension d: Int) -> Dataset {
        let latent = 64, clusters = 100
        var mg = Gaussian(seed: 7)
        let centres = (0..<(clusters * latent)).map { _ in mg.next() }
        let spreads = (0..<clusters).map { _ in 0.25 + 0.75 * Float(Double(mg.rng.next() >> 11) * 0x1p-53) }
        let weights = (0..<clusters).map { 1 / Double($0 + 1) }
        let total = weights.reduce(0, +)
        var cumulative: [Double] = []
        var running = 0.0
        for w in weights { running += w / total; cumulative.append(running) }
        var ag = Gaussian(seed: 10)
        let a = (0..<(latent * d)).map { _ in ag.next() / Float(latent).squareRoot() }
        func make(_ n: Int, seed: UInt64) -> [Float] {
            var g = Gaussian(seed: seed)
            var out = [Float](repeating: 0, count: n * d)
            var z = [Float](repeating: 0, count: latent)
            for i in 0..<n {
                let u = Double(g.rng.next() >> 11) * 0x1p-53
                let c = cumulative.firstIndex { u < $0 } ?? (clusters - 1)
                for l in 0..<latent { z[l] = centres[c * latent + l] + spreads[c] * g.next() }
                Self.embedRow(z, through: a, noise: 0.05, gaussian: &g, into: &out, row: i, dimension: d)
            }
            return out
        }
        return Dataset(name: "latent", dimension: d, base: make(count, seed: 8), queries: make(queryCount, seed: 9))
    }

    /// Row `i` of `out` becomes `z·A + noise·N(0, I_d)` (the noise drawn from `g` now, after
    /// `z`), then unit length. `A` is `z.count × d`, row-major.
    static func embedRow(
        _ z: [Float], through a: [Float], noise: Float, gaussian g: inout Gaussian, into out: inout [Float], row i: Int, dimension d: Int
    ) {
        for j in 0..<d { out[i * d + j] = noise * g.next() }
        for l in z.indices {
            let zl = z[l]
            for j in 0..<d { out[i * d + j] += zl * a[l * d + j] }
        }
        normalize(&out[(i * d)..<((i + 1) * d)])
    }

    /// Reads a dataset and its ground truth written by `write(to:groundTruth:)`.
    static func read(from directory: String, name: String) throws -> (Dataset, [[UInt64]]) {
        let dir = URL(fileURLWithPath: directory).appendingPathComponent(name)
        func floats(_ file: String) throws -> [Float] {
            let data = try Data(contentsOf: dir.appendingPathComponent(file))
            return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        let gtData = try Data(contentsOf: dir.appendingPathComponent("gt.i32"))
        let gt = gtData.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        let truth = stride(from: 0, to: gt.count, by: 10).map { gt[$0..<($0 + 10)].map { UInt64($0) } }
        return (Dataset(name: name, dimension: 384, base: try floats("base.f32"), queries: try floats("queries.f32")), truth)
    }

    func write(to directory: String, groundTruth: [[UInt64]]) throws {
        let dir = URL(fileURLWithPath: directory).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try base.withUnsafeBytes { try Data($0).write(to: dir.appendingPathComponent("base.f32")) }
        try queries.withUnsafeBytes { try Data($0).write(to: dir.appendingPathComponent("queries.f32")) }
        let gt = groundTruth.flatMap { $0.map { Int32(truncatingIfNeeded: $0) } }
        try gt.withUnsafeBytes { try Data($0).write(to: dir.appendingPathComponent("gt.i32")) }
        let meta = "{\"name\":\"\(name)\",\"n\":\(count),\"d\":\(dimension),\"nq\":\(queryCount),\"k\":10}\n"
        try Data(meta.utf8).write(to: dir.appendingPathComponent("meta.json"))
    }
}
