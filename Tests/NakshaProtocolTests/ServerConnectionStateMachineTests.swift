import NakshaProtocol
import NakshaWire
import SwiftProtobuf
import Testing

/// The connection rules of the client protocol, on the pure state machine.
@Suite struct ServerConnectionStateMachineTests {
    static let methods: [String: ServerConnectionStateMachine.MethodShape] = ["t/Unary": .unary, "t/Stream": .serverStream]

    static func request(_ id: UInt64, method: String = "t/Unary", timeoutMs: UInt64? = nil, window: UInt32 = 0) -> Frame {
        var request = Naksha_V1_Request()
        request.method = method
        if let timeoutMs { request.timeoutMs = timeoutMs }
        request.initialWindow = window
        return Frame(kind: .request, streamID: id, payload: (try? request.serializedBytes()) ?? [])
    }

    static func credit(_ id: UInt64, _ messages: UInt32) -> Frame {
        var credit = Naksha_V1_Credit()
        credit.messages = messages
        return Frame(kind: .credit, streamID: id, payload: (try? credit.serializedBytes()) ?? [])
    }

    static func refusal(_ action: ServerConnectionStateMachine.Action) -> (UInt64, RPCCode, String)? {
        if case .refuseCall(let id, let status) = action { return (id, status.code, status.reason) }
        return nil
    }

    static func closeStatus(_ action: ServerConnectionStateMachine.Action) -> Naksha_V1_Status?? {
        if case .closeConnection(let status) = action { return .some(status) }
        return nil
    }

    @Test func aKnownMethodStartsAndItsEndSendsTheStatus() {
        var machine = ServerConnectionStateMachine(methods: Self.methods)
        guard case .startCall(let id, let request) = machine.received(Self.request(1)) else {
            Issue.record("not started")
            return
        }
        #expect(id == 1 && request.method == "t/Unary")
        #expect(machine.runningCalls == 1)
        let step1 = machine.takeCredit(streamID: 1)
        #expect(step1, "a unary call may send its one response")
        let step2 = machine.takeCredit(streamID: 1)
        #expect(!step2, "and only one")
        let ended = machine.callEnded(streamID: 1)
        #expect(ended.sendStatus && ended.then == .none)
        #expect(machine.runningCalls == 0)
    }

    @Test func streamIDsMustIncrease() {
        var machine = ServerConnectionStateMachine(methods: Self.methods)
        _ = machine.received(Self.request(5))
        let again = machine.received(Self.request(5))
        #expect(Self.closeStatus(again)??.reason == "protocolError")
        #expect(machine.isClosed)
        let step3 = machine.received(Self.request(9))
        #expect(step3 == .none, "nothing happens after a connection error")
        var zero = ServerConnectionStateMachine(methods: Self.methods)
        let step4 = zero.received(Self.request(0))
        #expect(Self.closeStatus(step4)??.code == .invalidArgument)
    }

    @Test func unknownMethodsPastDeadlinesAndMalformedEnvelopesAreRefusedAndTheConnectionStays() {
        var machine = ServerConnectionStateMachine(methods: Self.methods)
        let step5 = machine.received(Self.request(1, method: "t/Nope"))
        #expect(Self.refusal(step5)?.1 == .unimplemented)
        let step6 = machine.received(Self.request(2, timeoutMs: 0))
        #expect(Self.refusal(step6)?.1 == .deadlineExceeded)
        let garbage = machine.received(Frame(kind: .request, streamID: 3, payload: [0xFF, 0xFF, 0xFF]))
        #expect(Self.refusal(garbage)?.2 == "malformedRequest")
        #expect(!machine.isClosed && machine.runningCalls == 0)
        guard case .startCall = machine.received(Self.request(4, timeoutMs: 1)) else {
            Issue.record("a later good call must start")
            return
        }
    }

    @Test func callsBeyondTheLimitAreResourceExhausted() {
        var machine = ServerConnectionStateMachine(methods: Self.methods, limits: ProtocolLimits(maxConcurrentCalls: 2))
        _ = machine.received(Self.request(1))
        _ = machine.received(Self.request(2))
        let third = Self.refusal(machine.received(Self.request(3)))
        #expect(third?.1 == .resourceExhausted && third?.2 == "tooManyCalls")
        _ = machine.callEnded(streamID: 1)
        guard case .startCall = machine.received(Self.request(4)) else {
            Issue.record("a slot freed by an ended call is usable")
            return
        }
    }

