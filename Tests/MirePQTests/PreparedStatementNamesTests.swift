import Testing

@testable import MirePQ

/// A connection's prepared-statement names, without a database: the last-used shortcut never
/// answers for another statement, and forgetting forgets it too.
@Suite("Prepared statement names")
struct PreparedStatementNamesTests {
    @Test func eachStatementKeepsItsOwnNameWhateverWasLookedUpLast() {
        var names = PreparedStatementNames()
        let first = "SELECT 1"
        // Built at run time: equal text in separate storage must still be found.
        let second = ["SELECT", "2"].joined(separator: " ")
        #expect(names.name(for: first) == nil)
        names.insert("mire_1", for: first)
        names.insert("mire_2", for: second)
        #expect(names.count == 2)
        #expect(names.name(for: first) == "mire_1")
        #expect(names.name(for: first) == "mire_1")
        #expect(names.name(for: ["SELECT", "2"].joined(separator: " ")) == "mire_2")
        #expect(names.name(for: first) == "mire_1")
        #expect(names.name(for: "SELECT 3") == nil)
        // A statement that differs from the last one only after a shared prefix is another one.
        #expect(names.name(for: "SELECT 1 ") == nil)
    }

    @Test func removingAllForgetsTheLastOneToo() {
        var names = PreparedStatementNames()
        names.insert("mire_1", for: "SELECT 1")
        #expect(names.name(for: "SELECT 1") == "mire_1")
        names.removeAll()
        #expect(names.name(for: "SELECT 1") == nil)
        #expect(names.count == 0)
    }
}
