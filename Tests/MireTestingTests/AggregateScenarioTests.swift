import MireCore
import MireTesting
import Testing

private enum LedgerError: Error, Equatable {
    case insufficient(balance: Int, requested: Int)
    case closed
}

private struct Ledger: Aggregate {
    static let category = "ledger"
    enum Event: Codable, Sendable, Equatable {
        case credited(Int)
        case debited(Int)
        case closed
    }
    var balance = 0
    var isClosed = false
    mutating func apply(_ event: Event) {
        switch event {
        case .credited(let n): balance += n
        case .debited(let n): balance -= n
        case .closed: isClosed = true
        }
    }
}

extension AggregateRoot where State == Ledger {
    fileprivate mutating func debit(_ amount: Int) throws {
        guard !state.isClosed else { throw LedgerError.closed }
        guard state.balance >= amount else { throw LedgerError.insufficient(balance: state.balance, requested: amount) }
        record(.debited(amount))
    }

    /// A buggy command: records, then refuses.
    fileprivate mutating func debitCarelessly(_ amount: Int) throws {
        record(.debited(amount))
        if state.balance < 0 { throw LedgerError.insufficient(balance: state.balance, requested: amount) }
    }
}

@Suite("Given / when / then")
struct AggregateScenarioTests {
    @Test func aCommandRecordsItsEventsOnTheGivenHistory() throws {
        let after = try AggregateScenario(Ledger.self)
            .given(.credited(100), .debited(30))
            .when { try $0.debit(50) }
            .then(.debited(50))
        #expect(after.state.balance == 20)
        #expect(after.version == 2)  // recorded, not saved
    }

    @Test func aRefusedCommandIsExpectedWithItsError() throws {
        try AggregateScenario(Ledger.self)
            .given(.credited(10))
            .when { try $0.debit(50) }
            .thenFails(with: LedgerError.insufficient(balance: 10, requested: 50))
        try AggregateScenario(Ledger.self)
            .given(.credited(10), .closed)
            .when { try $0.debit(1) }
            .thenFails { $0 as? LedgerError == .closed }
    }

    @Test func failedExpectationsSayWhatWasExpectedAndWhatHappened() throws {
        let wrongEvent = #expect(throws: ScenarioFailure.self) {
            try AggregateScenario(Ledger.self).given(.credited(100)).when { try $0.debit(5) }.then(.debited(6))
        }
        #expect(wrongEvent?.description.contains("debited(6)") == true)
        #expect(wrongEvent?.description.contains("debited(5)") == true)

        let noError = #expect(throws: ScenarioFailure.self) {
            try AggregateScenario(Ledger.self).given(.credited(100)).when { try $0.debit(5) }
                .thenFails(with: LedgerError.closed)
        }
        #expect(noError?.description.contains("recorded") == true)

        // A command must not record and then throw: the scenario catches it.
        let careless = #expect(throws: ScenarioFailure.self) {
            try AggregateScenario(Ledger.self).when { try $0.debitCarelessly(5) }
                .thenFails { $0 is LedgerError }
        }
        #expect(careless?.description.contains("record nothing") == true)
    }
}
