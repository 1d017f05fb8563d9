public import Foundation
public import Logging
public import MirePQ
public import MireSnapshots
public import MireTransactions

/// The bank's use cases on the event store: each is load → command → save, retried on a
/// concurrency conflict (the command runs again on fresh state).
public struct Bank: Sendable {
    public let store: EventStore
    public let snapshots: Snapshots

    /// The bank's store: snapshots every 100 events, taken in the background after saves.
    public init(pool: PGPool, logger: Logger, snapshotEvery interval: Int = 100) {
        snapshots = Snapshots(configuration: SnapshotConfiguration(every: interval), logger: logger)
        store = EventStore(pool: pool, configuration: EventStore.Configuration(snapshots: snapshots), logger: logger)
    }

    /// Opens a new account.
    @discardableResult
    public func open(_ id: String, owner: String) async throws -> AggregateRoot<Account> {
        try await store.update(Account.self, id: id) { try $0.open(owner: owner) }.root
    }

    /// Deposits into an open account; `command` identifies the request in the event's metadata.
    @discardableResult
    public func deposit(_ amount: Money, into id: String, command: UUID? = nil, retry: RetryPolicy = .default)
        async throws -> UpdateResult<Account>
    {
        try await store.update(Account.self, id: id, retry: retry) { try $0.deposit(amount, command: command) }
    }

    /// Withdraws from an open account; overdrafts are refused.
    @discardableResult
    public func withdraw(_ amount: Money, from id: String) async throws -> UpdateResult<Account> {
        try await store.update(Account.self, id: id) { try $0.withdraw(amount) }
    }

    /// Closes an account whose balance is zero.
    @discardableResult
    public func close(_ id: String) async throws -> AggregateRoot<Account> {
        try await store.update(Account.self, id: id) { try $0.close() }.root
    }

    /// Moves money between two accounts atomically: both change or neither does.
    ///
    /// Read-before-write across two aggregates is what the transaction escape hatch is for: both
    /// accounts are locked (in id order, so opposite transfers cannot deadlock), validated, and
    /// saved in one transaction. Returns both accounts as that transaction left them.
    @discardableResult
    public func transfer(
        _ amount: Money, from source: String, to destination: String, command: UUID? = nil,
        options: TransactionOptions = Bank.transferOptions
    ) async throws -> (from: AggregateRoot<Account>, to: AggregateRoot<Account>) {
        guard source != destination else { throw BankError.sameAccount(source) }
        return try await store.transaction(options) { tx in
            // Both rows locked (in id order, for everyone) and both accounts loaded in one round trip.
            let locked = try await tx.loadForUpdate(Account.self, ids: [source, destination].sorted())
            guard var from = locked[source] else { throw BankError.notFound(account: source) }
            guard var to = locked[destination] else { throw BankError.notFound(account: destination) }
            try from.send(amount, to: destination, command: command)
            try to.receive(amount, from: source, command: command)
            var both = [from, to]
            try await tx.save(&both)  // both appends in one round trip
            return (from: both[0], to: both[1])
        }
    }

    /// Transfers wait at most two seconds for a lock and retry a deadlock or conflict a few times.
    public static let transferOptions = TransactionOptions(
        lockTimeout: .seconds(2), retry: RetryPolicy(maximumAttempts: 5))

    /// The account as stored; `notFound` when it was never opened.
    public func account(_ id: String) async throws -> AggregateRoot<Account> {
        guard let account = try await store.load(Account.self, id: id) else { throw BankError.notFound(account: id) }
        return account
    }
}
