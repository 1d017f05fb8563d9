import Foundation
import MirePQ
import MireTestSupport
import MireTransactions
import Testing

@_spi(Internals) @testable import MireSnapshots

enum CounterEvent: Codable, Sendable {
    case added(Int64)
    case noted(String)
}

/// State with some bulk, so compression has something to do.
struct Counter: SnapshottableAggregate, Equatable {
    static let category = "counter"
    nonisolated(unsafe) static var snapshotSchemaVersion = 1
    var total: Int64 = 0
    var count = 0
    var notes: [String] = []

    mutating func apply(_ event: CounterEvent) {
        count += 1
        switch event {
        case .added(let amount): total += amount
        case .noted(let note): notes.append(note)
        }
    }
}

/// A store with snapshots every `interval` events, written inline so tests can look at once.
func withSnapshotStore<T>(
    interval: Int = 10, threshold: Int = 512, maximumStateSize: Int = 64 << 20,
    _ body: (EventStore, Snapshots) async throws -> T
) async throws -> T {
    let snapshots = Snapshots(
        configuration: SnapshotConfiguration(
            every: interval, compressionThreshold: threshold, maximumStateSize: maximumStateSize, writeMode: .inline),
        logger: TestDatabase.logger
    )
    return try await TestDatabase.withStore(configuration: EventStore.Configuration(snapshots: snapshots)) { store in
        try await body(store, snapshots)
    }
}

func storedSnapshot(_ store: EventStore, _ stream: String) async throws -> (version: Int64, encoding: String)? {
    try await store.pool.withConnection { connection in
        try await connection.query("SELECT stream_version, encoding FROM mire_snapshots WHERE stream_id = \(stream)")
            .first.map { try $0.decode((Int64, String).self) }
    }
}

@Suite("Snapshots", .serialized, .timeLimit(.minutes(3)))  // one test bumps Counter's schema version
struct SnapshotTests {
    @Test func snapshotPlusTailEqualsFullReplayOverRandomHistories() async throws {
        try await withSnapshotStore(interval: 7) { store, snapshots throws in
            let plain = EventStore(pool: store.pool, logger: TestDatabase.logger)  // no snapshots: full replay
            var generator = SystemRandomNumberGenerator()
            for trial in 0..<12 {
                let id = "random-\(trial)"
                var counter = try await store.loadOrDefault(Counter.self, id: id)
                for _ in 0..<Int.random(in: 1...6, using: &generator) {
                    for _ in 0..<Int.random(in: 1...9, using: &generator) {
                        counter.record(Bool.random() ? .added(Int64.random(in: -50...50)) : .noted(UUID().uuidString))
                    }
                    try await store.save(&counter)
                }
                let viaSnapshot = try #require(try await store.load(Counter.self, id: id))
                let full = try #require(try await plain.load(Counter.self, id: id))
                #expect(viaSnapshot.state == full.state)
                #expect(viaSnapshot.version == full.version)
                if counter.version >= 7 {
                    #expect(viaSnapshot.loadDetails.snapshotVersion != nil)
                    #expect(viaSnapshot.loadDetails.eventsReplayed < full.loadDetails.eventsReplayed)
                }
            }
            #expect(snapshots.statistics.fellBack == 0)
        }
    }

    @Test func loadsUseTheLatestSnapshotAndOnlyTheTail() async throws {
        try await withSnapshotStore(interval: 10) { store, snapshots throws in
            var counter = try await store.loadOrDefault(Counter.self, id: "c")
            for _ in 0..<25 { counter.record(.added(1)) }
            try await store.save(&counter)
            #expect(try await storedSnapshot(store, "counter-c")?.version == 25)
            for _ in 0..<3 { counter.record(.added(1)) }
            try await store.save(&counter)  // 28: no new multiple of 10 crossed
            #expect(try await storedSnapshot(store, "counter-c")?.version == 25)
            let loaded = try #require(try await store.load(Counter.self, id: "c"))
            #expect(loaded.state.total == 28)
            #expect(loaded.loadDetails.snapshotVersion == 25)
            #expect(loaded.loadDetails.eventsReplayed == 3)
            #expect(snapshots.statistics.restored == 1)
        }
    }

