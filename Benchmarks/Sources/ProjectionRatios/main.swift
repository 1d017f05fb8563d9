import DriverWorkloads
import Foundation
import Logging
import MirePQ
import MireProjections
import Synchronization

// Projections: catch-up rate of a transactional projection over N events (default 1,000,000) vs
// hand-written SQL doing the same scan and per-event upserts in batches of the same size; and the
// latency from an append's commit to the handler, with notifications and with polling only.

let eventCount = Int(ProcessInfo.processInfo.environment["MIRE_BENCH_EVENTS"] ?? "") ?? 1_000_000
let batchSize = 500
let logger = Logger(label: "bench")
let (configuration, pool, store) = try await BenchmarkServer.store(
    maximumConnections: 4, configuration: .init(wakeUpChannel: "bench_events"))

try await writeLedgerLog(
    events: eventCount, on: pool,
    then: """
        CREATE TABLE mire_totals (id text PRIMARY KEY, total bigint NOT NULL);
        CREATE TABLE raw_totals (id text PRIMARY KEY, total bigint NOT NULL);
        CREATE TABLE batch_totals (id text PRIMARY KEY, total bigint NOT NULL);
        CREATE TABLE raw_checkpoint (xid xid8 NOT NULL, position bigint NOT NULL);
        INSERT INTO raw_checkpoint VALUES ('0', 0);
        """)

// Mire: a transactional projection, one upsert per event, checkpoint per batch.
let projection = Projection.transactional("totals", of: Ledger.self) { recorded, connection in
    guard case .deposited(let amount) = recorded.event else { return }
    try await connection.query(
        "INSERT INTO mire_totals VALUES (\(recorded.stream.entityID), \(amount)) ON CONFLICT (id) DO UPDATE SET total = mire_totals.total + EXCLUDED.total",
        prepared: true)
}
var runnerConfiguration = ProjectionRunner.Configuration(workerID: "bench")
runnerConfiguration.batchSize = batchSize
runnerConfiguration.wakeUpChannel = nil
let runner = ProjectionRunner(
    store: store, projections: [projection], configuration: runnerConfiguration, logger: logger)
let clock = ContinuousClock()
let mireTime = try await clock.measure { try await runner.runUntilCaughtUp() }

// Raw: the same gap-safe scan in batches, one upsert per event, checkpoint per batch, over libpq.
let raw = try RawLibPQ(conninfo: BenchmarkServer.conninfo(configuration))
nonisolated(unsafe) var rawSeen = 0
let rawTime = try clock.measure {
    var xid = "0"
    var position = "0"
    while true {
        try raw.run("BEGIN", [])
        let rows = try raw.rows(
            """
            SELECT transaction_id::text AS xid_text, global_position::text AS position_text, stream_id, payload->>'amount' FROM mire_events
            WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) AND (transaction_id, global_position) > ($1::xid8, $2::int8)
            ORDER BY transaction_id, global_position LIMIT \(batchSize)
            """, [xid, position])
        if rows.isEmpty {
            try raw.run("COMMIT", [])
            break
        }
        rawSeen += rows.count
        if ProcessInfo.processInfo.environment["MIRE_BENCH_DEBUG"] != nil {
            print("raw batch", rows.count, rows.first ?? [], rows.last ?? [])
        }
        for row in rows {
            let id = String(row[2].dropFirst("ledger-".count))
            try raw.run(
                "INSERT INTO raw_totals VALUES ($1, $2::int8) ON CONFLICT (id) DO UPDATE SET total = raw_totals.total + EXCLUDED.total",
                [id, row[3]])
        }
        xid = rows.last![0]
        position = rows.last![1]
        try raw.run("UPDATE raw_checkpoint SET xid = $1::xid8, position = $2::int8", [xid, position])
        try raw.run("COMMIT", [])
    }
}
let totals = try await pool.withConnection { connection in
    try await connection.query(
        "SELECT (SELECT sum(total) FROM mire_totals)::int8, (SELECT sum(total) FROM raw_totals)::int8"
    ).first!
    .decode((Int64, Int64).self)
}
if totals.0 != Int64(eventCount) || totals.1 != Int64(eventCount) {
    print(
        "read models disagree with the log: Mire \(totals.0), raw \(totals.1) (\(rawSeen) rows scanned), events \(eventCount)"
    )
    exit(1)
}
print(
    String(
        format:
            "catch-up over %d events, batches of %d: Mire %.0f events/s (%.1f s), raw SQL %.0f events/s (%.1f s), Mire/raw %.2f×",
        eventCount, batchSize, Double(eventCount) / mireTime.seconds, mireTime.seconds,
        Double(eventCount) / rawTime.seconds, rawTime.seconds, rawTime.seconds / mireTime.seconds))

