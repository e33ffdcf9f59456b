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
                for j in 0..<d { out[i * d + j] = sigma * g.next() }
                for l in 0..<latent {
                    let zl = z[l]
                    for j in 0..<d { out[i * d + j] += zl * a[l * d + j] }
                }
                Self.normalize(&out[(i * d)..<((i + 1) * d)])
            }
            return out
        }
        return Dataset(name: "hard", dimension: d, base: make(count, seed: 3), queries: make(queryCount, seed: 4))
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
