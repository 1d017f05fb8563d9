import Foundation
import MirePQ
import MireProjections
import MireTestSupport
import Testing

@testable import MireBankCLI
@testable import MireBankDomain

/// The read model must equal the fold of the log, account by account.
func readModelMatchesLog(_ bank: Bank) async throws -> [String] {
    var problems: [String] = []
    let rows = try await ReadModel.accounts(bank.store.pool)
    var streams = Set<String>()
    var position: Int64 = 0
    while case let page = try await bank.store.readCategory("account", after: position, limit: 5_000), !page.isEmpty {
        streams.formUnion(page.map(\.stream.entityID))
        position = page.last!.position
    }
    if Set(rows.map(\.account)) != streams {
        problems.append("read model has \(rows.count) accounts, the log \(streams.count)")
    }
    for row in rows {
        let account = try await bank.account(row.account)
        if row.balanceCents != account.state.balance || row.version != account.version {
            problems.append(
                "\(row.account): read model \(row.balanceCents) at v\(row.version), log \(account.state.balance) at v\(account.version)"
            )
        }
    }
    return problems
}

@Suite("Projections in the bank", .timeLimit(.minutes(3)))
struct ProjectionPatternTests {
    @Test func theReadModelFollowsTheLog() async throws {
        try await TestDatabase.withStore(maximumConnections: 6) { store throws in
            let bank = Bank(pool: store.pool, logger: TestDatabase.logger)
            try await ReadModel.prepare(store.pool)
            try await bank.open("a", owner: "Ann")
            try await bank.open("b", owner: "Ben")
            try await bank.deposit(Money(cents: 100_00), into: "a")
            try await bank.transfer(Money(cents: 25_00), from: "a", to: "b")
            try await bank.withdraw(Money(cents: 5_00), from: "b")
            let runner = ReadModel.runner(bank: bank, workerID: "test", logger: TestDatabase.logger)
            try await runner.runUntilCaughtUp()
            #expect(try await readModelMatchesLog(bank).isEmpty)
            let statement = try await ReadModel.statement(store.pool, account: "b")
            #expect(statement.map(\.kind) == ["opened", "transfer in", "withdrawal"])
            #expect(statement.last?.balanceAfter == "20.00")
            #expect(try await ReadModel.accounts(store.pool).map(\.balance) == ["75.00", "20.00"])
        }
    }

