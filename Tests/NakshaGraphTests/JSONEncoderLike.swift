import Foundation

/// Codable round trips for tests.
enum JSONEncoderLike {
    static func roundTrip<T: Codable>(_ value: T) throws -> T {
        try JSONDecoder().decode(T.self, from: JSONEncoder().encode(value))
    }
}
