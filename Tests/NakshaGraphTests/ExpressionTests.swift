import NakshaCore
import Testing

@testable import NakshaGraph

@Suite struct ExpressionTests {
    static let state: [String: GraphValue] = [
        "docs": [["id": "a", "score": 0.9], ["id": "b", "score": 0.4]],
        "answer": ["text": "yes", "score": 7],
        "name": "naksha",
        "count": 3,
        "ratio": 0.5,
        "flag": true,
        "empty": [],
        "nothing": .null,
    ]

    static let valueCases: [(String, GraphValue)] = [
        ("len(state.docs) == 2", GraphValue.bool(true)),
        ("state.docs[0].id", "a"),
        ("state.docs[-1].id", "b"),
        ("state.docs[5]", .null),
        ("state.docs[1]['score']", 0.4),
        ("state.answer.score > 5", true),
        ("state.answer.score >= 7 and state.flag", true),
        ("not state.flag or state.count < 2", false),
        ("not (state.count != 3)", true),
        ("state.count == 3.0", true),
        ("state.ratio < 1", true),
        ("'nak' in state.name", true),
        ("\"text\" in state.answer", true),
        ("'c' not in ['a', 'b']", true),
        ("3 in [1, 2, 3]", true),
        ("len(state.name)", 6),
        ("len(state.nothing) == 0", true),
        ("state.missing", .null),
        ("state.missing.deeper[3]", .null),
        ("state.nothing == null", true),
        ("'abc' < 'abd'", true),
        ("-2 < -1", true),
        ("[state.count, 'x', null, false]", [3, "x", .null, false]),
        ("state.flag == true and len(state.empty) == 0", true),
        ("'it\\'s' == \"it's\"", true),
        ("state.count > 1 and state.count < 5 or state.flag", true),
    ]

    @Test(arguments: valueCases)
    func evaluatesToTheExpectedValue(source: String, expected: GraphValue) throws {
        let expression = try Expression(parsing: source)
        #expect(try expression.evaluate(state: Self.state) == expected)
    }

    @Test func itemIsTheFanOutElement() throws {
        let expression = try Expression(parsing: "item.id == 'a' and len(item) == 2")
        #expect(try expression.evaluate(state: [:], item: ["id": "a", "score": 1]) == true)
        #expect(throws: ExpressionError.self) { try expression.evaluate(state: [:]) }
    }

    @Test func andOrShortCircuit() throws {
        #expect(try Expression(parsing: "false and len(1) == 0").evaluate(state: [:]) == false)
        #expect(try Expression(parsing: "true or len(1) == 0").evaluate(state: [:]) == true)
    }

    @Test(arguments: [
        ("state.count and true", "type_mismatch"),
        ("state.name < 3", "type_mismatch"),
        ("len(state.count)", "type_mismatch"),
        ("state.count.x", "type_mismatch"),
        ("state.docs.id", "type_mismatch"),
        ("state.answer[0]", "type_mismatch"),
        ("1 in state.count", "type_mismatch"),
        ("1 in state.answer", "type_mismatch"),
        ("not state.name", "type_mismatch"),
        ("null < 1", "type_mismatch"),
    ])
    func badTypesGiveATypedErrorNotACrash(source: String, code: String) throws {
        let expression = try Expression(parsing: source)
        #expect(throws: ExpressionError.self) { try expression.evaluate(state: Self.state) }
        do {
            _ = try expression.evaluate(state: Self.state)
        } catch {
            #expect(error.code.description == code)
        }
    }

    @Test(arguments: [
        ("", "syntax", 0), ("state.", "syntax", 6), ("len(state.docs) = 0", "syntax", 16),
        ("state.count >", "syntax", 13), ("(state.flag", "syntax", 11), ("'open", "syntax", 0),
        ("1 < 2 < 3", "syntax", 6), ("docs", "unknown_name", 0), ("state.a[1.5]", "syntax", 8),
        ("stat.x", "unknown_name", 0), ("state.x @ 1", "syntax", 8), ("99999999999999999999", "syntax", 0),
        ("'\\q'", "syntax", 1),
    ])
    func syntaxErrorsCarryTheirOffset(source: String, code: String, offset: Int) {
        do {
            _ = try Expression(parsing: source)
            Issue.record("\(source) parsed")
        } catch {
            #expect(error.code.description == code)
            #expect(error.offset == offset)
        }
    }

