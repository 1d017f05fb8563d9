import MireTesting
import Testing

@testable import MireBankCLI
@testable import MireBankDomain

/// The bank's commands, given / when / then, without a database.
@Suite("Account commands")
struct AccountCommandTests {
    @Test func aWithdrawalWithinTheBalanceIsRecorded() throws {
        let after = try AggregateScenario(Account.self, id: "alice")
            .given(.opened(owner: "Alice"), .deposited(amount: 100_00))
            .when { try $0.withdraw(Money(cents: 30_00)) }
            .then(.withdrawn(amount: 30_00))
        #expect(after.state.balance == 70_00)
    }

    @Test func anOverdraftIsRefusedAndRecordsNothing() throws {
        try AggregateScenario(Account.self, id: "alice")
            .given(.opened(owner: "Alice"), .deposited(amount: 100_00))
            .when { try $0.withdraw(Money(cents: 150_00)) }
            .thenFails(
                with: BankError.insufficientFunds(
                    account: "alice", balance: Money(cents: 100_00), requested: Money(cents: 150_00)))
    }

    @Test func aClosedAccountTakesNoDeposit() throws {
        try AggregateScenario(Account.self, id: "bob")
            .given(.opened(owner: "Bob"), .closed)
            .when { try $0.deposit(Money(cents: 1)) }
            .thenFails(with: BankError.closed(account: "bob"))
    }
}
