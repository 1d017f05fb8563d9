import Foundation
import MireCore
import MireLocalServer
import MirePQ
import MirePostgres
import MireTestSupport
import Testing

/// The write path when a reply never comes: each test puts a fault at the precise moment (with
/// the fault-injection proxy or by killing a backend) and checks that what the store reports is
/// what the log holds — nothing acknowledged that is not stored, nothing stored twice.
@Suite("Write path under faults", .timeLimit(.minutes(3)))
struct WriteFaultTests {
    @Test func aBatchRefusedAtCommitIsNotAcknowledgedAndItsConnectionIsNotReused() async throws {
        try await TestDatabase.withStore(maximumConnections: 1) { store throws in
            // A deferred constraint trigger refuses the batch at COMMIT time, after every
            // statement of it succeeded.
            try await store.pool.withConnection { connection in
                try await connection.executeScript(
                    """
                    CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF NEW.payload ? 'refuse' THEN RAISE EXCEPTION 'refused at commit'; END IF;
                        RETURN NULL;
                    END $$;
                    CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON mire_events
                        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();
                    """)
            }
            let a = try StreamID(category: "account", id: "commit-a")
            let b = try StreamID(category: "account", id: "commit-b")
            let refused = NewEvent(type: "account.opened", payload: Data(#"{"owner": "b", "refuse": true}"#.utf8))
            await #expect(throws: (any Error).self) {
                try await store.append([
                    StreamAppend(
                        stream: a, expecting: .noStream, events: [try NewEvent(Account.self, .opened(owner: "a"))]),
                    StreamAppend(stream: b, expecting: .noStream, events: [refused]),
                ])
            }
            #expect(try await store.readStream(a).isEmpty)
            #expect(try await store.readStream(b).isEmpty)
            // The only connection is usable afterwards (or was replaced).
            var c = try AggregateRoot<Account>(id: "commit-c")
            c.open(owner: "c")
            try await store.save(&c)
            #expect(try await store.readStream(c.id).count == 1)
        }
    }

    /// Through `any AggregateStore` too: a generic caller must get the store's own `update`
    /// (which retries the load on a dead connection), not a simpler loop that shadows it.
    @Test(arguments: [false, true])
    func aKilledBackendIsRetried(throughTheProtocol: Bool) async throws {
        try await TestDatabase.withStore(maximumConnections: 1) { store throws in
            let updater: any AggregateStore = store
            var account = try AggregateRoot<Account>(id: "killed")
            account.open(owner: "k")
            try await store.save(&account)
            let pid = try await store.pool.withConnection { $0.backendPID }
            try await TestDatabase.withAdminConnection { admin in
                _ = try await admin.query("SELECT pg_terminate_backend(\(pid), 5000)")
            }
            // The pool still holds the dead connection; the update must get through anyway.
            let result =
                throughTheProtocol
                ? try await updater.update(Account.self, id: "killed") { $0.deposit(5) }
                : try await store.update(Account.self, id: "killed") { $0.deposit(5) }
            #expect(result.root.state.balance == 5)
            #expect(try await store.readStream(account.id).count == 2)
        }
    }

    @Test func aBackendKilledWhileItsSaveWaitsIsResolvedAndStoredOnce() async throws {
        try await TestDatabase.withStore(maximumConnections: 2) { store throws in
            var account = try AggregateRoot<Account>(id: "killed-mid-save")
            account.open(owner: "k")
            try await store.save(&account)
            let holder = try await RowLockHolder(pool: store.pool, stream: account.id.rawValue)
            let update = Task {
                try await store.update(Account.self, id: "killed-mid-save") { $0.deposit(5) }
            }
            try await holder.waitForWaiters(1)
            // Kill the backend of the save that waits for the lock: its outcome is unknown to
            // the client, which must find out rather than guess.
            try await TestDatabase.withAdminConnection { admin in
                _ = try await admin.query(
                    """
                    SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
                    WHERE \(holder.pid) = ANY (pg_blocking_pids(pid))
                    """)
            }
            try await holder.release()
            let result = try await update.value
            #expect(result.root.state.balance == 5)
            #expect(try await store.readStream(account.id).count == 2)
        }
    }

    @Test func aRetriedSaveReportsWhereItsEventsLandedNotTheHead() async throws {
        try await TestDatabase.withProxiedStore { store, proxy, direct throws in
            var root = try AggregateRoot<Account>(id: "landed")
            root.open(owner: "l")
            try await store.save(&root)
            root.deposit(5)
            // The save commits; its reply is lost.
            proxy.arm(.dropReply, whenRequestContains: "account-landed")
            await #expect(throws: (any Error).self) { try await store.save(&root) }
            #expect(root.hasUncommittedEvents)
            // Another writer appends meanwhile.
            _ = try await direct.update(Account.self, id: "landed") { $0.deposit(100) }
            // The retry reports the version and positions where its events were stored.
            let retried = try await store.save(&root)
            let stored = try await direct.readStream(root.id)
            #expect(retried.version == 2)
            #expect(retried.positions == [stored[1].position])
            #expect(root.version == 2)
            #expect(root.state.balance == 5)
            // So the root's next save meets the other writer's event instead of overwriting it.
            root.deposit(1)
            let error = await #expect(throws: MireError.self) { try await store.save(&root) }
            #expect(error?.code == .concurrencyConflict)
            #expect(try await direct.readStream(root.id).count == 3)
        }
    }

    @Test func aRetryRacingItsFirstAttemptSeesItStored() async throws {
        try await TestDatabase.withProxiedStore { store, proxy, direct throws in
            var root = try AggregateRoot<Account>(id: "racing")
            root.open(owner: "r")
            try await store.save(&root)
            root.deposit(7)
            let holder = try await RowLockHolder(pool: direct.pool, stream: root.id.rawValue)
            // The first attempt reaches the server and waits there for the row lock; the client
            // loses its connection at once.
            proxy.arm(.cutAfterRequest, whenRequestContains: "account-racing")
            await #expect(throws: (any Error).self) { try await store.save(&root) }
            try await holder.waitForWaiters(1)
            let retry = Task { [root] in
                var again = root
                let result = try await store.save(&again)
                return (result, again)
            }
            try await holder.waitForWaiters(2)
            try await holder.release()
            let (result, saved) = try await retry.value
            #expect(result.wasAlreadyStored)
            #expect(result.version == 2)
            #expect(saved.version == 2)
            let stored = try await direct.readStream(root.id)
            #expect(stored.count == 2)
            #expect(result.positions == [stored[1].position])
        }
    }

    @Test func repeatedEventIDsInOneSaveAreRefusedNotReportedAsStored() async throws {
        try await TestDatabase.withStore { store throws in
            var root = try AggregateRoot<Account>(id: "repeated")
            let metadata = EventMetadata()
            root.record(.opened(owner: "x"), metadata: metadata)
            try await store.save(&root)
            // The same id twice in one save, and already stored: nothing of it may be "stored".
            root.record(.opened(owner: "x"), metadata: metadata)
            root.record(.opened(owner: "x"), metadata: metadata)
            let error = await #expect(throws: MireError.self) { try await store.save(&root) }
            #expect(error?.isRetryable == false)
            #expect(root.version == 1)
            #expect(try await store.readStream(root.id).count == 1)
        }
    }

    @Test func theSameStreamTwiceInABatchIsAProgrammingErrorNotAConflict() async throws {
        try await TestDatabase.withStore { store throws in
            let stream = try StreamID(category: "account", id: "twice")
            let error = await #expect(throws: MireError.self) {
                try await store.append([
                    StreamAppend(
                        stream: stream, expecting: .any, events: [try NewEvent(Account.self, .deposited(amount: 1))]),
                    StreamAppend(
                        stream: stream, expecting: .any, events: [try NewEvent(Account.self, .deposited(amount: 2))]),
                ])
            }
            #expect(error?.code != .concurrencyConflict)
            #expect(error?.isRetryable == false)
        }
    }

