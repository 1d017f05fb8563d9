import DriverWorkloads
import Foundation
import Logging
import MireMacros
import MirePQ
import MireTransactions

// Transfers per second through MireTransactions vs the same two-account transaction written by
// hand over raw libpq (lock both stream rows, insert two events, advance two stream rows), at 1 and
// 8 concurrent clients, on the same durable server. MIRE_BENCH_ROUNDS (default 5) rounds of 1,000
// (one client) or 4,000 (eight) transfers per side.

let rounds = max(1, Int(ProcessInfo.processInfo.environment["MIRE_BENCH_ROUNDS"] ?? "") ?? 5)

/// With a generated decoder (`@MireEvent`), as the bank's account events have.
@MireEvent
enum LedgerEvent: Codable, Sendable {
    case credited(Int64)
    case debited(Int64)
}
struct Ledger: Aggregate {
    static let category = "ledger"
    var balance: Int64 = 0
    mutating func apply(_ event: LedgerEvent) {
        switch event {
        case .credited(let amount): balance += amount
        case .debited(let amount): balance -= amount
        }
    }
}

let accountCount = 1_000
let (configuration, pool, store) = try await BenchmarkServer.store(maximumConnections: 8)

// Accounts for both sides: Mire's as aggregates, raw's as plain stream rows with one event.
var opening: [StreamAppend] = []
for index in 0..<accountCount {
    opening.append(
        StreamAppend(
            stream: try StreamID(category: "ledger", id: "\(index)"), expecting: .noStream,
            events: [try NewEvent(Ledger.self, .credited(1_000_000))]))
    opening.append(
        StreamAppend(
            stream: try StreamID(category: "raw", id: "\(index)"), expecting: .noStream,
            events: [NewEvent(type: "raw.credited", payload: Data("{\"amount\":1000000}".utf8))]))
}
try await store.append(opening, inBatchesOf: 200)

func randomPair() -> (Int, Int) {
    let a = Int.random(in: 0..<accountCount)
    var b = Int.random(in: 0..<accountCount)
    while b == a { b = Int.random(in: 0..<accountCount) }
    return (a, b)
}

let options = TransactionOptions(lockTimeout: .seconds(5), retry: RetryPolicy(maximumAttempts: 10))
func mireTransfer() async throws {
    let (a, b) = randomPair()
    try await store.transaction(options) { tx in
        // As the bank does it: both rows locked (in id order) and loaded in one round trip, both
        // saved in one more, then COMMIT.
        let ids = ["\(a)", "\(b)"].sorted()
        let locked = try await tx.loadForUpdate(Ledger.self, ids: ids)
        guard var first = locked[ids[0]], var second = locked[ids[1]] else { throw MissingAccount() }
        first.record(.debited(1))
        second.record(.credited(1))
        var both = [first, second]
        try await tx.save(&both)
    }
}

struct MissingAccount: Error {}

func rawTransfer(_ raw: RawLibPQ) throws {
    let (a, b) = randomPair()
    let ids = ["raw-\(a)", "raw-\(b)"].sorted()
    try raw.run("BEGIN", [])
    try raw.run("SELECT version FROM mire_streams WHERE stream_id IN ($1, $2) ORDER BY stream_id FOR UPDATE", ids)
    try raw.run(
        """
        INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload)
        SELECT s.stream_id, s.version + 1, 'raw', gen_random_uuid(),
               CASE WHEN s.stream_id = $1 THEN 'raw.debited' ELSE 'raw.credited' END, '{"amount":1}'
        FROM mire_streams s WHERE s.stream_id IN ($1, $2)
        """, ids)
    try raw.run("UPDATE mire_streams SET version = version + 1, updated_at = now() WHERE stream_id IN ($1, $2)", ids)
    try raw.run("COMMIT", [])
}

func mireRate(clients: Int, transfers: Int) async throws -> Double {
    let clock = ContinuousClock()
    let elapsed = try await clock.measure {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                let share = transfers / clients + (client < transfers % clients ? 1 : 0)
                group.addTask { for _ in 0..<share { try await mireTransfer() } }
            }
            try await group.waitForAll()
        }
    }
    return Double(transfers) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

func rawRate(clients: Int, transfers: Int) async throws -> Double {
    try await RawClients.rate(
        conninfo: BenchmarkServer.conninfo(configuration), clients: clients, total: transfers
    ) { raw, _, _ in try rawTransfer(raw) }
}

print(
    "Transfers per second: MireTransactions vs hand-written SQL over raw libpq (durable server, \(accountCount) accounts)"
)
print("clients   Mire/s    raw/s   Mire/raw   (medians of \(rounds) rounds; the ratio is the median of each round's)")
for clients in [1, 8] {
    let transfers = clients == 1 ? 1_000 : 4_000
    _ = try await mireRate(clients: clients, transfers: 50)  // warm-up
    _ = try await rawRate(clients: clients, transfers: 50)
    var measured = RoundRatios()
    var serverMicroseconds: (mire: [Double], raw: [Double]) = ([], [])
    for _ in 0..<rounds {
        var started = ServerCPU.seconds()
        measured.mire.append(try await mireRate(clients: clients, transfers: transfers))
        serverMicroseconds.mire.append((ServerCPU.seconds() - started) * 1e6 / Double(transfers))
        started = ServerCPU.seconds()
        measured.raw.append(try await rawRate(clients: clients, transfers: transfers))
        serverMicroseconds.raw.append((ServerCPU.seconds() - started) * 1e6 / Double(transfers))
    }
    measured.print(label: clients)
    print(
        String(
            format: "         server CPU per transfer (medians): Mire %.0f µs, raw %.0f µs",
            median(serverMicroseconds.mire), median(serverMicroseconds.raw)))
}
await pool.shutdown()
