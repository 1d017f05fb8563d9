import DriverWorkloads
import Foundation
import Logging
import MirePostgres

// The event store vs the same work in hand-written SQL through raw libpq, same durable server,
// interleaved runs, medians and the ratio Mire / raw (1.00 = no overhead).

let configuration = try await BenchmarkServer.start()
let pool = PostgresPool(configuration: configuration, maximumConnections: 1, logger: Logger(label: "bench"))
let store = EventStore(pool: pool, logger: Logger(label: "bench"))
try await store.migrate()
let raw = try RawLibPQ(conninfo: BenchmarkServer.conninfo(configuration))

/// Raw equivalent of one save: version check, stream row advanced, events inserted — one statement.
let rawAppend = """
    WITH s AS (
        UPDATE mire_streams SET version = version + array_length($3::text[], 1)
        WHERE stream_id = $1 AND version = $2::int8 RETURNING version - array_length($3::text[], 1) AS base
    )
    INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload)
    SELECT $1, s.base + i.ord, 'raw', gen_random_uuid(), 'raw.deposited', i.payload::jsonb
    FROM s, unnest($3::text[]) WITH ORDINALITY AS i(payload, ord)
    RETURNING global_position
    """
var rawVersion: Int64 = 0
try raw.run("INSERT INTO mire_streams (stream_id, category, version) VALUES ('raw-1', 'raw', 0)", [])
@MainActor func rawSave(_ count: Int) throws {
    let payloads = "{" + Array(repeating: #""{\"amount\": 1}""#, count: count).joined(separator: ",") + "}"
    let inserted = try raw.run(rawAppend, ["raw-1", String(rawVersion), payloads])
    precondition(inserted == count, "the raw version check failed")
    rawVersion += Int64(count)
}

var ledger = try await store.loadOrDefault(Ledger.self, id: "bench-1")
@MainActor func mireSave(_ count: Int) async throws {
    var root = ledger
    for _ in 0..<count { root.record(.deposited(amount: 1)) }
    try await store.save(&root)
    ledger = root
}

// A 1,000-event stream to load, written once for each side.
do {
    var long = try await store.loadOrDefault(Ledger.self, id: "long")
    for _ in 0..<1_000 { long.record(.deposited(amount: 1)) }
    try await store.save(&long)
}
@MainActor func mireLoad() async throws {
    let loaded = try await store.load(Ledger.self, id: "long")
    precondition(loaded?.state.total == 1_000)
}
@MainActor func rawLoad() throws {
    let rows = try raw.run(
        "SELECT stream_version, event_type, payload FROM mire_events WHERE stream_id = $1 ORDER BY stream_version",
        ["ledger-long"])
    precondition(rows == 1_000)
}

func median(_ values: [Duration]) -> Duration { values.sorted()[values.count / 2] }
func micros(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

struct Workload {
    let name: String
    let repetitions: Int
    let events: Int
    let mire: @MainActor () async throws -> Void
    let raw: @MainActor () throws -> Void
}
let workloads = [
    Workload(
        name: "save 1 event (durable commit)", repetitions: 400, events: 1, mire: { try await mireSave(1) },
        raw: { try rawSave(1) }),
    Workload(
        name: "save 100 events in one save", repetitions: 100, events: 100, mire: { try await mireSave(100) },
        raw: { try rawSave(100) }),
    Workload(
        name: "load a 1,000-event stream", repetitions: 100, events: 1_000, mire: { try await mireLoad() },
        raw: { try rawLoad() }),
]

print("Mire event store vs hand-written SQL over raw libpq, same durable server, medians")
print("workload                          Mire µs   events/s      raw µs   events/s   Mire/raw")
let clock = ContinuousClock()
for workload in workloads {
    var mireTimes: [Duration] = []
    var rawTimes: [Duration] = []
    for _ in 0..<10 {
        try await workload.mire()
        try workload.raw()
    }
    for _ in 0..<workload.repetitions {
        mireTimes.append(try await clock.measure { try await workload.mire() })
        rawTimes.append(try clock.measure { try workload.raw() })
    }
    let m = micros(median(mireTimes))
    let r = micros(median(rawTimes))
    print(
        workload.name.padding(toLength: 32, withPad: " ", startingAt: 0)
            + String(
                format: "%9.0f %10.0f  %10.0f %10.0f  %8.2f×", m, Double(workload.events) / m * 1e6, r,
                Double(workload.events) / r * 1e6, m / r)
    )
}
await pool.shutdown()