    @Test func anEmptyAppendCreatesNoStream() async throws {
        try await TestDatabase.withStore { store throws in
            let stream = try StreamID(category: "account", id: "empty")
            let result = try await store.append([], to: stream, expecting: .any)
            #expect(result.positions.isEmpty)
            let rows = try await store.pool.withConnection { connection in
                try await connection.query("SELECT count(*) FROM mire_streams WHERE stream_id = \(stream.rawValue)")
                    .single(Int64.self)
            }
            #expect(rows == 0)
        }
    }

    @Test func aPipelineWhoseSendFailsLeavesAUsableConnection() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            // libpq refuses to send a statement with more than 65,535 parameters, after the
            // first statement of the pipeline went out.
            var bindings = PGBindings()
            for value in 0..<70_000 { bindings.append(Int64(value)) }
            let huge = PGQuery(unsafeSQL: "SELECT 1", bindings: bindings)
            await #expect(throws: PGError.self) {
                try await pool.withConnection { connection in
                    try await connection.pipeline(["SELECT 1", huge])
                }
            }
            let value = try await pool.withConnection { try await $0.query("SELECT 2::int8").single(Int64.self) }
            #expect(value == 2)
        }
    }
}

/// Holds a stream row's lock in a transaction of its own until released, and counts the
/// sessions waiting for it.
final class RowLockHolder: Sendable {
    private let task: Task<Void, any Error>
    private let release: AsyncStream<Void>.Continuation
    private let holderPID: Int32
    /// The backend holding the lock.
    var pid: Int32 { holderPID }

