import NakshaCore
import Foundation
import NakshaVector

/// Deterministic test data: every generator is seeded, so a failure reproduces exactly.
enum TestData {
    /// Standard normal samples by Box–Muller over SeededGenerator.
    static func gaussian(_ count: Int, rng: inout SeededGenerator) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(count)
        while out.count < count {
            let u1 = max(Double(rng.next() >> 11) * 0x1p-53, 1e-300)
            let u2 = Double(rng.next() >> 11) * 0x1p-53
            let r = (-2 * log(u1)).squareRoot()
            out.append(Float(r * cos(2 * .pi * u2)))
            if out.count < count { out.append(Float(r * sin(2 * .pi * u2))) }
        }
        return out
    }

    static func uniform(_ count: Int, rng: inout SeededGenerator) -> [Float] {
        (0..<count).map { _ in rng.nextUnitFloat() * 2 - 1 }
    }

    /// `count` vectors around `clusters` Gaussian centres (spread 1) with per-point noise
    /// `spread`, row-major.
    static func clustered(count: Int, dimension: Int, clusters: Int, spread: Float, seed: UInt64) -> [[Float]] {
        var rng = SeededGenerator(seed: seed)
        let centres = (0..<clusters).map { _ in gaussian(dimension, rng: &rng) }
        return (0..<count).map { i in
            let centre = centres[i % clusters]
            let noise = gaussian(dimension, rng: &rng)
            return (0..<dimension).map { centre[$0] + spread * noise[$0] }
        }
    }

    /// Exact top-k by brute force in Double, the ground truth for recall.
    static func bruteForce(_ data: [(UInt64, [Float])], query: [Float], k: Int, metric: DistanceMetric) -> [UInt64] {
        let scored = data.map { (id, v) -> (UInt64, Double) in
            var dot = 0.0, l2 = 0.0, na = 0.0, nb = 0.0
            for i in v.indices {
                let a = Double(query[i]), b = Double(v[i])
                dot += a * b; l2 += (a - b) * (a - b); na += a * a; nb += b * b
            }
            switch metric {
            case .innerProduct: return (id, -dot)
            case .squaredL2: return (id, l2)
            case .cosine: return (id, 1 - dot / (na * nb).squareRoot())
            }
        }
        return scored.sorted { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.prefix(k).map(\.0)
    }

    static func normalized(_ v: [Float]) -> [Float] {
        let norm = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }

    static func recall(_ found: [UInt64], _ truth: [UInt64]) -> Double {
        guard !truth.isEmpty else { return 1 }
        return Double(Set(found).intersection(truth).count) / Double(truth.count)
    }
}
