public import Foundation
public import Hummingbird
public import MireBankDomain
public import MireCore
public import MirePQ
public import MireTransactions

/// The bank over HTTP: commands go through the event store (load → command → save, retried on a
/// conflict); balances and statements come from the read model the projection keeps.
///
/// | Method | Path | Body | Answer |
/// | --- | --- | --- | --- |
/// | `POST` | `/accounts` | `{"id": "alice", "owner": "Alice"}` | `201` the account |
/// | `POST` | `/accounts/{id}/deposits` | `{"amount": "12.50"}` | `200` the account |
/// | `POST` | `/accounts/{id}/withdrawals` | `{"amount": "2.50"}` | `200` the account |
/// | `POST` | `/transfers` | `{"from": "alice", "to": "bob", "amount": "5"}` | `200` both accounts |
/// | `GET` | `/accounts/{id}` | | the account, from its events (always current) |
/// | `GET` | `/accounts/{id}/balance` | | the read model's row (may lag a moment) |
/// | `GET` | `/accounts/{id}/statement` | | the read model's statement lines |
/// | `GET` | `/accounts` | | every row of the read model |
/// | `GET` | `/health` | | `200` while the server runs |
///
/// ```swift
/// let router = Router()
/// router.addRoutes(BankAPI(bank: bank, pool: pool).routes)
/// ```
public struct BankAPI: Sendable {
    public let bank: Bank
    public let pool: PGPool

    public init(bank: Bank, pool: PGPool) {
        self.bank = bank
        self.pool = pool
    }

    /// Transfers retry a lock wait that timed out too: under a burst of requests on the same
    /// accounts, a short wait is better than a refusal.
    public static let transferOptions = TransactionOptions(
        lockTimeout: .seconds(2), retry: RetryPolicy(maximumAttempts: 5, retriesLockTimeouts: true))

    /// The bank's routes, behind its error mapping (which applies to these routes only).
    public func routes<Context: RequestContext>(context: Context.Type = BasicRequestContext.self) -> RouteCollection<
        Context
    > {
        let router = RouteCollection(context: Context.self).add(middleware: BankErrorMiddleware<Context>())
        // Liveness only: it does not touch the database.
        router.get("health") { _, _ in HTTPResponse.Status.ok }
        router.post("accounts") { request, context -> EditedResponse<AccountView> in
            let body = try await request.decode(as: OpenAccount.self, context: context)
            let root = try await bank.open(body.id, owner: body.owner)
            return EditedResponse(status: .created, response: AccountView(root))
        }
        router.post("accounts/:id/deposits") { request, context -> AccountView in
            let body = try await request.decode(as: AmountBody.self, context: context)
            let id = try context.parameters.require("id")
            return AccountView(try await bank.deposit(try body.money(), into: id).root)
        }
        router.post("accounts/:id/withdrawals") { request, context -> AccountView in
            let body = try await request.decode(as: AmountBody.self, context: context)
            let id = try context.parameters.require("id")
            return AccountView(try await bank.withdraw(try body.money(), from: id).root)
        }
        router.post("transfers") { request, context -> TransferView in
            let body = try await request.decode(as: TransferBody.self, context: context)
            let amount = try AmountBody(amount: body.amount).money()
            // Both accounts as the transfer's transaction left them.
            let (from, to) = try await bank.transfer(
                amount, from: body.from, to: body.to, options: Self.transferOptions)
            return TransferView(amount: amount.description, from: AccountView(from), to: AccountView(to))
        }
        router.get("accounts/:id") { _, context -> AccountView in
            AccountView(try await bank.account(try context.parameters.require("id")))
        }
        router.get("accounts/:id/balance") { _, context -> JSONBody<ReadModel.AccountRow> in
            let id = try context.parameters.require("id")
            guard let row = try await ReadModel.account(pool, id: id) else {
                throw HTTPError(.notFound, message: "the read model has no account \(id) (yet)")
            }
            return JSONBody(row)
        }
        router.get("accounts/:id/statement") { _, context -> StatementView in
            let id = try context.parameters.require("id")
            return StatementView(account: id, lines: try await ReadModel.statement(pool, account: id))
        }
        router.get("accounts") { _, _ -> AccountList in
            AccountList(accounts: try await ReadModel.accounts(pool))
        }
        return router
    }
}

/// `POST /accounts`.
public struct OpenAccount: Codable, Sendable {
    public var id: String
    public var owner: String
}

/// A body with an amount, as a decimal string (`"12.50"`): money is never a floating-point number.
public struct AmountBody: Codable, Sendable {
    public var amount: String

    /// The amount, or `400 Bad Request` saying what is expected.
    public func money() throws -> Money {
        guard let money = Money(argument: amount) else {
            throw HTTPError(
                .badRequest, message: "amount must be a decimal string such as \"12.50\", not \"\(amount)\"")
        }
        return money
    }
}

/// `POST /transfers`.
public struct TransferBody: Codable, Sendable {
    public var from: String
    public var to: String
    public var amount: String
}

/// An account as its events say, at `version`.
public struct AccountView: ResponseCodable, Equatable {
    public var id: String
    public var owner: String
    public var balance: String
    public var open: Bool
    public var version: Int64

    public init(_ root: AggregateRoot<Account>) {
        id = root.entityID
        owner = root.state.owner
        balance = Money(cents: root.state.balance).description
        open = root.state.isOpen && !root.state.isClosed
        version = root.currentVersion
    }
}

/// Both accounts after a transfer.
public struct TransferView: ResponseCodable {
    public var amount: String
    public var from: AccountView
    public var to: AccountView
}

/// `GET /accounts`: every row of the read model.
public struct AccountList: ResponseCodable {
    public var accounts: [ReadModel.AccountRow]
}

/// An account's statement from the read model, oldest first.
public struct StatementView: ResponseCodable {
    public var account: String
    public var lines: [ReadModel.StatementLine]
}

/// Any `Codable` value of the domain as a JSON answer, encoded as the value itself.
///
/// ```swift
/// router.get("accounts/:id/balance") { _, _ in JSONBody(row) }
/// ```
public struct JSONBody<Value: Codable & Sendable>: ResponseCodable {
    public var value: Value

    public init(_ value: Value) { self.value = value }

    public init(from decoder: any Decoder) throws { value = try Value(from: decoder) }

    public func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}