    @Test func unknownNameSuggestsTheClosestKeyword() {
        do {
            _ = try Expression(parsing: "stat.x")
        } catch {
            #expect(error.message.contains("did you mean \"state\"?"))
        }
    }

    @Test func sourceLengthIsBounded() {
        let long = String(repeating: "1 == 1 and ", count: 300) + "true"
        #expect(throws: ExpressionError(code: .tooLong, offset: nil, message: "expression is longer than 2000 characters")) {
            try Expression(parsing: long)
        }
    }

    @Test func nestingDepthIsBounded() {
        let deep = String(repeating: "(", count: 40) + "1" + String(repeating: ")", count: 40)
        do {
            _ = try Expression(parsing: deep)
            Issue.record("parsed")
        } catch {
            #expect(error.code == .tooDeep)
        }
        let notChain = String(repeating: "not ", count: 40) + "true"
        #expect(throws: ExpressionError.self) { try Expression(parsing: notChain) }
        #expect((try? Expression(parsing: String(repeating: "(", count: 20) + "1" + String(repeating: ")", count: 20))) != nil)
    }

    @Test func evaluationStepsAreBounded() throws {
        let big = GraphValue.list((0..<150_000).map { GraphValue.int($0) })
        let expression = try Expression(parsing: "-1 in state.big")
        do {
            _ = try expression.evaluate(state: ["big": big])
            Issue.record("evaluated")
        } catch {
            #expect(error.code == .stepLimit)
        }
    }

    @Test func conditionMustBeABool() throws {
        #expect(try Expression(parsing: "state.flag").evaluateCondition(state: Self.state))
        #expect(throws: ExpressionError.self) { try Expression(parsing: "state.count").evaluateCondition(state: Self.state) }
    }

    @Test func staticTypesAndReferencesAreKnownWithoutEvaluating() throws {
        let schema: [String: ValueType] = ["docs": .list, "n": .int]
        #expect(try Expression(parsing: "len(state.docs)").staticType(schema: schema) == .int)
        #expect(try Expression(parsing: "state.n").staticType(schema: schema) == .int)
        #expect(try Expression(parsing: "state.docs[0]").staticType(schema: schema) == .any)
        #expect(try Expression(parsing: "state.n > 1 and 'x' in state.docs").staticType(schema: schema) == .bool)
        #expect(try Expression(parsing: "state.a.b == state.c[0]").stateReferences.map(\.key) == ["a", "c"])
    }

    @Test func templatesInterpolateExpressions() throws {
        let template = try TextTemplate(parsing: "Q: {{ state.name }} n={{state.count}} {{ state.answer }}!")
        #expect(try template.render(state: Self.state) == "Q: naksha n=3 {\"score\": 7, \"text\": \"yes\"}!")
        #expect(try TextTemplate(parsing: "no holes").render(state: [:]) == "no holes")
        do {
            _ = try TextTemplate(parsing: "ab {{ state. }}")
            Issue.record("parsed")
        } catch {
            #expect(error.offset == 13)
        }
        #expect(throws: ExpressionError.self) { try TextTemplate(parsing: "ab {{ state.x") }
    }

    /// Random token soup must parse or fail with a typed error, and evaluate or fail with a
    /// typed error — never trap. Seeds are fixed so a failure replays.
    @Test(arguments: [UInt64(1), 2, 3, 4])
    func randomInputNeverCrashes(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let pieces = [
            "state", ".", "docs", "[", "]", "0", "-1", "(", ")", "len", "not", "and", "or", "in", "==", "!=", "<",
            ">=", "'x'", "\"y\"", "1.5", "true", "null", "item", ",", "answer", "score", "count", " ", "@", "'",
        ]
        for _ in 0..<2_000 {
            let source = (0..<random.below(12)).map { _ in pieces[random.below(pieces.count)] }.joined(separator: " ")
            guard let expression = try? Expression(parsing: source) else { continue }
            _ = try? expression.evaluate(state: Self.state, item: random.chance(50) ? ["id": 1] : nil)
        }
    }
}