    @Test func aStreamSendsOnlyAgainstCreditAndCreditIsCapped() {
        var machine = ServerConnectionStateMachine(methods: Self.methods, limits: ProtocolLimits(defaultWindow: 3, maxWindow: 5))
        _ = machine.received(Self.request(1, method: "t/Stream"))
        let step7 = (0..<5).map { _ in machine.takeCredit(streamID: 1) }
        #expect(step7 == [true, true, true, false, false])
        let step8 = machine.received(Self.credit(1, 1_000_000))
        #expect(step8 == .resumeStream(streamID: 1))
        let sent = (0..<10).filter { _ in machine.takeCredit(streamID: 1) }.count
        #expect(sent == 5, "credit never exceeds maxWindow, so a reader cannot make the server buffer more")
        _ = machine.received(Self.request(2, method: "t/Stream", window: 2))
        let step9 = (0..<3).map { _ in machine.takeCredit(streamID: 2) }
        #expect(step9 == [true, true, false], "the request's initial window is honoured")
        let step10 = machine.received(Self.credit(77, 4))
        #expect(step10 == .none, "credit for an unknown stream is ignored")
        var bad = machine
        let step11 = bad.received(Frame(kind: .credit, streamID: 1, payload: [0xFF]))
        #expect(Self.closeStatus(step11)??.reason == "protocolError")
    }

    @Test func cancelStopsACallAndItsStatusIsNotSent() {
        var machine = ServerConnectionStateMachine(methods: Self.methods)
        _ = machine.received(Self.request(1, method: "t/Stream"))
        let step12 = machine.received(Frame(kind: .cancel, streamID: 1))
        #expect(step12 == .cancelCall(streamID: 1))
        let step13 = machine.takeCredit(streamID: 1)
        #expect(!machine.isRunning(streamID: 1) && !step13)
        let step14 = machine.callEnded(streamID: 1)
        #expect(step14.sendStatus == false)
        let step15 = machine.received(Frame(kind: .cancel, streamID: 1))
        #expect(step15 == .none, "a second cancel is harmless")
    }

    @Test func goodbyeDrainsThenCloses() {
        var machine = ServerConnectionStateMachine(methods: Self.methods)
        _ = machine.received(Self.request(1))
        let step16 = machine.received(Frame(kind: .goodbye, streamID: 0))
        #expect(step16 == .none, "a running call finishes first")
        let step17 = machine.received(Self.request(2))
        #expect(Self.refusal(step17)?.1 == .unavailable, "no new call after goodbye")
        let ended = machine.callEnded(streamID: 1)
        #expect(ended.sendStatus)
        #expect(ended.then == .closeConnection(nil))
    }

    @Test func framesAClientNeverSendsCloseTheConnection() {
        for kind in [FrameKind.handshake, .call, .reply, .response, .status] {
            var machine = ServerConnectionStateMachine(methods: Self.methods)
            let step18 = machine.received(Frame(kind: kind, streamID: 1))
            #expect(Self.closeStatus(step18)??.reason == "protocolError", "\(kind)")
        }
        var machine = ServerConnectionStateMachine(methods: Self.methods)
        let step19 = machine.received(Frame(kind: .ping, streamID: 7))
        #expect(step19 == .sendPong(streamID: 7))
    }

    @Test func decoderErrorsAndIdleTimeoutClose() {
        var machine = ServerConnectionStateMachine(methods: Self.methods)
        let tooLarge = machine.receiveFailed(WireError(.frameTooLarge, "declared 9999999 bytes"))
        #expect(Self.closeStatus(tooLarge)??.code == .resourceExhausted)
        var other = ServerConnectionStateMachine(methods: Self.methods)
        let step20 = other.receiveFailed(WireError(.badMagic, "x"))
        #expect(Self.closeStatus(step20)??.code == .invalidArgument)
        var idle = ServerConnectionStateMachine(methods: Self.methods)
        _ = idle.received(Self.request(1))
        let step21 = idle.idleTimeoutPassed()
        #expect(step21 == .none, "a connection with a running call is not idle")
        _ = idle.callEnded(streamID: 1)
        let step22 = idle.idleTimeoutPassed()
        #expect(Self.closeStatus(step22)??.reason == "idle")
    }
}
