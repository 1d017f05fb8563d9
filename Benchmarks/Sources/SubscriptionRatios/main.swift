import DriverWorkloads
import Foundation
import Logging
import MirePQ
import MireProjections
import Synchronization

// Subscriptions: the catch-up rate of `store.subscribe` over N events (default 200,000) against
// the same gap-safe keyset scan in batches of the same size over raw libpq (reading the rows,
// handling nothing); and the latency from an append's commit (its reply) to the consumer, with
// notifications, p50 / p99 (no raw equivalent: a raw client would build this same loop).

let eventCount = Int(ProcessInfo.processInfo.environment["MIRE_BENCH_EVENTS"] ?? "") ?? 200_000
let batchSize = 500
let logger = Logger(label: "bench")
let (configuration, pool, store) = try await BenchmarkServer.store(
    maximumConnections: 4, configuration: .init(wakeUpChannel: "bench_events"))

try await writeLedgerLog(events: eventCount, on: pool)

let clock = ContinuousClock()

// Mire: one subscription reads the whole log.
var lastCheckpoint = Checkpoint()
var mireSeen = 0
let mireTime = try await clock.measure {
    for try await delivery in store.subscribe(EventSubscription.Configuration(batchSize: batchSize)) {
        mireSeen += 1
        lastCheckpoint = delivery.checkpoint
        if mireSeen == eventCount { break }
    }
}

// The reader alone (GapSafeReader, the subscription's and the projections' reader), for where
// the time goes.
var readerSeen = 0
let readerTime = try await clock.measure {
    var checkpoint = Checkpoint()
    let reader = GapSafeReader(pool: pool)
    while true {
        let batch = try await reader.next(after: checkpoint, category: nil, limit: batchSize)
        if batch.steps.isEmpty { break }
        readerSeen += batch.events.count
        checkpoint = batch.finalCheckpoint(from: checkpoint)
    }
}

// Raw: the same scan below the horizon, in (transaction id, position) keyset pages, over libpq.
let raw = try RawLibPQ(conninfo: BenchmarkServer.conninfo(configuration))
var rawSeen = 0
let rawTime = try clock.measure {
    var xid = "0"
    var position = "0"
    while true {
        let rows = try raw.rows(
            """
            SELECT transaction_id::text AS xid_text, global_position::text AS position_text, stream_id, stream_version,
                   event_type, payload, metadata,
                   event_id, recorded_at
            FROM mire_events
            WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
              AND (transaction_id, global_position) > ($1::xid8, $2::int8)
            ORDER BY transaction_id, global_position LIMIT \(batchSize)
            """, [xid, position])
        if rows.isEmpty { break }
        rawSeen += rows.count
        xid = rows.last![0]
        position = rows.last![1]
    }
}
guard mireSeen == eventCount, readerSeen == eventCount, rawSeen == eventCount else {
    print(
        "the scans disagree with the log: subscription \(mireSeen), reader \(readerSeen), raw \(rawSeen), "
            + "events \(eventCount)")
    exit(1)
}
print(
    String(
        format: "catch-up over %d events, batches of %d: subscription %.0f events/s (%.2f s), "
            + "its reader alone %.0f events/s (%.2f s), raw keyset scan %.0f events/s (%.2f s), Mire/raw %.2f×",
        eventCount, batchSize, Double(eventCount) / mireTime.seconds, mireTime.seconds,
        Double(eventCount) / readerTime.seconds, readerTime.seconds, Double(eventCount) / rawTime.seconds,
        rawTime.seconds, rawTime.seconds / mireTime.seconds))

// Latency: the consumer notes when each probe arrives; the writer appends one probe at a time.
let arrivals = Arrivals()
let samples = 300
let checkpoint = lastCheckpoint
// The store's background work sends the wake-ups after each commit (in an app: its ServiceGroup).
let latencies = try await store.withBackgroundWork { try await measureLatencies() }
func measureLatencies() async throws -> [Double] {
    var latencies: [Double] = []
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            var received = 0
            for try await delivery in store.subscribe(
                after: checkpoint, EventSubscription.Configuration(category: "probe"))
            {
                arrivals.times.withLock { $0[delivery.event.position] = .now }
                received += 1
                if received == samples { return }
            }
        }
        try await Task.sleep(for: .seconds(1))  // the consumer is listening
        for index in 0..<samples {
            let saved = try await store.append(
                [NewEvent(type: "probe.sent", payload: Data("{}".utf8))], to: StreamID("probe-\(index)"),
                expecting: .noStream)
            let committed = ContinuousClock.now
            while arrivals.times.withLock({ $0[saved.positions[0]] }) == nil {
                try await Task.sleep(for: .microseconds(200))
            }
            let arrived = arrivals.times.withLock { $0[saved.positions[0]]! }
            latencies.append(max(0, (arrived - committed).seconds) * 1000)
            try await Task.sleep(for: .milliseconds(Int.random(in: 5...40)))
        }
        try await group.waitForAll()
    }
    return latencies.sorted()
}
print(
    String(
        format: "append commit → subscriber latency with notifications (%d probes): p50 %.2f ms, p99 %.2f ms",
        samples, percentile(latencies, 0.5), percentile(latencies, 0.99)))
await pool.shutdown()