    /// Real `mire-bank project` processes, killed (SIGKILL) and paused (SIGSTOP/SIGCONT) at random
    /// while writers append. At the end the read model equals the fold of the log, checkpoints
    /// never went backwards and fence tokens only rose.
    @Test func chaosWithRealProcesses() async throws {
        let binary = try #require(BankBinary.path, "the mire-bank executable was not built next to the tests")
        try await TestDatabase.withStore(maximumConnections: 8) { store throws in
            let bank = Bank(pool: store.pool, logger: TestDatabase.logger)
            try await ReadModel.prepare(store.pool)
            let url = try BankBinary.url(for: store.pool.configuration)
            let workers = Locked<[String: pid_t]>([:])
            func start(_ worker: String) throws {
                let pid = try BankBinary.spawn(binary, ["project", "--worker-id", worker, "--database", url])
                workers.withLock { $0[worker] = pid }
            }
            for index in 0..<3 { try start("w\(index)") }

            // Watch the lease and checkpoint: tokens never fall, checkpoints never go back.
            let watching = Task { () -> [String] in
                var problems: [String] = []
                var lastToken: Int64 = 0
                var lastCursor = Checkpoint.Key.start
                let leases = ProjectionLeases(pool: store.pool)
                while !Task.isCancelled {
                    if let status = try? await leases.status(ReadModel.projectionName) {
                        if status.fenceToken < lastToken {
                            problems.append("token fell from \(lastToken) to \(status.fenceToken)")
                        }
                        let cursor = Checkpoint.Key(
                            transactionID: status.cursorTransactionID, position: status.cursorPosition)
                        if cursor < lastCursor {
                            problems.append("checkpoint went back from \(lastCursor) to \(cursor)")
                        }
                        lastToken = max(lastToken, status.fenceToken)
                        lastCursor = max(lastCursor, cursor)
                    }
                    try? await Task.sleep(for: .milliseconds(25))
                }
                return problems
            }

            // Writers: deposits and transfers among a few accounts.
            let ids = (0..<5).map { "chaos-\($0)" }
            for id in ids {
                try await bank.open(id, owner: "c")
                try await bank.deposit(Money(cents: 1_000_00), into: id)
            }
            let stopWriting = Locked(false)
            let writing = Task {
                var round = 0
                while !stopWriting.value {
                    let from = ids[round % ids.count]
                    let to = ids[(round * 7 + 1) % ids.count]
                    if from != to, round.isMultiple(of: 3) {
                        try? await bank.transfer(Money(cents: Int64(round % 50 + 1)), from: from, to: to)
                    } else {
                        try await bank.deposit(Money(cents: Int64(round % 1000 + 1)), into: from)
                    }
                    round += 1
                    try await Task.sleep(for: .milliseconds(10))
                }
            }

            // Chaos: kill the lease holder, pause it past its lease (another takes over, then the
            // paused one wakes up stale and must be fenced), and pause others briefly.
            let leases = ProjectionLeases(pool: store.pool)
            /// The live lease holder, waiting (up to 20 s) for one: workers start slowly under load.
            func holderPID() async throws -> (String, pid_t)? {
                for _ in 0..<400 {
                    let status = try await leases.status(ReadModel.projectionName)
                    if status.isLeased, let holder = status.holder, let pid = workers.value[holder] {
                        return (holder, pid)
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return nil
            }
            for step in 0..<8 {
                try await Task.sleep(for: .milliseconds(500))
                switch step % 4 {
                case 0:
                    let target = try await holderPID()
                    #expect(target != nil, "no worker took the lease")
                    if let (name, pid) = target {
                        kill(pid, SIGKILL)
                        BankBinary.reap(pid)
                        try start(name)
                    }
                case 2:
                    let target = try await holderPID()
                    #expect(target != nil, "no worker took the lease")
                    if let (_, pid) = target {
                        kill(pid, SIGSTOP)
                        try await Task.sleep(for: .milliseconds(3_800))  // longer than the 3 s lease
                        kill(pid, SIGCONT)
                    }
                default:
                    let (_, pid) = workers.value.randomElement()!
                    kill(pid, SIGSTOP)
                    try await Task.sleep(for: .milliseconds(Int.random(in: 200...900)))
                    kill(pid, SIGCONT)
                }
            }
            stopWriting.withLock { $0 = true }
            try await writing.value

            // Let the survivors catch up with the whole log, then stop them.
            let head = try #require(try await store.readStreamBackward(StreamID("account-\(ids[0])"), limit: 1).first)
            let all = try await store.readAll(after: head.position - 1, limit: 100_000)
            let last = max(head.position, all.map(\.position).max() ?? 0)
            let observer = ReadModel.runner(bank: bank, workerID: "observer", logger: TestDatabase.logger)
            try await observer.waitUntilCaughtUp(ReadModel.projectionName, to: last, timeout: .seconds(60))
            for (_, pid) in workers.value {
                kill(pid, SIGTERM)
                BankBinary.reap(pid)
            }
            watching.cancel()
            let watchProblems = await watching.value
            #expect(watchProblems.isEmpty, "\(watchProblems)")
            let problems = try await readModelMatchesLog(bank)
            #expect(problems.isEmpty, "\(problems)")
            // At least the two kills and the two long pauses of holders forced takeovers.
            #expect(try await leases.status(ReadModel.projectionName).fenceToken >= 4)
        }
    }
}

/// Finds and runs the `mire-bank` executable built beside the test bundle.
enum BankBinary {
    static var path: String? {
        var directory = URL(filePath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = directory.appending(path: "mire-bank").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    /// A URL for `configuration` (keywords from the test server, plus the schema).
    static func url(for configuration: PGConfiguration) throws -> String {
        let host = try #require(configuration.keywords["host"])
        let port = try #require(configuration.keywords["port"])
        let schema = try #require(configuration.searchPath.first)
        return "postgresql://postgres@\(host):\(port)/postgres?options=-c%20search_path%3D\(schema)"
    }

    static func spawn(_ path: String, _ arguments: [String]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard status == 0 else { throw POSIXError(.init(rawValue: status) ?? .EIO) }
        return pid
    }

    /// Waits for `pid` to exit (it was just signalled); after 15 s it is killed, so a worker
    /// that fails to shut down cannot hang the test run.
    static func reap(_ pid: pid_t) {
        var status: Int32 = 0
        for _ in 0..<300 {
            if waitpid(pid, &status, WNOHANG) != 0 { return }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, &status, 0)
    }
}
