import DriverWorkloads
import Foundation
import Logging
import MireLocalServer
import MirePQ
import MirePostgres
import Synchronization

// Beyond one server, on durable local servers (fsync on) with a synchronous standby:
// 1. Failover as writers see it: 4 writers save one event at a time; the primary is crashed
//    (pg_ctl stop -m immediate) and the standby promoted. Per round: the promotion time, and the
//    writers' wait across the crash: from the last save acknowledged before the primary was down
//    to the first acknowledged after. Every acknowledged save must be on the new primary, once.
// 2. Load throughput, 8 loaders of 100-event streams for a few seconds: every load on the
//    primary, against half of them on the standby (`.replica`), in alternating rounds; beside the
//    raw fetch of the same rows from the primary over libpq.

let rounds = Int(ProcessInfo.processInfo.environment["MIRE_BENCH_ROUNDS"] ?? "") ?? 3
let seconds = Double(ProcessInfo.processInfo.environment["MIRE_BENCH_SECONDS"] ?? "") ?? 4
let logger = Logger(label: "bench")
let clock = ContinuousClock()

/// A durable primary and its synchronous standby `s1`, both running.
func startPair() async throws -> (primary: LocalPostgresServer, standby: LocalPostgresServer) {
    let primary = try LocalPostgresServer.throwaway(settings: [
        "fsync": "on", "synchronous_commit": "on", "full_page_writes": "on", "max_connections": "100",
    ])
    _ = try await primary.start()
    let standby = try await LocalPostgresServer.standby(of: primary, name: "s1")
    _ = try await standby.start()
    try await primary.requireSynchronousStandby(["s1"])
    return (primary, standby)
}

/// What the writers of a failover round share: when each save was acknowledged, how many each
/// writer was told were saved, and when to stop.
final class WriterLog: Sendable {
    let acknowledgements = Mutex<[ContinuousClock.Instant]>([])
    let counts = Mutex<[Int: Int64]>([:])
    let stop = Atomic(false)
}

/// A count shared by concurrent loaders.
final class Tally: Sendable {
    let count = Atomic(0)
}

// MARK: 1. Failover

struct FailoverRound: Codable {
    var promotionMilliseconds: Double
    var writersWaitedMilliseconds: Double
    var acknowledged: Int
}

func failoverRound() async throws -> FailoverRound {
    let (primary, standby) = try await startPair()
    defer {
        try? primary.stop()
        try? standby.stop()
    }
    let pool = PGPool(
        configuration: try LocalPostgresServer.writableConfiguration(among: [primary, standby]), maximumConnections: 4,
        logger: logger)
    let store = EventStore(pool: pool, configuration: .init(wakeUpChannel: nil), logger: logger)
    try await store.migrate()
    let patient = RetryPolicy(maximumAttempts: 400, baseDelay: .milliseconds(2), maximumDelay: .milliseconds(50))
    let log = WriterLog()
    var crashedAt = clock.now
    var promotion = Duration.zero
    try await withThrowingTaskGroup(of: Void.self) { group in
        for writer in 0..<4 {
            group.addTask {
                var value: Int64 = 0
                while !log.stop.load(ordering: .relaxed) {
                    value += 1
                    try await store.update(Ledger.self, id: "w\(writer)", retry: patient) {
                        $0.record(.deposited(amount: 1))
                    }
                    let now = ContinuousClock.now
                    log.acknowledgements.withLock { $0.append(now) }
                    log.counts.withLock { [value] in $0[writer] = value }
                }
            }
        }
        try await Task.sleep(for: .seconds(2))
        try await primary.shutDown(mode: .immediate)
        crashedAt = clock.now  // the server is down: acknowledgements after this came from the standby
        try await standby.promote()
        promotion = clock.now - crashedAt
        try await Task.sleep(for: .seconds(2))
        log.stop.store(true, ordering: .relaxed)
        try await group.waitForAll()
    }
    // Nothing acknowledged is missing, nothing is there twice: each writer's stream has exactly
    // as many events as it was told were saved.
    for (writer, count) in log.counts.withLock({ $0 }) {
        let ledger = try await store.load(Ledger.self, id: "w\(writer)")
        guard ledger?.version == count, ledger?.state.total == count else {
            print("writer \(writer): \(count) saves acknowledged, the promoted server holds \(ledger?.version ?? 0)")
            exit(1)
        }
    }
    await pool.shutdown()
    let times = log.acknowledgements.withLock { $0 }
    guard let last = times.filter({ $0 <= crashedAt }).max(), let first = times.filter({ $0 > crashedAt }).min()
    else {
        print("no save was acknowledged on one side of the crash")
        exit(1)
    }
    return FailoverRound(
        promotionMilliseconds: promotion.seconds * 1000, writersWaitedMilliseconds: (first - last).seconds * 1000,
        acknowledged: times.count)
}

