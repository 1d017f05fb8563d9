import MireCore
import Testing

@Suite("Stream ids and expected versions")
struct StreamIDTests {
    @Test func categoryIsThePartBeforeTheFirstDash() throws {
        let stream = try StreamID(category: "account", id: "acc-1")
        #expect(stream.rawValue == "account-acc-1")
        #expect(stream.category == "account")
        #expect(stream.entityID == "acc-1")
    }

    @Test(arguments: ["bad-", "-orphan", "-", "singleton"])
    func everyConstructorKeepsOneRuleBothPartsNonEmpty(_ text: String) {
        let error = #expect(throws: MireError.self) { try StreamID(text) }
        #expect(error?.code == .invalidStreamID)
    }

    @Test func unusualButValidIdsAreKeptVerbatim() throws {
        for id in ["O'Brien \"quoted\"", "北京-🏦", "x'); DROP TABLE mire_events; --"] {
            #expect(try StreamID(category: "account", id: id).entityID == id)
        }
    }

    @Test(arguments: ["", "line\nbreak", "nul\u{0}", "tab\tbed", String(repeating: "x", count: 256)])
    func invalidIdsAreRefused(_ text: String) {
        let error = #expect(throws: MireError.self) { try StreamID(text) }
        #expect(error?.code == .invalidStreamID)
        #expect(error?.recovery != nil)
    }

    /// Control characters anywhere in a well-formed id: ASCII's (including DEL, at the edge of
    /// the printable range) and Unicode's (C1, beyond ASCII) alike.
    @Test(arguments: ["a-line\nbreak", "a-nul\u{0}", "a-tab\tbed", "a-del\u{7F}", "a-nel\u{85}x", "a-é\u{9F}"])
    func controlCharactersAreRefused(_ text: String) {
        let error = #expect(throws: MireError.self) { try StreamID(text) }
        #expect(error?.code == .invalidStreamID)
        #expect(error?.message.contains("control character") == true)
    }

    @Test func invalidPartsAreRefused() {
        #expect(throws: MireError.self) { try StreamID(category: "", id: "1") }
        #expect(throws: MireError.self) { try StreamID(category: "a-b", id: "1") }
        #expect(throws: MireError.self) { try StreamID(category: "account", id: "") }
    }

    @Test func expectedVersionRules() {
        #expect(ExpectedVersion.exact(2).isSatisfied(by: 2))
        #expect(!ExpectedVersion.exact(2).isSatisfied(by: 3))
        #expect(ExpectedVersion.noStream.isSatisfied(by: 0))
        #expect(!ExpectedVersion.noStream.isSatisfied(by: 1))
        #expect(ExpectedVersion.streamExists.isSatisfied(by: 1))
        #expect(!ExpectedVersion.streamExists.isSatisfied(by: 0))
        #expect(ExpectedVersion.any.isSatisfied(by: 0))
        #expect(Set([ExpectedVersion.exact(0), .noStream, .streamExists, .any].map(\.encoded)).count == 4)
    }

    @Test func errorsSayWhatWhereAndWhatToDo() {
        let error = MireError(
            code: .concurrencyConflict, message: "expected version 3, found 4", stream: "account-1", version: 4,
            recovery: "reload the aggregate and retry"
        )
        #expect(
            error.description
                == "concurrencyConflict: expected version 3, found 4 (stream account-1, version 4). reload the aggregate and retry"
        )
    }

    @Test func aDashThatJoinsItsNeighbourStillSeparatesCategoryAndID() throws {
        // Fuzz/run stream-ids: U+0600 (a prepended mark) makes the '-' after it part of one
        // Character, so a search by Character missed the dash and refused a valid id.
        let prepended = try StreamID(category: "a\u{600}", id: "b")
        #expect(prepended.category == "a\u{600}")
        #expect(prepended.entityID == "b")
        #expect(try StreamID(prepended.rawValue) == prepended)
        // A combining mark after the dash joins it the same way.
        let combining = try StreamID(category: "acc", id: "\u{301}x")
        #expect(combining.category == "acc")
        #expect(combining.entityID == "\u{301}x")
        #expect(throws: MireError.self) { try StreamID(category: "a-\u{301}", id: "x") }
    }
}
