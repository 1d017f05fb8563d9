import Foundation
public import MirePQ
import Synchronization

/// The log the catch-up benchmarks read: `count` `ledger.deposited` events spread over 1,000
/// streams `ledger-0…999` (versions 1…count/1000), written by one SQL script and analysed.
public func writeLedgerLog(events count: Int, on pool: PGPool, then extraSQL: String = "") async throws {
    print("writing \(count) events across 1,000 streams…")
    try await pool.withConnection { connection in
        try await connection.executeScript(
            """
            INSERT INTO mire_streams (stream_id, category, version)
            SELECT 'ledger-' || s, 'ledger', \(count) / 1000 FROM generate_series(0, 999) s;
            INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload)
            SELECT 'ledger-' || (g % 1000), g / 1000 + 1, 'ledger', gen_random_uuid(), 'ledger.deposited', '{"amount": 1}'
            FROM generate_series(0, \(count - 1)) g;
            \(extraSQL)
            ANALYZE mire_events;
            """
        )
    }
}

/// When each probe event (by position) reached its consumer, for latency benchmarks.
public final class Arrivals: Sendable {
    /// Arrival time by global position.
    public let times = Mutex<[Int64: ContinuousClock.Instant]>([:])

    /// An empty record.
    public init() {}
}

/// The value at fraction `p` (0…1) of `sorted`.
public func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}
