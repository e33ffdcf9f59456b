/// Types that exercise every shape of the binary codec.
enum Shape: Codable, Hashable, Sendable {
    case point
    case circle(radius: Double)
    case polygon([Point], label: String?)
    indirect case group(Shape, Shape)
}

struct Point: Codable, Hashable, Sendable {
    var x: Int32
    var y: Int32
}

enum Color: UInt8, Codable, Hashable, Sendable {
    case red = 1, green = 2, blue = 3
}

struct Document: Codable, Hashable, Sendable {
    var id: UInt64
    var title: String
    var tags: [String]
    var shapes: [Shape]
    var color: Color
    var parent: UInt64?
    var missing: String?
    var nested: Int??
    var attributes: [String: Int64]
    var byId: [UInt32: Point]
    var blob: [UInt8]
    var embedding: [Float]
    var flags: [Bool]
    var small: Int8
    var unsigned: UInt16
    var ratio: Float
    var extremes: [Int64]
}

/// A type with a hand-written unkeyed encoding, to cover the generic unkeyed containers.
struct Triple: Codable, Hashable {
    var a: Int
    var b: String?
    var c: [UInt8]

    init(a: Int, b: String?, c: [UInt8]) {
        self.a = a
        self.b = b
        self.c = c
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(a)
        if let b { try container.encode(b) } else { try container.encodeNil() }
        try container.encode(c)
    }

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        a = try container.decode(Int.self)
        b = try container.decodeNil() ? nil : try container.decode(String.self)
        c = try container.decode([UInt8].self)
        if !container.isAtEnd { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "extra elements")) }
    }
}

extension Document {
    static let sample = Document(
        id: 0xDEAD_BEEF_CAFE,
        title: "naksha — नक्शा 🗺️",
        tags: ["a", "", "ccc"],
        shapes: [
            .point, .circle(radius: 2.5), .polygon([Point(x: -1, y: 1), Point(x: .max, y: .min)], label: nil),
            .group(.point, .polygon([], label: "empty")),
        ],
        color: .blue,
        parent: 17,
        missing: nil,
        nested: .some(nil),
        attributes: ["x": 1, "y": -2, "zeta": .max],
        byId: [3: Point(x: 3, y: 4), 1: Point(x: 0, y: 0)],
        blob: [0, 1, 2, 255],
        embedding: [0.5, -1.25, .infinity, -0.0],
        flags: [true, false, true],
        small: -128,
        unsigned: 65535,
        ratio: 0.1,
        extremes: [.min, -1, 0, 1, .max]
    )
}
