public import Foundation
public import Logging
public import MirePQ
public import MireSagas
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

    /// Withdraws from an open account; overdrafts are refused. A withdrawal of
    /// ``largeWithdrawal`` or more also writes an alert to the outbox, in the same transaction
    /// (topic ``largeWithdrawalTopic``, keyed by the withdrawal's event id).
    @discardableResult
    public func withdraw(_ amount: Money, from id: String) async throws -> UpdateResult<Account> {
        guard amount >= Self.largeWithdrawal else {
            return try await store.update(Account.self, id: id) { try $0.withdraw(amount) }
        }
        let root = try await store.transaction(Self.transferOptions) { tx in
            guard var account = try await tx.loadForUpdate(Account.self, id: id) else {
                throw BankError.notFound(account: id)
            }
            try account.withdraw(amount)
            let eventID = account.uncommittedEvents.last?.metadata.eventID ?? UUID()
            try await tx.save(&account)
            let alert = LargeWithdrawal(account: id, cents: amount.cents, version: account.version)
            try await tx.enqueue(
                OutboxMessage(topic: Self.largeWithdrawalTopic, key: "withdrawal-\(eventID)", json: alert))
            return account
        }
        return UpdateResult(root: root, attempts: 1, conflicts: 0)
    }

    /// Withdrawals from this amount on are announced through the outbox.
    public static let largeWithdrawal = Money(cents: 1_000_00)
    /// The outbox topic of large withdrawals.
    public static let largeWithdrawalTopic = "large-withdrawal"

    /// What the outbox says about a large withdrawal.
    public struct LargeWithdrawal: Sendable, Codable, Equatable {
        public var account: String
        public var cents: Int64
        /// The account's version after the withdrawal.
        public var version: Int64
    }

    /// Requests a transfer run as a saga (``TransferSaga``): recorded at once, carried out in steps
    /// by the saga's runner. `id` names the transfer; requesting it again is refused.
    @discardableResult
    public func requestTransfer(_ id: String, _ amount: Money, from source: String, to destination: String)
        async throws -> AggregateRoot<TransferOrder>
    {
        var order = try AggregateRoot<TransferOrder>(id: id)
        try order.request(amount, from: source, to: destination)
        do {
            try await store.save(&order)
        } catch let error as MireError where error.code == .concurrencyConflict {
            throw BankError.transferExists(id)
        }
        return order
    }

    /// A saga transfer as recorded; nil when it was never requested.
    public func transferOrder(_ id: String) async throws -> AggregateRoot<TransferOrder>? {
        try await store.load(TransferOrder.self, id: id)
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
