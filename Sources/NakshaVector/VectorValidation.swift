/// Input checks shared by every index, so all of them reject the same inputs the same way.
enum VectorValidation {
    static func checkDimension(_ dimension: Int) throws(VectorError) {
        guard dimension > 0 else {
            throw VectorError(
                code: .invalidDimension,
                message: "dimension \(dimension) is invalid: a collection needs at least one component"
            )
        }
    }

    static func checkVector(_ vector: UnsafeBufferPointer<Float>, dimension: Int) throws(VectorError) {
        guard vector.count == dimension else {
            throw .dimensionMismatch(expected: dimension, got: vector.count)
        }
        for value in vector where !value.isFinite {
            throw VectorError(
                code: .nonFiniteValue,
                message: "vector contains \(value); replace NaN/infinite components before inserting"
            )
        }
    }

    static func checkQuery(_ query: UnsafeBufferPointer<Float>, dimension: Int, k: Int) throws(VectorError) {
        guard query.count == dimension else {
            throw .dimensionMismatch(expected: dimension, got: query.count)
        }
        guard k >= 0 else { throw .invalidParameter("k", k, "≥ 0") }
    }

    /// Scales `vector` in place to unit length (cosine indexes store unit vectors);
    /// a zero vector is left as is (its cosine distance to anything is then 1).
    /// The vector as an index stores it: checked (dimension, finite values), and
    /// unit-normalised for the cosine metric. Shared by every index's insert path.
    static func prepared(_ vector: [Float], dimension: Int, metric: DistanceMetric) throws(VectorError) -> [Float] {
        try vector.withUnsafeBufferPointer { b throws(VectorError) in
            try checkVector(b, dimension: dimension)
        }
        var stored = vector
        if metric == .cosine { normalize(&stored) }
        return stored
    }

    static func normalize(_ vector: inout [Float]) {
        let norm = vector.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return Float(0) }
            return Distance.squaredNorm(base, count: b.count).squareRoot()
        }
        guard norm > 0 else { return }
        let inverse = 1 / norm
        for i in vector.indices { vector[i] *= inverse }
    }
}