    @Test func aSchemaBumpReplaysAndIsReplacedByTheNextSnapshot() async throws {
        try await withSnapshotStore(interval: 5) { store, snapshots throws in
            var counter = try await store.loadOrDefault(Counter.self, id: "bump")
            for _ in 0..<6 { counter.record(.added(2)) }
            try await store.save(&counter)
            Counter.snapshotSchemaVersion = 2
            defer { Counter.snapshotSchemaVersion = 1 }
            let loaded = try #require(try await store.load(Counter.self, id: "bump"))
            #expect(loaded.state.total == 12)
            #expect(loaded.loadDetails.snapshotVersion == nil)
            #expect(snapshots.statistics.fellBack == 1)
            var next = loaded
            for _ in 0..<4 { next.record(.added(2)) }
            try await store.save(&next)  // crosses 10: a schema-2 snapshot replaces the old one
            let again = try #require(try await store.load(Counter.self, id: "bump"))
            #expect(again.loadDetails.snapshotVersion == 10)
            #expect(again.state.total == 20)
        }
    }

    @Test(arguments: [
        "UPDATE mire_snapshots SET state = overlay(state placing '\\xff'::bytea from 10 for 4)",
        "UPDATE mire_snapshots SET state = substring(state from 1 for 20)",
        "UPDATE mire_snapshots SET encoding = 'json+lz4'",
        "UPDATE mire_snapshots SET encoding = 'json'",
        "UPDATE mire_snapshots SET uncompressed_size = uncompressed_size + 1",
        "UPDATE mire_snapshots SET stream_version = 1000",
    ])
    func damagedSnapshotsFallBackToFullReplay(_ damage: String) async throws {
        try await withSnapshotStore(interval: 5, threshold: 64) { store, snapshots throws in
            var counter = try await store.loadOrDefault(Counter.self, id: "damaged")
            for index in 0..<12 { counter.record(.noted("note number \(index) with some padding to compress")) }
            try await store.save(&counter)
            #expect(try await storedSnapshot(store, "counter-damaged")?.encoding == "json+zlib")
            try await store.pool.withConnection { try await $0.query(PGQuery(unsafeSQL: damage)) }
            let loaded = try #require(try await store.load(Counter.self, id: "damaged"))
            #expect(loaded.state == counter.state)
            #expect(loaded.loadDetails.snapshotVersion == nil)
            #expect(loaded.loadDetails.eventsReplayed == 12)
            #expect(snapshots.statistics.fellBack == 1)
        }
    }

    @Test func aSnapshotAheadOfItsStreamIsReplacedByTheNextOne() async throws {
        try await withSnapshotStore(interval: 5) { store, snapshots throws in
            var counter = try await store.loadOrDefault(Counter.self, id: "ahead")
            for _ in 0..<6 { counter.record(.added(1)) }
            try await store.save(&counter)
            // Another tool left a snapshot claiming a version the stream never reached.
            try await store.pool.withConnection {
                try await $0.query("UPDATE mire_snapshots SET stream_version = 1000")
            }
            for _ in 0..<4 { counter.record(.added(1)) }
            try await store.save(&counter)  // crosses 10: a snapshot is due
            let loaded = try #require(try await store.load(Counter.self, id: "ahead"))
            #expect(loaded.loadDetails.snapshotVersion == 10)
            #expect(loaded.state.total == 10)
            #expect(try await storedSnapshot(store, "counter-ahead")?.version == 10)
        }
    }

    @Test func aDeletedSnapshotRowChangesNothing() async throws {
        try await withSnapshotStore(interval: 5) { store, _ throws in
            var counter = try await store.loadOrDefault(Counter.self, id: "deleted")
            for _ in 0..<8 { counter.record(.added(3)) }
            try await store.save(&counter)
            try await store.pool.withConnection { try await $0.query("DELETE FROM mire_snapshots") }
            let loaded = try #require(try await store.load(Counter.self, id: "deleted"))
            #expect(loaded.state == counter.state)
            #expect(loaded.loadDetails.snapshotVersion == nil)
        }
    }

