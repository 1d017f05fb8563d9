import DriverWorkloads
import Foundation
import Logging
import MirePQ
import MirePostgres

// Replays one stream of EVENTS (default 1,000,000) events and reports this process's peak
// resident memory: loads decode and fold a page at a time, so the peak stays flat however long
// the stream. The events are written by the server itself (generate_series), so nothing but
// the replay raises this process's memory.

let environment = ProcessInfo.processInfo.environment
let events = Int(environment["EVENTS"] ?? "") ?? 1_000_000
let configuration = try await BenchmarkServer.start()
let logger = Logger(label: "bench")

func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}

try await Task.detached {
    let pool = PGPool(configuration: configuration, maximumConnections: 1, logger: logger)
    let store = EventStore(pool: pool, logger: logger)
    try await store.migrate()
    try await pool.withConnection { connection in
        try await connection.executeScript(
            """
            INSERT INTO mire_streams (stream_id, category, version) VALUES ('ledger-million', 'ledger', \(events));
            INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload)
            SELECT 'ledger-million', g, 'ledger', gen_random_uuid(), 'ledger.deposited', '{"amount": 1}'
            FROM generate_series(1, \(events)) g;
            """)
    }
    let before = peakResidentMegabytes()
    let started = ContinuousClock.now
    let loaded = try await store.load(Ledger.self, id: "million")
    let elapsed = ContinuousClock.now - started
    precondition(loaded?.state.total == Int64(events) && loaded?.version == Int64(events))
    let peak = peakResidentMegabytes()
    print(
        String(
            format: "replayed %d events in %.2f s (%.0f events/s); peak RSS %.1f MB (%.1f MB before the replay)",
            events, elapsed.seconds, Double(events) / elapsed.seconds, peak, before))
    struct Results: Codable {
        var events: Int
        var seconds: Double
        var peakResidentMegabytes: Double
        var residentBeforeMegabytes: Double
    }
    try BenchmarkResults.write(
        Results(events: events, seconds: elapsed.seconds, peakResidentMegabytes: peak, residentBeforeMegabytes: before),
        as: "replay-memory")
    await pool.shutdown()
}.value