// The same catch-up with a batched handler: one set-based upsert per batch of 500.
let batched = Projection.transactionalBatch("batch-totals", of: Ledger.self) { events, connection in
    let ids = events.map(\.stream.entityID)
    let amounts: [Int64] = events.map { if case .deposited(let amount) = $0.event { amount } else { 0 } }
    try await connection.query(
        """
        INSERT INTO batch_totals SELECT id, sum(amount) FROM unnest(\(ids)::text[], \(amounts)::int8[]) AS t(id, amount)
        GROUP BY id ON CONFLICT (id) DO UPDATE SET total = batch_totals.total + EXCLUDED.total
        """,
        prepared: true)
}
let batchRunner = ProjectionRunner(
    store: store, projections: [batched], configuration: runnerConfiguration, logger: logger)
let batchTime = try await clock.measure { try await batchRunner.runUntilCaughtUp() }
let batchTotal = try await pool.withConnection {
    try await $0.query("SELECT sum(total)::int8 FROM batch_totals").single(Int64.self)
}
if batchTotal != Int64(eventCount) {
    print("the batched read model disagrees with the log: \(batchTotal) of \(eventCount)")
    exit(1)
}
print(
    String(
        format:
            "the same catch-up with a batched handler (one set-based upsert per batch): %.0f events/s (%.1f s), %.2f× the raw per-event SQL",
        Double(eventCount) / batchTime.seconds, batchTime.seconds, rawTime.seconds / batchTime.seconds))

// Latency from saving an event to its handler running.
func latencies(wakeUps: Bool, poll: Duration, samples: Int) async throws -> [Double] {
    let arrivals = Arrivals()
    let name = wakeUps ? "latency-notify" : "latency-poll"
    let watcher = Projection(name: name, category: "probe", delivery: .plain) { event, _ in
        arrivals.times.withLock { $0[event.position] = .now }
    }
    var latencyConfiguration = ProjectionRunner.Configuration(workerID: "bench")
    latencyConfiguration.pollInterval = poll
    latencyConfiguration.wakeUpChannel = wakeUps ? "bench_events" : nil
    let latencyRunner = ProjectionRunner(
        store: store, projections: [watcher], configuration: latencyConfiguration, logger: logger)
    let task = Task { try await latencyRunner.run() }
    try await Task.sleep(for: .seconds(1))
    var results: [Double] = []
    for index in 0..<samples {
        let started = ContinuousClock.now
        let saved = try await store.append(
            [NewEvent(type: "probe.sent", payload: Data("{}".utf8))], to: StreamID("probe-\(name)-\(index)"),
            expecting: .noStream)
        while arrivals.times.withLock({ $0[saved.positions[0]] }) == nil {
            try await Task.sleep(for: .microseconds(200))
        }
        let arrived = arrivals.times.withLock { $0[saved.positions[0]]! }
        results.append((arrived - started).seconds * 1000)
        try await Task.sleep(for: .milliseconds(Int.random(in: 5...40)))
    }
    task.cancel()
    _ = try? await task.value
    return results.sorted()
}
// Wake-ups are sent by the store's background work (in an app: its ServiceGroup).
let notified = try await store.withBackgroundWork {
    try await latencies(wakeUps: true, poll: .seconds(1), samples: 200)
}
let polled = try await latencies(wakeUps: false, poll: .milliseconds(250), samples: 60)
print(
    String(
        format: "append → handler latency with notifications (poll 1 s as fallback): p50 %.1f ms, p99 %.1f ms",
        percentile(notified, 0.5), percentile(notified, 0.99)))
print(
    String(
        format: "append → handler latency polling every 250 ms, no notifications: p50 %.1f ms, p99 %.1f ms",
        percentile(polled, 0.5), percentile(polled, 0.99)))
await pool.shutdown()
