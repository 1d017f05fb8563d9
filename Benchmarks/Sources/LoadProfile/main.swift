import DriverWorkloads
import Foundation
import Logging
import MireCore
@_spi(Internals) import MireCore
import MirePQ
import MirePostgres

// Where a 1,000-event load's time goes, layer by layer: the raw fetch over libpq, Mire's page
// statement, + reading the columns, + decoding the events, and EventStore.load (with the
// generated decoder of @MireEvent); then decoding alone (no database), the load with synthesized
// Codable only, and the load in pages of 256. ROUNDS (default 200) loads per layer,
// interleaved; medians of wall time and of this process's CPU time (all its threads: the
// client's whole cost, the server's excluded). Also a target for profilers (ONLY=n runs layer n
// alone).

let environment = ProcessInfo.processInfo.environment
let rounds = Int(environment["ROUNDS"] ?? "") ?? 200
let only = environment["ONLY"].flatMap(Int.init)
let configuration = try await BenchmarkServer.start()
let logger = Logger(label: "profile")

try await Task.detached {
    let pool = PGPool(configuration: configuration, maximumConnections: 1, logger: logger)
    let store = EventStore(pool: pool, logger: logger)
    try await store.migrate()
    var long = try await store.loadOrDefault(Ledger.self, id: "long")
    for _ in 0..<1_000 { long.record(.deposited(amount: 1)) }
    try await store.save(&long)
    let raw = try RawLibPQ(conninfo: BenchmarkServer.conninfo(configuration))
    let connection = try await PGConnection.connect(configuration: configuration, logger: logger)
    let page: PGQuery = """
        SELECT s.version, e.stream_version, e.global_position, e.event_type, e.payload
        FROM mire_streams s
        LEFT JOIN LATERAL (
            SELECT stream_version, global_position, event_type, payload FROM mire_events e
            WHERE e.stream_id = s.stream_id AND e.stream_version > \(Int64(0)) AND e.stream_version <= \(Int64.max)
            ORDER BY e.stream_version LIMIT \(Int64(1000))
        ) e ON true
        WHERE s.stream_id = \("ledger-long")
        """
    let codec = EventCodec<Ledger>()
    let names = [
        "raw libpq fetch", "Mire page statement", "+ read columns", "+ decode events", "EventStore.load",
        "decode only, in memory", "EventStore.load, Codable", "EventStore.load, pages of 256",
    ]
    let pagedStore = EventStore(pool: pool, configuration: EventStore.Configuration(loadPageSize: 256), logger: logger)
    let payloads = (0..<1_000).map { Data("{\"amount\":\($0 + 1)}".utf8) }
    var times: [Int: [Double]] = [:]
    var cpu: [Int: [Double]] = [:]
    for round in 0..<(rounds + 10) {
        for index in names.indices where only == nil || only == index {
            let started = ContinuousClock.now
            let cpuStarted = ClientCPU.microseconds()
            switch index {
            case 0:
                let count = try raw.run(
                    "SELECT stream_version, event_type, payload FROM mire_events WHERE stream_id = $1 ORDER BY stream_version",
                    ["ledger-long"])
                precondition(count == 1_000)
            case 1:
                let count = try await connection.query(page, prepared: true).count
                precondition(count == 1_000)
            case 2, 3:
                var total: Int64 = 0
                for row in try await connection.query(page, prepared: true) {
                    let version = try row.decode(Int64.self, at: 1)
                    let position = try row.decode(Int64.self, at: 2)
                    let type = try row.decode(String.self, at: 3)
                    let payload = try row.decode(PGJSONB.self, at: 4)
                    if index == 3 {
                        if case .deposited(let amount) = try codec.decode(
                            type: type, payload: payload.utf8, stream: "ledger-long", version: version,
                            position: position)
                        {
                            total += amount
                        }
                    } else {
                        total += version + position + Int64(type.utf8.count + payload.utf8.count)
                    }
                }
                precondition(total > 0)
            case 5:
                var total: Int64 = 0
                for (offset, payload) in payloads.enumerated() {
                    if case .deposited(let amount) = try codec.decode(
                        type: "ledger.deposited", payload: payload, stream: "ledger-long", version: Int64(offset),
                        position: Int64(offset))
                    {
                        total += amount
                    }
                }
                precondition(total == 500_500)
            case 7:
                let total = try await pagedStore.load(Ledger.self, id: "long")?.state.total
                precondition(total == 1_000)
            case 6:
                let total = try await store.load(PlainLedger.self, id: "long")?.state.total
                precondition(total == 1_000)
            default:
                let total = try await store.load(Ledger.self, id: "long")?.state.total
                precondition(total == 1_000)
            }
            if round >= 10 {
                times[index, default: []].append((ContinuousClock.now - started).seconds * 1e6)
                cpu[index, default: []].append(ClientCPU.microseconds() - cpuStarted)
            }
        }
    }
    for index in names.indices where times[index] != nil {
        let sorted = times[index]!.sorted()
        let cpuSorted = cpu[index]!.sorted()
        print(
            names[index].padding(toLength: 24, withPad: " ", startingAt: 0)
                + String(
                    format: "%8.0f µs  client CPU %6.0f µs", sorted[sorted.count / 2], cpuSorted[cpuSorted.count / 2]))
    }
    await connection.close()
    await pool.shutdown()
}.value

/// The benchmark's ledger without `@MireEvent`: the same stream decoded by synthesized Codable.
enum PlainLedgerEvent: Codable, Sendable {
    case deposited(amount: Int64)
}

struct PlainLedger: Aggregate {
    static let category = "ledger"
    var total: Int64 = 0
    mutating func apply(_ event: PlainLedgerEvent) {
        if case .deposited(let amount) = event { total += amount }
    }
}