    @Test func smallStatesAreStoredPlainAndLargeOnesCompressed() async throws {
        try await withSnapshotStore(interval: 1, threshold: 512) { store, _ throws in
            var small = try await store.loadOrDefault(Counter.self, id: "small")
            small.record(.added(1))
            try await store.save(&small)
            #expect(try await storedSnapshot(store, "counter-small")?.encoding == "json")
            var large = try await store.loadOrDefault(Counter.self, id: "large")
            for index in 0..<100 { large.record(.noted("a repetitive note, number \(index)")) }
            try await store.save(&large)
            #expect(try await storedSnapshot(store, "counter-large")?.encoding == "json+zlib")
            let (stored, size) = try await store.pool.withConnection { connection in
                try await connection.query(
                    "SELECT length(state), uncompressed_size FROM mire_snapshots WHERE stream_id = 'counter-large'")[0]
                    .decode((Int32, Int32).self)
            }
            #expect(stored * 3 < size)
            #expect(try await store.load(Counter.self, id: "large")?.state == large.state)
            #expect(try await store.load(Counter.self, id: "small")?.state == small.state)
        }
    }

    @Test func decompressionIsCappedAgainstACraftedBlob() throws {
        // 8 MiB of zeros compresses to a few KiB: a "zip bomb" relative to a 1 MiB limit.
        let bomb = try ZlibCompression.compress(Data(count: 8 << 20))
        #expect(bomb.count < 64 << 10)
        let error = #expect(throws: ZlibCompression.Failure.self) {
            _ = try ZlibCompression.decompress(bomb, limit: 1 << 20)
        }
        #expect(error?.message.contains("limit") == true)
        // A row claiming a small size cannot make it produce more than claimed either.
        #expect(throws: ZlibCompression.Failure.self) {
            _ = try ZlibCompression.decompress(bomb, expectedSize: 100, limit: 64 << 20)
        }
        #expect(try ZlibCompression.decompress(bomb, expectedSize: 8 << 20, limit: 64 << 20).count == 8 << 20)
    }

    @Test func aBlobClaimingMoreThanTheLimitIsNotInflated() async throws {
        try await withSnapshotStore(interval: 5, threshold: 0, maximumStateSize: 4_096) { store, snapshots throws in
            var counter = try await store.loadOrDefault(Counter.self, id: "bomb")
            for _ in 0..<5 { counter.record(.added(1)) }
            try await store.save(&counter)
            let bomb = try ZlibCompression.compress(Data(count: 8 << 20))
            try await store.pool.withConnection { connection in
                try await connection.query(
                    "UPDATE mire_snapshots SET state = \(bomb), uncompressed_size = \(Int32(8 << 20)), encoding = 'json+zlib'"
                )
            }
            let loaded = try #require(try await store.load(Counter.self, id: "bomb"))
            #expect(loaded.state.total == 5)
            #expect(snapshots.statistics.fellBack == 1)
        }
    }

    @Test func zlibRoundTripsAndDetectsCorruption() throws {
        let text = Data((0..<20_000).map { UInt8(truncatingIfNeeded: $0 % 37) })
        for level in [SnapshotConfiguration.CompressionLevel.fast, .default, .best].map(\.rawValue) {
            let packed = try ZlibCompression.compress(text, level: level)
            #expect(packed.count < text.count)
            #expect(try ZlibCompression.decompress(packed, limit: 1 << 20) == text)
        }
        var damaged = try ZlibCompression.compress(text)
        damaged[damaged.count / 2] ^= 0xFF
        #expect(throws: ZlibCompression.Failure.self) { _ = try ZlibCompression.decompress(damaged, limit: 1 << 20) }
        #expect(throws: ZlibCompression.Failure.self) {
            _ = try ZlibCompression.decompress(damaged.prefix(10), limit: 1 << 20)
        }
    }

    @Test func concurrentSavesWhileSnapshotsAreTakenStayCorrect() async throws {
        // Written in the background (the default), while other saves go on.
        let snapshots = Snapshots(configuration: SnapshotConfiguration(every: 3), logger: TestDatabase.logger)
        try await TestDatabase.withStore(
            maximumConnections: 6, configuration: EventStore.Configuration(snapshots: snapshots)
        ) { store throws in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        for _ in 0..<25 {
                            try await store.update(Counter.self, id: "busy", retry: RetryPolicy(maximumAttempts: 200)) {
                                $0.record(.added(1))
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            await store.waitForBackgroundWork()
            let loaded = try #require(try await store.load(Counter.self, id: "busy"))
            #expect(loaded.state.total == 100)
            #expect(loaded.version == 100)
            #expect(snapshots.statistics.written > 0)
            #expect(snapshots.statistics.failedWrites == 0)
            let plain = EventStore(pool: store.pool, logger: TestDatabase.logger)
            #expect(try await plain.load(Counter.self, id: "busy")?.state == loaded.state)
        }
    }

    /// Background writes that finish before they are registered must still be waited for
    /// correctly (this once spun forever).
    @Test(.timeLimit(.minutes(1))) func waitingForManyQuickBackgroundWritesReturns() async throws {
        let snapshots = Snapshots(configuration: SnapshotConfiguration(every: 1), logger: TestDatabase.logger)
        try await TestDatabase.withStore(configuration: EventStore.Configuration(snapshots: snapshots)) {
            store throws in
            var counter = try await store.loadOrDefault(Counter.self, id: "quick")
            for _ in 0..<150 {
                counter.record(.added(1))
                try await store.save(&counter)
            }
            await store.waitForBackgroundWork()
            // A snapshot still waiting is replaced by the next one of its stream: at most 150.
            #expect((1...150).contains(snapshots.statistics.written))
            #expect(snapshots.statistics.failedWrites == 0)
            #expect(try await store.load(Counter.self, id: "quick")?.loadDetails.snapshotVersion == 150)
        }
    }

    @Test func aManualSnapshotIsUsedByTheNextLoad() async throws {
        try await TestDatabase.withStore(
            configuration: EventStore.Configuration(
                snapshots: Snapshots(configuration: SnapshotConfiguration(every: 1_000), logger: TestDatabase.logger))
        ) { store throws in
            var counter = try await store.loadOrDefault(Counter.self, id: "manual")
            for _ in 0..<4 { counter.record(.added(5)) }
            await #expect(throws: MireError.self) { try await store.takeSnapshot(counter) }  // unsaved events
            try await store.save(&counter)
            try await store.takeSnapshot(counter)
            let loaded = try #require(try await store.load(Counter.self, id: "manual"))
            #expect(loaded.loadDetails.snapshotVersion == 4)
            #expect(loaded.loadDetails.eventsReplayed == 0)
            #expect(loaded.state.total == 20)
        }
    }
}

@Suite("Snapshot decoding bounds")
struct SnapshotDecodingBoundsTests {
    /// Peak resident memory of this process so far, in bytes.
    static var peakResidentBytes: Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
    }

    /// 64 MiB of JSON that is valid up to its last byte: refusing it must not cost a parse tree
    /// (JSONDecoder took about 1 GiB). Peak memory grows by at most a few times the document.
    @Test func almostValidJSONIsRefusedWithinAFewTimesItsSize() throws {
        var document = Data(#"{"total": 1, "count": 1, "notes": ["#.utf8)
        let item = Data(#"[0],"#.utf8)  // the tiniest containers: the worst case for bookkeeping
        document.reserveCapacity(64 << 20)
        while document.count < (64 << 20) - 16 { document.append(item) }
        document.append(Data(#"[0]]"#.utf8))  // …and the closing brace is missing
        let blob = SnapshotBlob(encoding: SnapshotBlob.json, uncompressedSize: document.count, bytes: document)
        let before = Self.peakResidentBytes
        #expect(throws: (any Error).self) { _ = try blob.decode(Counter.self, limit: 64 << 20) }
        let growth = Self.peakResidentBytes - before
        #expect(growth < 4 * document.count, "peak memory grew by \(growth >> 20) MiB")
    }
}

@Suite("Snapshots in one round trip", .timeLimit(.minutes(2)))
struct SnapshotRoundTripTests {
    /// With snapshots on, a load is one statement (snapshot and tail together) and `update` two
    /// (load, save): counted by pg_stat_statements for a role that does nothing else.
    @Test func aLoadWithSnapshotsIsOneStatementAndAnUpdateTwo() async throws {
        try await TestDatabase.withSchema { configuration throws in
            let role = "snap_" + UUID().uuidString.prefix(8).lowercased()
            let admin = try await PGConnection.connect(configuration: configuration, logger: TestDatabase.logger)
            try await admin.query("CREATE ROLE \(identifier: role) LOGIN SUPERUSER")
            var counted = configuration
            counted.keywords["user"] = role
            let pool = PGPool(configuration: counted, maximumConnections: 1, logger: TestDatabase.logger)
            let snapshots = Snapshots(
                configuration: SnapshotConfiguration(every: 10, writeMode: .inline), logger: TestDatabase.logger)
            let store = EventStore(
                pool: pool, configuration: .init(snapshots: snapshots, wakeUpChannel: nil), logger: TestDatabase.logger)
            try await store.migrate()
            var counter = try await store.loadOrDefault(Counter.self, id: "counted")
            for _ in 0..<25 { counter.record(.added(1)) }
            try await store.save(&counter)  // a snapshot at 25 (the save crossed 10 and 20)
            _ = try await store.load(Counter.self, id: "counted")  // statements prepared

            func statements(_ body: () async throws -> Void) async throws -> Int64 {
                try await admin.query(
                    "SELECT public.pg_stat_statements_reset((SELECT oid FROM pg_roles WHERE rolname = \(role)))")
                try await body()
                return try await admin.query(
                    """
                    SELECT coalesce(sum(calls), 0)::int8 FROM public.pg_stat_statements
                    WHERE userid = (SELECT oid FROM pg_roles WHERE rolname = \(role))
                    """
                ).single(Int64.self)
            }
            var loaded: AggregateRoot<Counter>?
            let loadStatements = try await statements { loaded = try await store.load(Counter.self, id: "counted") }
            #expect(loadStatements == 1)
            #expect(loaded?.loadDetails.snapshotVersion == 25)
            #expect(loaded?.state == counter.state)
            let updateStatements = try await statements {
                _ = try await store.update(Counter.self, id: "counted") { $0.record(.added(1)) }
            }
            #expect(updateStatements == 2)
            await pool.shutdown()
            await admin.close()
        }
    }
}

extension SnapshotRoundTripTests {
    /// Loads inside a transaction start from the snapshot too: a transfer between two
    /// long-lived accounts stays cheap.
    @Test func transactionsLoadThroughSnapshots() async throws {
        try await withSnapshotStore(interval: 10) { store, _ throws in
            var counter = try await store.loadOrDefault(Counter.self, id: "tx")
            for _ in 0..<23 { counter.record(.added(2)) }
            try await store.save(&counter)
            let (locked, plain) = try await store.transaction { tx in
                let locked = try #require(try await tx.loadForUpdate(Counter.self, id: "tx"))
                let plain = try #require(try await tx.load(Counter.self, id: "tx"))
                return (locked, plain)
            }
            for loaded in [locked, plain] {
                #expect(loaded.loadDetails.snapshotVersion == 23)
                #expect(loaded.loadDetails.eventsReplayed == 0)
                #expect(loaded.state == counter.state)
                #expect(loaded.version == 23)
            }
        }
    }
}
