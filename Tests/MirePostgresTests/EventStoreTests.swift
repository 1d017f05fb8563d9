import Foundation
import MireCore
import MirePQ
import MirePostgres
import MireTestSupport
import Synchronization
import Testing

@Suite("Event store: load, record, save", .timeLimit(.minutes(3)))
struct EventStoreTests {
    @Test func aMissingStreamLoadsAsNil() async throws {
        try await TestDatabase.withStore { store throws in
            #expect(try await store.load(Account.self, id: "nobody") == nil)
            let fresh = try await store.loadOrDefault(Account.self, id: "nobody")
            #expect(fresh.isNew)
            #expect(fresh.state == Account())
            #expect(try await store.streamInfo(fresh.id).exists == false)
        }
    }

    @Test func saveThenLoadReplaysStateAndVersions() async throws {
        try await TestDatabase.withStore { store throws in
            var account = try await store.loadOrDefault(Account.self, id: "acc-1")
            account.open(owner: "Zoë")
            account.deposit(100)
            try account.withdraw(30)
            #expect(account.currentVersion == 3)
            let result = try await store.save(&account)
            #expect(result.version == 3)
            #expect(result.positions.count == 3)
            #expect(result.positions == result.positions.sorted())
            #expect(account.version == 3)
            #expect(!account.hasUncommittedEvents)

            let loaded = try #require(try await store.load(Account.self, id: "acc-1"))
            #expect(loaded.state == account.state)
            #expect(loaded.state.balance == 70)
            #expect(loaded.version == 3)
            let history = try await store.history(Account.self, id: "acc-1")
            #expect(history.map(\.version) == [1, 2, 3])
            #expect(history.map(\.event) == [.opened(owner: "Zoë"), .deposited(amount: 100), .withdrawn(amount: 30)])
            #expect(history.map(\.position) == result.positions)
        }
    }

    @Test func versionsRunOneToN() async throws {
        try await TestDatabase.withStore { store throws in
            var account = try await store.loadOrDefault(Account.self, id: "many")
            for round in 1...5 {
                for _ in 0..<round { account.deposit(1) }
                try await store.save(&account)
            }
            let versions = try await store.readStream(account.id).map(\.version)
            #expect(versions == Array(1...15))
            #expect(try await store.streamInfo(account.id).version == 15)
        }
    }

    @Test func typeNamesAreStoredAsDeclaredAndPinnedNamesVerbatim() async throws {
        try await TestDatabase.withStore { store throws in
            var account = try await store.loadOrDefault(Account.self, id: "names")
            account.open(owner: "a")
            account.record(.renamedOwner("b"))
            account.record(.closed)
            try await store.save(&account)
            let stored = try await store.readStream(account.id)
            #expect(stored.map(\.type) == ["account.opened", "account.owner-changed-v1", "account.closed"])
            #expect(String(decoding: stored[0].payload, as: UTF8.self) == #"{"owner": "a"}"#)
            #expect(try await store.load(Account.self, id: "names")?.state.owner == "b")
        }
    }

    @Test func metadataRoundTrips() async throws {
        try await TestDatabase.withStore { store throws in
            var account = try await store.loadOrDefault(Account.self, id: "meta")
            let correlation = UUID()
            let metadata = EventMetadata(correlationID: correlation, causationID: UUID(), custom: ["user": "alice"])
            account.record(.opened(owner: "x"), metadata: metadata)
            try await store.save(&account)
            let stored = try #require(try await store.readStream(account.id).first)
            #expect(stored.metadata == metadata)
        }
    }

    @Test func metadataAnotherToolWroteIsATypedErrorNotEmptyMetadata() async throws {
        try await TestDatabase.withStore { store throws in
            var account = try await store.loadOrDefault(Account.self, id: "foreign-meta")
            account.open(owner: "x")
            try await store.save(&account)
            try await store.pool.withConnection { connection throws in
                // Another tool appends with its own idea of metadata.
                try await connection.query(
                    """
                    INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload, metadata)
                    VALUES ('account-foreign-meta', 2, 'account', gen_random_uuid(), 'account.deposited',
                            '{"amount":1}', '{"correlationID": "request-17"}')
                    """)
                try await connection.query(
                    "UPDATE mire_streams SET version = 2 WHERE stream_id = 'account-foreign-meta'")
            }
            let error = await #expect(throws: MireError.self) { try await store.readStream(account.id) }
            #expect(error?.code == .undecodableEvent)
            #expect(error?.stream == "account-foreign-meta")
            #expect(error?.version == 2)
            #expect(error?.position != nil)
            #expect(error?.message.contains("correlationID") == true, "\(String(describing: error?.message))")
            #expect(error?.recovery?.contains("correlationID") == true)
            // The aggregate does not need metadata: it still loads.
            #expect(try await store.load(Account.self, id: "foreign-meta")?.state.balance == 1)
        }
    }

