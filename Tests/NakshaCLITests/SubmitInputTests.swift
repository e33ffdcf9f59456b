import Foundation
@testable import NakshaCLI
import Testing

/// `naksha submit --input` parsing: JSON values where they parse, strings otherwise.
@Suite struct SubmitInputTests {
    @Test func inputFieldsAreJSONWhenTheyParseElseStrings() throws {
        let text = try SubmitCommand.input(fields: ["n=42", "flag=true", "list=[1,2]", "q=What is a lease?", "empty=", "eq=a=b"], file: nil)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["n"] as? Int == 42)
        #expect(object["flag"] as? Bool == true)
        #expect((object["list"] as? [Int]) == [1, 2])
        #expect(object["q"] as? String == "What is a lease?")
        #expect(object["empty"] as? String == "")
        #expect(object["eq"] as? String == "a=b")
        #expect(try SubmitCommand.input(fields: [], file: nil) == "", "no input is the empty object")
        #expect(throws: CLIError.self) { try SubmitCommand.input(fields: ["novalue"], file: nil) }
        #expect(throws: CLIError.self) { try SubmitCommand.input(fields: ["=x"], file: nil) }
    }
}
