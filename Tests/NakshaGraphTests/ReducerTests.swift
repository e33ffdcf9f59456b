import Testing

@testable import NakshaGraph

@Suite struct ReducerTests {
    static let combineCases: [(Reducer, GraphValue, GraphValue, GraphValue)] = [
        (Reducer.replace, GraphValue.int(1), GraphValue.int(2), GraphValue.int(2)),
        (.append, .null, [1], [1]),
        (.append, [1], [2, 3], [1, 2, 3]),
        (.append, [1], 2, [1, 2]),
        (.merge, .null, ["a": 1], ["a": 1]),
        (.merge, ["a": 1, "b": 2], ["b": 3], ["a": 1, "b": 3]),
        (.merge, ["a": 1], .null, ["a": 1]),
        (.add, .null, 2, 2),
        (.add, 2, 3, 5),
        (.add, 2, 0.5, 2.5),
        (.add, 0.25, 0.25, 0.5),
    ]

    @Test(arguments: combineCases)
    func reducerCombinesValues(reducer: Reducer, current: GraphValue, update: GraphValue, expected: GraphValue) {
        #expect(reducer.apply(current: current, update: update) == .success(expected))
    }

    static let rejectCases: [(Reducer, GraphValue, GraphValue)] = [
        (Reducer.append, GraphValue.string("x"), GraphValue.int(1)),
        (.merge, ["a": 1], [1]),
        (.merge, "x", ["a": 1]),
        (.add, "x", 1),
        (.add, 1, "x"),
        (.add, .int(Int.max), 1),
    ]

    @Test(arguments: rejectCases)
    func reducerRejectsMismatchedKindsWithoutTrapping(reducer: Reducer, current: GraphValue, update: GraphValue) {
        guard case .failure = reducer.apply(current: current, update: update) else {
            Issue.record("expected a failure")
            return
        }
    }

    @Test func reducersFitTheirTypes() {
        #expect(Reducer.append.allows(.list) && !Reducer.append.allows(.string))
        #expect(Reducer.merge.allows(.map) && !Reducer.merge.allows(.list))
        #expect(Reducer.add.allows(.int) && Reducer.add.allows(.float) && !Reducer.add.allows(.bool))
        #expect(ValueType.allCases.allSatisfy { Reducer.replace.allows($0) && Reducer.append.allows(.any) || $0 != .any })
    }

    @Test func typesAcceptNullAndFloatAcceptsInt() {
        #expect(ValueType.allCases.allSatisfy { $0.accepts(.null) })
        #expect(ValueType.float.accepts(1) && ValueType.float.normalized(1) == .double(1))
        #expect(!ValueType.int.accepts(1.5))
        #expect(!ValueType.string.accepts(1))
    }

    @Test func graphValueRoundTripsThroughCodable() throws {
        let value: GraphValue = ["a": [1, 2.5, "x", true, .null, ["b": []]]]
        let data = try JSONEncoderLike.roundTrip(value)
        #expect(data == value)
    }
}