var failovers: [FailoverRound] = []
for round in 1...rounds {
    let result = try await failoverRound()
    failovers.append(result)
    print(
        String(
            format:
                "failover round %d: promoted in %.0f ms; writers waited %.0f ms; %d saves acknowledged, all there once",
            round, result.promotionMilliseconds, result.writersWaitedMilliseconds, result.acknowledged))
}

// MARK: 2. Loads from the primary only, and from the primary and the standby

let (primary, standby) = try await startPair()
defer {
    try? primary.stop()
    try? standby.stop()
}
let primaryConfiguration = try primary.configuration()
let standbyConfiguration = try standby.configuration()
let primaryPool = PGPool(configuration: primaryConfiguration, maximumConnections: 8, logger: logger)
let standbyPool = PGPool(configuration: standbyConfiguration, maximumConnections: 8, logger: logger)
let primaryOnly = EventStore(pool: primaryPool, configuration: .init(wakeUpChannel: nil), logger: logger)
let withStandby = EventStore(
    pool: primaryPool, configuration: .init(wakeUpChannel: nil, readReplica: ReadReplica(pool: standbyPool)),
    logger: logger)
try await primaryOnly.migrate()
try await writeLedgerLog(events: 100_000, on: primaryPool)
// The standby has the whole log before anyone reads it.
while try await standbyPool.withConnection({ try await $0.query("SELECT count(*) FROM mire_events").single(Int64.self) }
)
    < 100_000
{
    try await Task.sleep(for: .milliseconds(100))
}

/// Loads per second by 8 loaders for `seconds`; loader `i` reads with `consistency(i)`.
func loadRate(_ store: EventStore, _ consistency: @escaping @Sendable (Int) -> ReadConsistency) async throws -> Double {
    let deadline = clock.now + .milliseconds(Int(seconds * 1000))
    let loads = Tally()
    let start = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for loader in 0..<8 {
            group.addTask {
                while ContinuousClock.now < deadline {
                    let id = String(Int.random(in: 0..<1000))
                    guard try await store.load(Ledger.self, id: id, consistency: consistency(loader))?.version == 100
                    else { throw MireError(code: .invalidOperation, message: "ledger-\(id) is not 100 events long") }
                    loads.count.add(1, ordering: .relaxed)
                }
            }
        }
        try await group.waitForAll()
    }
    return Double(loads.count.load(ordering: .relaxed)) / (clock.now - start).seconds
}

var primaryRates: [Double] = []
var sharedRates: [Double] = []
for _ in 1...rounds {
    primaryRates.append(try await loadRate(primaryOnly) { _ in .primary })
    sharedRates.append(try await loadRate(withStandby) { $0.isMultiple(of: 2) ? .primary : .replica })
}
let rawRate = try await RawClients.rate(
    conninfo: BenchmarkServer.conninfo(primaryConfiguration), clients: 8, total: Int(seconds * 3_000)
) { raw, _, _ in
    let rows = try raw.rows(
        """
        SELECT stream_version, global_position, event_type, payload, metadata, event_id, recorded_at
        FROM mire_events WHERE stream_id = $1 ORDER BY stream_version
        """, ["ledger-\(Int.random(in: 0..<1000))"])
    guard rows.count == 100 else {
        throw MireError(code: .invalidOperation, message: "a stream is not 100 events long")
    }
}
await primaryPool.shutdown()
await standbyPool.shutdown()

let primaryRate = median(primaryRates)
let sharedRate = median(sharedRates)
print(
    String(
        format: "failover, median of %d rounds: promotion %.0f ms; writers waited %.0f ms between acknowledgements",
        rounds, median(failovers.map(\.promotionMilliseconds)), median(failovers.map(\.writersWaitedMilliseconds))))
print(
    String(
        format: "loads of a 100-event stream, 8 loaders, median of %d rounds: primary only %.0f/s; "
            + "half on the standby %.0f/s (%.2f×); raw fetch from the primary %.0f/s (Mire primary only / raw %.2f×)",
        rounds, primaryRate, sharedRate, sharedRate / primaryRate, rawRate, primaryRate / rawRate))
print("rounds: primary only \(primaryRates.map { Int($0) }), with the standby \(sharedRates.map { Int($0) })")

struct Results: Codable {
    var failovers: [FailoverRound]
    var loadsPerSecondPrimaryOnly: [Double]
    var loadsPerSecondWithStandby: [Double]
    var rawFetchesPerSecondPrimary: Double
}
try BenchmarkResults.write(
    Results(
        failovers: failovers, loadsPerSecondPrimaryOnly: primaryRates, loadsPerSecondWithStandby: sharedRates,
        rawFetchesPerSecondPrimary: rawRate), as: "replica-ratios")
