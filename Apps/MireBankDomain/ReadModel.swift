public import Foundation
public import Logging
public import MirePQ
public import MireProjections

/// The bank's read models, kept by a transactional projection: a balance per account and a
/// statement line per event. Their writes and the projection's checkpoint commit together.
public enum ReadModel {
    public static let projectionName = "account_balances"

    /// Creates the read-model tables when missing (they belong to the app, not to Mire).
    public static func prepare(_ pool: PGPool) async throws {
        try await pool.withConnection { connection in
            try await connection.executeScript(
                """
                CREATE TABLE IF NOT EXISTS account_balances (
                    account    text PRIMARY KEY,
                    owner      text NOT NULL DEFAULT '',
                    balance    bigint NOT NULL DEFAULT 0,
                    open       boolean NOT NULL DEFAULT false,
                    version    bigint NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE TABLE IF NOT EXISTS account_statement (
                    account       text NOT NULL,
                    version       bigint NOT NULL,
                    position      bigint NOT NULL,
                    kind          text NOT NULL,
                    amount        bigint,
                    counterparty  text,
                    balance_after bigint NOT NULL,
                    recorded_at   timestamptz NOT NULL,
                    PRIMARY KEY (account, version)
                );
                """
            )
        }
    }

    /// The projection: each account event updates the balance row and adds a statement line.
    public static let projection = Projection.transactional(
        projectionName, of: Account.self,
        reset: { connection in try await connection.executeScript("TRUNCATE account_balances, account_statement") },
        handle: { recorded, connection in
            let account = recorded.stream.entityID
            var delta: Int64 = 0
            var kind = ""
            var amount: Int64?
            var counterparty: String?
            var owner: String?
            var open: Bool?
            // A stored amount that is not positive (another tool wrote it) is refused, typed;
            // negating Int64.min would trap.
            switch recorded.event {
            case .deposited(let value), .withdrawn(let value), .transferredIn(let value, _),
                .transferredOut(let value, _), .reserved(let value, _, _), .reservationReleased(let value, _),
                .credited(let value, _, _):
                guard value > 0 else { throw BankError.invalidAmount(Money(cents: value)) }
            case .opened, .closed, .transferRefused, .reservationConfirmed: break
            }
            switch recorded.event {
            case .opened(let name):
                kind = "opened"
                owner = name
                open = true
            case .deposited(let value):
                (kind, amount, delta) = ("deposit", value, value)
            case .withdrawn(let value):
                (kind, amount, delta) = ("withdrawal", value, -value)
            case .transferredIn(let value, let from):
                (kind, amount, delta, counterparty) = ("transfer in", value, value, from)
            case .transferredOut(let value, let to):
                (kind, amount, delta, counterparty) = ("transfer out", value, -value, to)
            case .reserved(let value, _, let to):
                (kind, amount, delta, counterparty) = ("transfer out (saga)", value, -value, to)
            case .reservationReleased(let value, _):
                (kind, amount, delta) = ("transfer returned", value, value)
            case .credited(let value, _, let from):
                (kind, amount, delta, counterparty) = ("transfer in (saga)", value, value, from)
            case .transferRefused:
                kind = "transfer refused"
            case .reservationConfirmed(let value, _):
                (kind, amount) = ("transfer confirmed", value)
            case .closed:
                kind = "closed"
                open = false
            }
            let balance = try await connection.query(
                """
                INSERT INTO account_balances (account, owner, balance, open, version)
                VALUES (\(account), coalesce(\(owner), ''), \(delta), coalesce(\(open), false), \(recorded.version))
                ON CONFLICT (account) DO UPDATE SET
                    owner = coalesce(\(owner), account_balances.owner),
                    balance = account_balances.balance + \(delta),
                    open = coalesce(\(open), account_balances.open),
                    version = \(recorded.version),
                    updated_at = now()
                RETURNING balance
                """,
                prepared: true
            ).single(Int64.self)
            try await connection.query(
                """
                INSERT INTO account_statement (account, version, position, kind, amount, counterparty, balance_after, recorded_at)
                VALUES (\(account), \(recorded.version), \(recorded.position), \(kind), \(amount), \(counterparty), \(balance), \(recorded.recordedAt))
                """,
                prepared: true
            )
        })

    /// An account's row of the balances read model; `version` is the last event it reflects.
    public struct AccountRow: Codable, Sendable, Equatable {
        public var account: String
        public var owner: String
        public var balance: String
        public var balanceCents: Int64
        public var open: Bool
        public var version: Int64

        static let columns = "account, owner, balance, open, version"

        init(_ row: PGRow) throws {
            let (account, owner, balance, open, version) = try row.decode((String, String, Int64, Bool, Int64).self)
            self.account = account
            self.owner = owner
            self.balance = Money(cents: balance).description
            self.balanceCents = balance
            self.open = open
            self.version = version
        }
    }

    /// Every row of the balances read model, by account id.
    public static func accounts(_ pool: PGPool) async throws -> [AccountRow] {
        try await pool.withConnection { connection in
            try await connection.query("SELECT \(unescaped: AccountRow.columns) FROM account_balances ORDER BY account")
                .map(AccountRow.init)
        }
    }

    /// One account's row of the balances read model; nil until the projection has seen it.
    public static func account(_ pool: PGPool, id: String) async throws -> AccountRow? {
        try await pool.withConnection { connection in
            try await connection.query(
                "SELECT \(unescaped: AccountRow.columns) FROM account_balances WHERE account = \(id)"
            ).map(AccountRow.init).first
        }
    }

    /// One event of an account, as its statement shows it.
    public struct StatementLine: Codable, Sendable, Equatable {
        public var version: Int64
        public var kind: String
        public var amount: String?
        public var counterparty: String?
        public var balanceAfter: String
        public var recordedAt: Date
    }

    public static func statement(_ pool: PGPool, account: String) async throws -> [StatementLine] {
        try await pool.withConnection { connection in
            try await connection.query(
                """
                SELECT version, kind, amount, counterparty, balance_after, recorded_at
                FROM account_statement WHERE account = \(account) ORDER BY version
                """
            ).map { row in
                let (version, kind, amount, counterparty, balance, at) = try row.decode(
                    (Int64, String, Int64?, String?, Int64, Date).self)
                return StatementLine(
                    version: version, kind: kind, amount: amount.map { Money(cents: $0).description },
                    counterparty: counterparty,
                    balanceAfter: Money(cents: balance).description, recordedAt: at)
            }
        }
    }

    /// A runner for the bank's projection on this worker.
    public static func runner(bank: Bank, workerID: String, logger: Logger) -> ProjectionRunner {
        var configuration = ProjectionRunner.Configuration(workerID: workerID)
        configuration.leaseTTL = .seconds(3)
        configuration.heartbeatInterval = .seconds(1)
        configuration.leaseRecheckInterval = .milliseconds(500)
        configuration.pollInterval = .milliseconds(500)
        return ProjectionRunner(
            store: bank.store, projections: [projection], configuration: configuration, logger: logger)
    }
}