    init(pool: PGPool, stream: String) async throws {
        let locked = AsyncStream<Int32>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        self.release = release.continuation
        task = Task {
            try await pool.withConnection { connection in
                try await connection.query("BEGIN")
                try await connection.query("SELECT version FROM mire_streams WHERE stream_id = \(stream) FOR UPDATE")
                locked.continuation.yield(connection.backendPID)
                for await _ in release.stream { break }
                try await connection.query("COMMIT")
            }
        }
        var pid: Int32 = 0
        for await value in locked.stream {
            pid = value
            break
        }
        holderPID = pid
    }

    /// Waits until `count` sessions wait for this lock (directly or queued behind another waiter).
    func waitForWaiters(_ count: Int) async throws {
        for _ in 0..<500 {
            let waiting = try await TestDatabase.withAdminConnection { admin in
                try await admin.query(
                    """
                    WITH RECURSIVE waiting(pid) AS (
                        SELECT pid FROM pg_stat_activity WHERE \(holderPID) = ANY (pg_blocking_pids(pid))
                        UNION
                        SELECT a.pid FROM pg_stat_activity a JOIN waiting w ON w.pid = ANY (pg_blocking_pids(a.pid))
                    )
                    SELECT count(*) FROM waiting
                    """
                ).single(Int64.self)
            }
            if waiting >= count { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw RowLockHolderTimeout()
    }

    /// Commits the holding transaction (changing nothing) and waits for it.
    func release() async throws {
        release.yield()
        try await task.value
    }
}

struct RowLockHolderTimeout: Error {}

@Suite("Writers across a server crash", .timeLimit(.minutes(3)))
struct ServerCrashTests {
    /// Writers keep depositing while the server is stopped as by a crash and started again:
    /// every deposit acknowledged is in the log exactly once, and none is lost or doubled.
    @Test func everyAcknowledgedSaveSurvivesAnImmediateRestartExactlyOnce() async throws {
        // A server of its own (the shared one serves the other tests), durable commits on: an
        // acknowledged commit must survive the crash.
        let server = try LocalPostgresServer.throwaway(settings: ["synchronous_commit": "on"])
        let configuration = try await server.start()
        defer { try? server.stop() }
        let pool = PGPool(configuration: configuration, maximumConnections: 4, logger: TestDatabase.logger)
        let store = EventStore(pool: pool, logger: TestDatabase.logger)
        try await store.migrate()
        let policy = RetryPolicy(maximumAttempts: 200, baseDelay: .milliseconds(5), maximumDelay: .milliseconds(100))
        let writers = 4
        let deposits = 40
        let acknowledged = Locked(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for amount in 1...deposits {
                        try await store.update(Account.self, id: "w\(writer)", retry: policy) {
                            $0.deposit(Int64(amount))
                        }
                        acknowledged.withLock { $0 += 1 }
                    }
                }
            }
            group.addTask {
                while acknowledged.value < writers * deposits / 4 { try await Task.sleep(for: .milliseconds(5)) }
                try await server.restart(mode: .immediate)
            }
            try await group.waitForAll()
        }
        for writer in 0..<writers {
            let account = try #require(try await store.load(Account.self, id: "w\(writer)"))
            #expect(account.version == Int64(deposits))
            #expect(account.state.balance == Int64(deposits * (deposits + 1) / 2))
        }
        await pool.shutdown()
    }
}

