import ArgumentParser
import Foundation
import MireBankDomain
import MirePostgres

/// Runs `body` with the bank on the configured database, migrated, with the store's background
/// work going (wake-ups, snapshot writes: finished before this returns), and shuts the pool down
/// after.
func withBank<T>(_ options: GlobalOptions, _ body: (Bank) async throws -> T) async throws -> T {
    let database = try await options.connect(logger: options.makeLogger())
    let bank = Bank(pool: database.pool, logger: database.logger)
    do {
        try await bank.store.migrate()
        let result = try await bank.store.withBackgroundWork { try await body(bank) }
        await database.pool.shutdown()
        return result
    } catch {
        await database.pool.shutdown()
        throw error
    }
}

/// A balance as printed by `balance --json`.
struct BalanceReport: Encodable {
    var account: String
    var owner: String
    var balance: String
    var balanceCents: Int64
    var version: Int64
    var open: Bool
    /// The version of the snapshot the load started from, if any.
    var snapshotVersion: Int64?
    /// Events replayed to compute the balance.
    var eventsReplayed: Int

    init(_ account: AggregateRoot<Account>) {
        self.account = account.entityID
        owner = account.state.owner
        balance = Money(cents: account.state.balance).description
        balanceCents = account.state.balance
        version = account.version
        open = account.state.isOpen
        snapshotVersion = account.loadDetails.snapshotVersion
        eventsReplayed = account.loadDetails.eventsReplayed
    }
}

struct Open: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open an account.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account id.") var account: String
    @Option(help: "The owner's name.") var owner: String

    func run() async throws {
        let opened = try await withBank(options) { try await $0.open(account, owner: owner) }
        try printOutput(BalanceReport(opened), json: options.json) { "opened account \(account) for \(owner)" }
    }
}

struct Deposit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Deposit money (e.g. 12.50) into an account.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account id.") var account: String
    @Argument(help: "The amount, e.g. 100 or 12.50.", transform: Money.parse) var amount: Money

    func run() async throws {
        let result = try await withBank(options) { try await $0.deposit(amount, into: account) }
        try printOutput(BalanceReport(result.root), json: options.json) {
            "deposited \(amount) into \(account); balance \(Money(cents: result.root.state.balance))"
        }
    }
}

struct Withdraw: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Withdraw money from an account (no overdrafts).")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account id.") var account: String
    @Argument(help: "The amount, e.g. 100 or 12.50.", transform: Money.parse) var amount: Money

    func run() async throws {
        let result = try await withBank(options) { try await $0.withdraw(amount, from: account) }
        try printOutput(BalanceReport(result.root), json: options.json) {
            "withdrew \(amount) from \(account); balance \(Money(cents: result.root.state.balance))"
        }
    }
}

struct Close: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Close an account whose balance is zero.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account id.") var account: String

    func run() async throws {
        let closed = try await withBank(options) { try await $0.close(account) }
        try printOutput(BalanceReport(closed), json: options.json) { "closed account \(account)" }
    }
}

struct Balance: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show an account's balance, replayed from its events.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account id.") var account: String

    func run() async throws {
        let loaded = try await withBank(options) { try await $0.account(account) }
        try printOutput(BalanceReport(loaded), json: options.json) {
            let status = loaded.state.isOpen ? "open" : "closed"
            let source =
                loaded.loadDetails.snapshotVersion.map {
                    "snapshot at version \($0) + \(loaded.loadDetails.eventsReplayed) events"
                }
                ?? "\(loaded.loadDetails.eventsReplayed) events replayed, no snapshot"
            return
                "account \(account) (\(loaded.state.owner), \(status)): balance \(Money(cents: loaded.state.balance)) at version \(loaded.version) (\(source))"
        }
    }
}

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List an account's events, oldest first.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account id.") var account: String

    struct Entry: Encodable {
        var version: Int64
        var position: Int64
        var type: String
        var amount: String?
        var owner: String?
        var counterparty: String?
        var recordedAt: Date
    }

    func run() async throws {
        // Read as stored, without replaying: the history of a stream that cannot load is what
        // one needs to see.
        let events = try await withBank(options) { bank in
            let events = try await bank.store.history(Account.self, id: account, limit: 100_000)
            if events.isEmpty { throw BankError.notFound(account: account) }
            return events
        }
        let entries = events.map { recorded in
            var entry = Entry(
                version: recorded.version, position: recorded.position, type: recorded.type,
                recordedAt: recorded.recordedAt)
            switch recorded.event {
            case .opened(let owner): entry.owner = owner
            case .deposited(let amount), .withdrawn(let amount): entry.amount = Money(cents: amount).description
            case .transferredOut(let amount, let other):
                entry.amount = Money(cents: amount).description
                entry.counterparty = other
            case .transferredIn(let amount, let other), .reserved(let amount, _, let other),
                .credited(let amount, _, let other):
                entry.amount = Money(cents: amount).description
                entry.counterparty = other
            case .reservationReleased(let amount, let transfer), .reservationConfirmed(let amount, let transfer):
                entry.amount = Money(cents: amount).description
                entry.counterparty = transfer
            case .transferRefused(let transfer, _): entry.counterparty = transfer
            case .closed: break
            }
            return entry
        }
        try printOutput(entries, json: options.json) {
            entries.map { entry in
                let detail = (entry.amount ?? entry.owner ?? "") + (entry.counterparty.map { " (\($0))" } ?? "")
                return
                    "v\(entry.version)  #\(entry.position)  \(entry.type.padding(toLength: 24, withPad: " ", startingAt: 0)) \(detail)"
            }.joined(separator: "\n")
        }
    }
}
