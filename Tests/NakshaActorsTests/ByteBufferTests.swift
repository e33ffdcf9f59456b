import Distributed
import Foundation
import NIOCore
import NakshaActors
import NakshaWire
import Testing

/// A remotely callable type whose functions take and return `ByteBuffer`.
distributed actor BufferReverser: RemoteCallable {
    typealias ActorSystem = NakshaActorSystem

    distributed func reverse(_ buffer: ByteBuffer) -> ByteBuffer {
        ByteBuffer(bytes: Array(buffer.readableBytesView.reversed()))
    }

    static let remoteCalls: [String: RemoteCall<BufferReverser>] = [
        "$s17NakshaActorsTests14BufferReverserC7reversey7NIOCore04ByteD0VAGYaKFTE": .returning { reverser, arguments in
            try await reverser.reverse(arguments.decodeNextArgument())
        }
    ]
}

@Suite struct ByteBufferTests {
    @Test func aByteBufferIsTheSameBlockOnTheWireAsItsBytes() throws {
        var buffer = ByteBuffer(bytes: [9, 9, 1, 2, 3, 250])
        buffer.moveReaderIndex(forwardBy: 2)  // only the readable bytes travel
        let encoded = try BinaryEncoder().encode(buffer)
        #expect(encoded == (try BinaryEncoder().encode([UInt8]([1, 2, 3, 250]))))
        #expect(try BinaryDecoder().decode(ByteBuffer.self, from: encoded) == ByteBuffer(bytes: [1, 2, 3, 250]))
        // Inside a structure too; other encoders use NIO's own Codable form.
        struct Envelope: Codable, Equatable {
            var name: String
            var body: ByteBuffer
        }
        let envelope = Envelope(name: "x", body: ByteBuffer(bytes: Array(0..<200)))
        #expect(try BinaryDecoder().decode(Envelope.self, from: BinaryEncoder().encode(envelope)) == envelope)
        #expect(try JSONDecoder().decode(Envelope.self, from: JSONEncoder().encode(envelope)) == envelope)
        // A declared length beyond the input is a typed error, not a crash.
        #expect(throws: WireError.self) { try BinaryDecoder().decode(ByteBuffer.self, from: [200, 1, 1, 2]) }
    }

    @Test func byteBuffersCrossTheTransport() async throws {
        try await withSystems(2) { systems in
            let local = BufferReverser(actorSystem: systems[0])
            let remote = try BufferReverser.resolve(id: local.id, using: systems[1])
            let payload = ByteBuffer(bytes: (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let reversed = try await remote.reverse(payload)
            #expect(Array(reversed.readableBytesView) == Array(payload.readableBytesView).reversed())
            #expect(BufferReverser.remoteCalls.count == 1)
        }
    }
}