@Suite("Write path under faults: the review's cases", .timeLimit(.minutes(2)))
struct WriteFaultReviewTests {
    @Test func aCancelledBatchLeavesNoStaleStateOnItsConnection() async throws {
        try await TestDatabase.withProxiedStore(maximumConnections: 1) { store, proxy, direct throws in
            let a = try StreamID(category: "account", id: "stale-a")
            let b = try StreamID(category: "account", id: "stale-b")
            // The batch's reply (BEGIN, appends, COMMIT in one request) is held back while the
            // task is cancelled: the server commits, the cancel arrives too late.
            proxy.arm(.stallReply(.milliseconds(400)), whenRequestContains: "\u{0}COMMIT\u{0}")
            let batch = Task {
                try await store.append([
                    StreamAppend(
                        stream: a, expecting: .noStream, events: [try NewEvent(Account.self, .opened(owner: "a"))]),
                    StreamAppend(
                        stream: b, expecting: .noStream, events: [try NewEvent(Account.self, .opened(owner: "b"))]),
                ])
            }
            try await Task.sleep(for: .milliseconds(150))
            batch.cancel()
            let outcome = await batch.result
            let stored = try await direct.readStream(a).count + direct.readStream(b).count
            switch outcome {
            case .success: #expect(stored == 2)  // reported committed: it is
            case .failure: #expect(stored == 0)  // reported failed: nothing stored
            }
            // The only connection then runs a transaction-backed batch: it must really commit.
            let c = try StreamID(category: "account", id: "stale-c")
            let d = try StreamID(category: "account", id: "stale-d")
            try await store.append([
                StreamAppend(
                    stream: c, expecting: .noStream, events: [try NewEvent(Account.self, .opened(owner: "c"))]),
                StreamAppend(
                    stream: d, expecting: .noStream, events: [try NewEvent(Account.self, .opened(owner: "d"))]),
            ])
            #expect(try await direct.readStream(c).count == 1)
            #expect(try await direct.readStream(d).count == 1)
        }
    }

    @Test func anUpdateThatGivesUpAfterALostReplySaysTheOutcomeIsUnknown() async throws {
        try await TestDatabase.withProxiedStore { store, proxy, direct throws in
            var account = try AggregateRoot<Account>(id: "gives-up")
            account.open(owner: "g")
            try await direct.save(&account)
            // The save's reply is lost (only the save's request carries the new payload), then the
            // server is unreachable for every retry.
            proxy.arm(.dropReply, when: .requestContains(#""amount":1"#), thenRefuseNewConnections: true)
            let error = await #expect(throws: MireError.self) {
                _ = try await store.update(Account.self, id: "gives-up", retry: RetryPolicy(maximumAttempts: 3)) {
                    $0.deposit(1)
                }
            }
            #expect(error?.code == .commitOutcomeUnknown)
        }
    }
}