    @Test func aConflictCarriesStreamExpectedAndActualAndWritesNothing() async throws {
        try await TestDatabase.withStore { store throws in
            var first = try await store.loadOrDefault(Account.self, id: "contested")
            first.open(owner: "x")
            let saved = try await store.save(&first)

            var stale = try #require(try await store.load(Account.self, id: "contested"))
            var winner = try #require(try await store.load(Account.self, id: "contested"))
            winner.deposit(5)
            try await store.save(&winner)

            stale.deposit(7)
            let error = await #expect(throws: MireError.self) { try await store.save(&stale) }
            #expect(error?.code == .concurrencyConflict)
            #expect(error?.stream == "account-contested")
            #expect(error?.expected == .exact(1))
            #expect(error?.version == 2)
            #expect(error?.isRetryable == true)
            #expect(error?.description.contains("account-contested") == true)
            #expect(stale.hasUncommittedEvents)  // the failed save left the root as it was
            #expect(try await store.streamInfo(stale.id).version == 2)

            // The conflict drew no position: the next save continues right after the last one.
            var next = try #require(try await store.load(Account.self, id: "contested"))
            next.deposit(1)
            let after = try await store.save(&next)
            #expect(after.positions == [saved.positions[0] + 2])
        }
    }

    @Test func twoConcurrentCreatorsOfOneStreamExactlyOneWins() async throws {
        try await TestDatabase.withStore(maximumConnections: 8) { store throws in
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        var account = (try? AggregateRoot<Account>(id: "race-create"))!
                        account.open(owner: "creator \(index)")
                        do {
                            try await store.save(&account)
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            #expect(try await store.streamInfo(StreamID("account-race-create")).version == 1)
        }
    }

    @Test func concurrentDepositsWithRetryLoseNothing() async throws {
        try await TestDatabase.withStore(maximumConnections: 4) { store throws in
            let ready = StartingGate(parties: 2)
            let conflicts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        // Start together, so the writers really interleave.
                        await ready.arriveAndWait()
                        var seen = 0
                        for _ in 0..<50 {
                            let result = try await store.update(
                                Account.self, id: "hot", retry: RetryPolicy(maximumAttempts: 100)
                            ) {
                                $0.deposit(1)
                            }
                            seen += result.conflicts
                        }
                        return seen
                    }
                }
                return try await group.reduce(0, +)
            }
            let account = try #require(try await store.load(Account.self, id: "hot"))
            #expect(account.state.balance == 100)
            #expect(account.version == 100)
            #expect(conflicts > 0)
        }
    }

    @Test func anIdempotentRetryWritesNothingTwice() async throws {
        try await TestDatabase.withStore { store throws in
            var account = try await store.loadOrDefault(Account.self, id: "retry")
            account.open(owner: "x")
            account.deposit(10)
            let events = try account.uncommittedEvents.map {
                try NewEvent(Account.self, $0.event, metadata: $0.metadata)
            }
            let first = try await store.append(events, to: account.id, expecting: .noStream)
            // The outcome was "unknown" (say the connection dropped after COMMIT): send it again.
            let again = try await store.append(events, to: account.id, expecting: .noStream)
            #expect(again.wasAlreadyStored)
            #expect(again.positions == first.positions)
            #expect(again.version == 2)
            #expect(try await store.readStream(account.id).count == 2)

            var changed = events
            changed[1].payload = Data(#"{"amount": 11}"#.utf8)
            let error = await #expect(throws: MireError.self) {
                try await store.append(changed, to: account.id, expecting: .exact(2))
            }
            #expect(error?.code == .eventIDReused)
        }
    }

    @Test func expectedVersionRulesAreEnforcedByTheServer() async throws {
        try await TestDatabase.withStore { store throws in
            let stream = try StreamID(category: "account", id: "rules")
            let event = { try NewEvent(Account.self, .deposited(amount: 1)) }
            await #expect(throws: MireError.self) {
                try await store.append([try event()], to: stream, expecting: .streamExists)
            }
            try await store.append([try event()], to: stream, expecting: .noStream)
            await #expect(throws: MireError.self) {
                try await store.append([try event()], to: stream, expecting: .noStream)
            }
            try await store.append([try event()], to: stream, expecting: .streamExists)
            try await store.append([try event()], to: stream, expecting: .any)
            try await store.append([try event()], to: stream, expecting: .exact(3))
            try await store.append([try event()], to: StreamID(category: "account", id: "rules-any"), expecting: .any)
            #expect(try await store.streamInfo(stream).version == 4)
        }
    }

    @Test func aMultiStreamBatchIsAllOrNothing() async throws {
        try await TestDatabase.withStore { store throws in
            var a = try await store.loadOrDefault(Account.self, id: "batch-a")
            var b = try await store.loadOrDefault(Account.self, id: "batch-b")
            a.open(owner: "a")
            b.open(owner: "b")
            var both = [a, b]
            let results = try await store.save(&both)
            #expect(results.map(\.version) == [1, 1])
            #expect(both.allSatisfy { $0.version == 1 })

            // b moves on behind our back; a batch touching both must then change neither.
            var sneaky = try #require(try await store.load(Account.self, id: "batch-b"))
            sneaky.deposit(1)
            try await store.save(&sneaky)
            both[0].deposit(5)
            both[1].deposit(5)
            let error = await #expect(throws: MireError.self) { try await store.save(&both) }
            #expect(error?.code == .concurrencyConflict)
            #expect(error?.stream == "account-batch-b")
            #expect(try await store.streamInfo(both[0].id).version == 1)
            #expect(try await store.streamInfo(both[1].id).version == 2)
        }
    }

    @Test func upcastersAndAliasesReadOldHistory() async throws {
        try await TestDatabase.withStore { store throws in
            let stream = try StreamID(category: "account", id: "legacy")
            try await store.append(
                [
                    NewEvent(type: "account.opened", payload: Data(#"{"owner":"old"}"#.utf8)),
                    NewEvent(type: "account.credited", payload: Data(#"{"amount":50}"#.utf8)),
                    NewEvent(type: "account.debited-cents", payload: Data(#"{"cents":20}"#.utf8)),
                ], to: stream, expecting: .noStream)
            let account = try #require(try await store.load(Account.self, id: "legacy"))
            #expect(account.state.balance == 30)
            #expect(account.version == 3)
        }
    }

    @Test func undecodablePayloadNamesPositionStreamAndType() async throws {
        try await TestDatabase.withStore { store throws in
            let stream = try StreamID(category: "account", id: "broken")
            let result = try await store.append(
                [
                    try NewEvent(Account.self, .opened(owner: "x")),
                    NewEvent(type: "account.deposited", payload: Data(#"{"amount":"lots"}"#.utf8)),
                ], to: stream, expecting: .noStream)
            let error = await #expect(throws: MireError.self) { try await store.load(Account.self, id: "broken") }
            #expect(error?.code == .undecodableEvent)
            #expect(error?.stream == "account-broken")
            #expect(error?.version == 2)
            #expect(error?.position == result.positions[1])
            #expect(error?.message.contains("account.deposited") == true)
            #expect(error?.message.contains("amount") == true)

            try await store.append(
                [NewEvent(type: "account.teleported", payload: Data("{}".utf8))], to: StreamID("account-odd"),
                expecting: .any)
            let unknown = await #expect(throws: MireError.self) { try await store.load(Account.self, id: "odd") }
            #expect(unknown?.code == .unknownEventType)
            #expect(unknown?.message.contains("account.teleported") == true)
        }
    }

    @Test func rowsDecodedFromTheirBytesReplayAndFailTyped() async throws {
        try await TestDatabase.withStore { store throws in
            // 300 events: one page, decoded by two tasks; a pinned name among them.
            var wallet = try await store.loadOrDefault(Wallet.self, id: "w")
            wallet.record(.opened(owner: "ann"))
            for amount in 1...298 { wallet.record(.deposited(amount: Int64(amount))) }
            wallet.record(.renamedOwner("bea"))
            try await store.save(&wallet)
            let loaded = try #require(try await store.load(Wallet.self, id: "w"))
            #expect(loaded.state == Wallet(owner: "bea", balance: 298 * 299 / 2, eventCount: 300))
            #expect(loaded.version == 300)

            let stream = try StreamID(category: "wallet", id: "bad")
            let result = try await store.append(
                [
                    try NewEvent(Wallet.self, .opened(owner: "x")),
                    NewEvent(type: "wallet.deposited", payload: Data(#"{"amount":"lots"}"#.utf8)),
                ], to: stream, expecting: .noStream)
            let bad = await #expect(throws: MireError.self) { try await store.load(Wallet.self, id: "bad") }
            #expect(bad?.code == .undecodableEvent)
            #expect(bad?.stream == "wallet-bad")
            #expect(bad?.version == 2)
            #expect(bad?.position == result.positions[1])
            #expect(bad?.message.contains("wallet.deposited") == true)

            let odd = try await store.append(
                [NewEvent(type: "wallet.teleported", payload: Data("{}".utf8))], to: StreamID("wallet-odd"),
                expecting: .any)
            let unknown = await #expect(throws: MireError.self) { try await store.load(Wallet.self, id: "odd") }
            #expect(unknown?.code == .unknownEventType)
            #expect(unknown?.message.contains("wallet.teleported") == true)
            #expect(unknown?.position == odd.positions[0])
        }
    }

    @Test func corruptStreamsAreRefused() async throws {
        try await TestDatabase.withStore { store throws in
            var account = try await store.loadOrDefault(Account.self, id: "gap")
            account.open(owner: "x")
            account.deposit(1)
            try await store.save(&account)
            try await store.pool.withConnection { connection throws in
                // A gap: version 4 without 3, and the stream row moved to 4 by hand.
                try await connection.query(
                    """
                    INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload)
                    VALUES ('account-gap', 4, 'account', gen_random_uuid(), 'account.deposited', '{"amount":1}')
                    """)
                try await connection.query("UPDATE mire_streams SET version = 4 WHERE stream_id = 'account-gap'")
            }
            let gap = await #expect(throws: MireError.self) { try await store.load(Account.self, id: "gap") }
            #expect(gap?.code == .corruptStream)
            #expect(gap?.message.contains("gap") == true)

            var short = try await store.loadOrDefault(Account.self, id: "short")
            short.open(owner: "x")
            try await store.save(&short)
            try await store.pool.withConnection { connection throws in
                try await connection.query("UPDATE mire_streams SET version = 3 WHERE stream_id = 'account-short'")
            }
            let mismatch = await #expect(throws: MireError.self) { try await store.load(Account.self, id: "short") }
            #expect(mismatch?.code == .corruptStream)
            #expect(mismatch?.message.contains("version 3") == true)
        }
    }

    @Test func longStreamsLoadInPages() async throws {
        try await TestDatabase.withStore(configuration: EventStore.Configuration(loadPageSize: 7)) { store throws in
            var account = try await store.loadOrDefault(Account.self, id: "long")
            for _ in 0..<50 { account.deposit(2) }
            try await store.save(&account)
            let loaded = try #require(try await store.load(Account.self, id: "long"))
            #expect(loaded.state.balance == 100)
            #expect(loaded.version == 50)
            #expect(loaded.state.eventCount == 50)
        }
    }

    /// Pages of 500 events, each fetched while the page before it is decoded; a gap or a short
    /// stream in a later page is still found.
    @Test func aLongStreamLoadsInPrefetchedPagesAndTheirFaultsAreFound() async throws {
        try await TestDatabase.withStore(configuration: EventStore.Configuration(loadPageSize: 500)) { store throws in
            var account = try await store.loadOrDefault(Account.self, id: "paged")
            for amount in 1...1_300 { account.deposit(Int64(amount)) }
            try await store.save(&account)
            let loaded = try #require(try await store.load(Account.self, id: "paged"))
            #expect(loaded.version == 1_300)
            #expect(loaded.state.eventCount == 1_300)
            #expect(loaded.state.balance == 1_300 * 1_301 / 2)

            try await store.pool.withConnection { connection throws in
                try await connection.query(
                    "UPDATE mire_streams SET version = 1302 WHERE stream_id = 'account-paged'")
            }
            let short = await #expect(throws: MireError.self) { try await store.load(Account.self, id: "paged") }
            #expect(short?.code == .corruptStream)
            #expect(short?.message.contains("version 1302") == true)

            // Events are append-only: the gap is version 1,302 stored without 1,301.
            try await store.pool.withConnection { connection throws in
                try await connection.query(
                    """
                    INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload)
                    VALUES ('account-paged', 1302, 'account', gen_random_uuid(), 'account.deposited', '{"amount":1}')
                    """)
            }
            let gap = await #expect(throws: MireError.self) { try await store.load(Account.self, id: "paged") }
            #expect(gap?.code == .corruptStream)
            #expect(gap?.version == 1_302)
            #expect(gap?.message.contains("gap") == true)
        }
    }

    @Test(arguments: ["", "line\nbreak", String(repeating: "x", count: 300)])
    func invalidStreamIdsAreRefused(_ id: String) async throws {
        try await TestDatabase.withStore { store throws in
            let error = await #expect(throws: MireError.self) { _ = try await store.load(Account.self, id: id) }
            #expect(error?.code == .invalidStreamID)
        }
    }

    @Test func unusualStreamIdsAreStoredVerbatim() async throws {
        try await TestDatabase.withStore { store throws in
            for id in ["O'Brien \"the\" 2nd", "北京-🏦", "x'); DROP TABLE mire_events; --"] {
                var account = try await store.loadOrDefault(Account.self, id: id)
                account.open(owner: id)
                try await store.save(&account)
                let loaded = try #require(try await store.load(Account.self, id: id))
                #expect(loaded.entityID == id)
                #expect(loaded.state.owner == id)
            }
            #expect(try await store.readCategory("account").count == 3)
        }
    }

    @Test func readsForwardBackwardGlobalAndByCategory() async throws {
        try await TestDatabase.withStore { store throws in
            var a = try await store.loadOrDefault(Account.self, id: "r1")
            for _ in 0..<5 { a.deposit(1) }
            try await store.save(&a)
            try await store.append(
                [NewEvent(type: "audit.noted", payload: Data("{}".utf8))], to: StreamID("audit-1"), expecting: .any)

            #expect(try await store.readStream(a.id, from: 2, limit: 2).map(\.version) == [2, 3])
            #expect(try await store.readStreamBackward(a.id, limit: 2).map(\.version) == [5, 4])
            #expect(try await store.readStreamBackward(a.id, from: 2).map(\.version) == [2, 1])
            let all = try await store.readAll()
            #expect(all.count == 6)
            #expect(all.map(\.position) == all.map(\.position).sorted())
            #expect(
                try await store.readAll(after: all[2].position, limit: 2).map(\.position) == [
                    all[3].position, all[4].position,
                ])
            #expect(try await store.readCategory("audit").map(\.stream.rawValue) == ["audit-1"])
            #expect(all.allSatisfy { $0.transactionID > 0 })
        }
    }

    /// One save is one statement on the server: counted by pg_stat_statements for a role that
    /// does nothing else.
    @Test func aSaveIsOneRoundTrip() async throws {
        try await TestDatabase.withSchema { configuration throws in
            let role = "saver_" + UUID().uuidString.prefix(8).lowercased()
            let admin = try await PGConnection.connect(configuration: configuration, logger: TestDatabase.logger)
            try await admin.query("CREATE ROLE \(identifier: role) LOGIN SUPERUSER")
            var saverConfiguration = configuration
            saverConfiguration.keywords["user"] = role
            let pool = PGPool(
                configuration: saverConfiguration, maximumConnections: 1, logger: TestDatabase.logger)
            let store = EventStore(pool: pool, logger: TestDatabase.logger)
            try await store.migrate()
            var warmUp = try await store.loadOrDefault(Account.self, id: "warm-up")
            warmUp.open(owner: "x")
            try await store.save(&warmUp)  // prepares the statement on the connection

            var account = try AggregateRoot<Account>(id: "counted")
            account.open(owner: "x")
            account.deposit(5)
            account.deposit(6)
            try await admin.query(
                "SELECT public.pg_stat_statements_reset((SELECT oid FROM pg_roles WHERE rolname = \(role)))")
            try await store.save(&account)
            let statements = try await admin.query(
                """
                SELECT coalesce(sum(calls), 0)::int8 FROM public.pg_stat_statements
                WHERE userid = (SELECT oid FROM pg_roles WHERE rolname = \(role))
                  AND query NOT LIKE '%pg_notify%'  -- the projection wake-up, sent after the commit in the background
                """
            ).single(Int64.self)
            #expect(statements == 1)
            #expect(try await store.streamInfo(account.id).version == 3)
            await pool.shutdown()
            await admin.close()
        }
    }
}

/// Lets concurrent tasks start their work at the same moment.
final class StartingGate: Sendable {
    private let arrived = Mutex(0)
    private let parties: Int

    init(parties: Int) { self.parties = parties }

    func arriveAndWait() async {
        arrived.withLock { $0 += 1 }
        while arrived.withLock({ $0 }) < parties { await Task.yield() }
    }
}
