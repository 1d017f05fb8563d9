import BankServer
import Foundation
import Logging
import MireBankDomain
import MireLocalServer
import MirePQ
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `mire-bank-server` as a user runs it: a process configured by environment, against a real
/// PostgreSQL, driven over HTTP, stopped with SIGTERM.
@Suite("mire-bank-server over HTTP", .timeLimit(.minutes(5)))
struct BankServerTests {
    @Test func theBankOverHTTPConvergesAndStopsCleanly() async throws {
        let database = try LocalPostgresServer.throwaway()
        let configuration = try await database.start()
        defer { try? database.stop() }
        let port = try #require(configuration.keywords["port"])
        let server = try ServerProcess(environment: [
            "MIRE_DATABASE_URL": "postgresql://\(LocalPostgresServer.superuser)@127.0.0.1:\(port)/postgres",
            "MIRE_BANK_PORT": "0", "MIRE_WORKER_ID": "http-test", "LOG_LEVEL": "debug",
        ])
        let http = HTTPClient(base: try await server.baseURL())
        #expect(try await http.get("health").status == 200)

        // Lifecycle and validation, with the status each refusal maps to.
        #expect(try await http.post("accounts", ["id": "alice", "owner": "Alice"]).status == 201)
        #expect(try await http.post("accounts", ["id": "bob", "owner": "Bob"]).status == 201)
        let again = try await http.post("accounts", ["id": "alice", "owner": "Alice"])
        #expect(again.status == 409)
        #expect(
            again.errorMessage?.contains("already exists") == true, "\(String(decoding: again.body, as: UTF8.self))")
        #expect(try await http.post("accounts/alice/deposits", ["amount": "100.00"]).status == 200)
        let overdraft = try await http.post("accounts/alice/withdrawals", ["amount": "1000"])
        #expect(overdraft.status == 422)
        #expect(overdraft.errorMessage?.contains("balance is 100.00") == true)
        let badAmount = try await http.post("accounts/alice/deposits", ["amount": "1e3"])
        #expect(badAmount.status == 400)
        #expect(try await http.post("accounts/carol/deposits", ["amount": "1"]).status == 404)
        let withdrawn = try await http.post("accounts/alice/withdrawals", ["amount": "10"]).decode(AccountView.self)
        #expect(withdrawn.balance == "90.00")

        // Concurrent writers on the same accounts: the store retries conflicts, nothing is lost.
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<20 {
                group.addTask {
                    index.isMultiple(of: 2)
                        ? try await http.post("accounts/bob/deposits", ["amount": "1.00"]).status
                        : try await http.post("transfers", ["from": "alice", "to": "bob", "amount": "2.50"]).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")

        // The store's view is current at once; the read model converges to it.
        let alice = try await http.get("accounts/alice").decode(AccountView.self)
        let bob = try await http.get("accounts/bob").decode(AccountView.self)
        #expect(alice.balance == "65.00")  // 100 − 10 − 10 × 2.50
        #expect(bob.balance == "35.00")  // 10 × 1.00 + 10 × 2.50
        for account in [alice, bob] {
            let converged = try await eventually("the read model reaches \(account.id)'s version") {
                let answer = try await http.get("accounts/\(account.id)/balance")
                guard answer.status == 200 else { return nil as ReadModel.AccountRow? }
                let row = try answer.decode(ReadModel.AccountRow.self)
                return row.version == account.version ? row : nil
            }
            #expect(converged.balance == account.balance)
            #expect(converged.owner == account.owner)
        }
        let statement = try await http.get("accounts/alice/statement").decode(StatementView.self)
        #expect(statement.lines.map(\.version) == Array(1...alice.version))
        #expect(statement.lines.prefix(3).map(\.kind) == ["opened", "deposit", "withdrawal"])
        #expect(statement.lines.last?.balanceAfter == "65.00")
        let list = try await http.get("accounts").decode(AccountList.self)
        #expect(list.accounts.map(\.account) == ["alice", "bob"])

        // Graceful shutdown with requests certainly in flight: a table lock holds every append,
        // so the deposits wait inside the server while SIGTERM arrives. They must all finish
        // with 200 once the lock goes (the server drains before the store closes the pool), and
        // the process must exit 0 having released its lease and closed its pool, in that order.
        let pool = PGPool(configuration: configuration, maximumConnections: 2, logger: Logger(label: "check"))
        let inFlight = 4
        let answers = try await pool.withConnection { lock in
            try await lock.query("BEGIN")
            try await lock.query("LOCK TABLE mire_events IN SHARE MODE")
            async let deposits = withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<inFlight {
                    group.addTask { try await http.post("accounts/bob/deposits", ["amount": "0.01"]).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            _ = try await eventually("\(inFlight) deposits waiting on the lock") {
                let waiting = try await count(
                    """
                    SELECT count(*) FROM pg_stat_activity
                    WHERE application_name = 'mire-bank-server' AND wait_event_type = 'Lock'
                    """, pool)
                return waiting == inFlight ? true : nil
            }
            server.signalTermination()
            // Shutdown has begun once the server refuses new connections (a bare TCP connect:
            // an HTTP client might send the probe on a connection it keeps alive).
            let port = try #require(http.base.port)
            _ = try await eventually("the server refusing new connections") {
                acceptsConnections(port: port) ? nil : true
            }
            #expect(server.isRunning, "the server exited with requests in flight")
            try await lock.query("ROLLBACK")  // the appends go on
            return try await deposits
        }
        #expect(answers == Array(repeating: 200, count: inFlight))
        let status = try await server.waitForExit()
        #expect(status == 0, "\(server.standardError)")

        let deposits = try await count(
            "SELECT count(*) FROM mire_events WHERE stream_id = 'account-bob' AND event_type = 'account.deposited'",
            pool)
        #expect(deposits == Int64(10 + inFlight))
        let released = try await count(
            "SELECT count(*) FROM mire_projection_leases WHERE name = 'account_balances' AND worker_id IS NULL", pool)
        #expect(released == 1)
        let log = server.standardError
        let stages = ["lease released", "store stopping", "store stopped: pool closed", "mire-bank-server stopped"]
        let positions = stages.map { log.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil }, "\(log)")
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted(), "\(log)")
        await pool.shutdown()
    }

    @Test func aMissingDatabaseURLIsRefusedWithTheVariableNamed() throws {
        #expect(throws: BankServerConfiguration.Invalid.self) { try BankServerConfiguration(environment: [:]) }
        do {
            _ = try BankServerConfiguration(environment: ["MIRE_DATABASE_URL": "postgresql://x", "MIRE_BANK_PORT": "x"])
            Issue.record("a malformed port was accepted")
        } catch {
            #expect(error.variable == "MIRE_BANK_PORT")
        }
        let settings = try BankServerConfiguration(
            environment: ["MIRE_DATABASE_URL": "postgresql://x", "LOG_LEVEL": "debug"], processID: 7)
        #expect(settings.port == 8080 && settings.workerID == "mire-bank-server-7" && settings.logLevel == .debug)
    }
}

func count(_ sql: PGQuery, _ pool: PGPool) async throws -> Int64 {
    try await pool.withConnection { try await $0.query(sql).single(Int64.self) }
}

/// Polls `check` until it returns a value; fails after a minute. (A positive condition awaited,
/// not a sleep followed by an assertion.)
func eventually<T>(_ what: String, _ check: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + .seconds(60)
    while ContinuousClock.now < deadline {
        if let value = try await check() { return value }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw ServerFailure(message: "waited a minute for: \(what)")
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` now.
func acceptsConnections(port: Int) -> Bool {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { return false }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}
