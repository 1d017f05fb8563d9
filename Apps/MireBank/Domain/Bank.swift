import MirePostgres

/// The bank's use cases on the event store: each is load → command → save, retried on a
/// concurrency conflict (the command runs again on fresh state).
struct Bank: Sendable {
    let store: EventStore

    /// Opens a new account.
    @discardableResult
    func open(_ id: String, owner: String) async throws -> AggregateRoot<Account> {
        try await store.update(Account.self, id: id) { try $0.open(owner: owner) }.root
    }

    /// Deposits into an open account.
    @discardableResult
    func deposit(_ amount: Money, into id: String) async throws -> UpdateResult<Account> {
        try await store.update(Account.self, id: id) { try $0.deposit(amount) }
    }

    /// Withdraws from an open account; overdrafts are refused.
    @discardableResult
    func withdraw(_ amount: Money, from id: String) async throws -> UpdateResult<Account> {
        try await store.update(Account.self, id: id) { try $0.withdraw(amount) }
    }

    /// Closes an account whose balance is zero.
    @discardableResult
    func close(_ id: String) async throws -> AggregateRoot<Account> {
        try await store.update(Account.self, id: id) { try $0.close() }.root
    }

    /// The account as stored; `notFound` when it was never opened.
    func account(_ id: String) async throws -> AggregateRoot<Account> {
        guard let account = try await store.load(Account.self, id: id) else { throw BankError.notFound(account: id) }
        return account
    }
}
