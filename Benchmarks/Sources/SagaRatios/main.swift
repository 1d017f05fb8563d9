import DriverWorkloads
import Foundation
import Logging
import MirePQ
import MireSagas

// Saga steps per second: a three-step process manager (debit the source, credit the
// destination, complete the payment: each step one delivery transaction that reads the event,
// loads the process's state, locks and loads an aggregate, appends an event, stores the state
// and moves the checkpoint) run by ProcessManagerRunner with 1 and with 4 partitions; beside the
// same step written by hand over raw libpq (read the next event, BEGIN, read the state, lock the
// stream row, insert the event, advance the stream row, upsert the state, advance a checkpoint,
// COMMIT) by 1 and by 4 clients. Durable server. MIRE_BENCH_ROUNDS (default 3) rounds of
// MIRE_BENCH_PROCESSES (default 300) processes per side.

let environment = ProcessInfo.processInfo.environment
let rounds = max(1, Int(environment["MIRE_BENCH_ROUNDS"] ?? "") ?? 3)
let processCount = max(10, Int(environment["MIRE_BENCH_PROCESSES"] ?? "") ?? 300)
let accountCount = 200

enum LedgerEvent: Codable, Sendable {
    case credited(Int64, payment: String)
    case debited(Int64, payment: String)
}
struct Ledger: Aggregate {
    static let category = "ledger"
    var balance: Int64 = 0
    mutating func apply(_ event: LedgerEvent) {
        switch event {
        case .credited(let amount, _): balance += amount
        case .debited(let amount, _): balance -= amount
        }
    }
}

enum PaymentEvent: Codable, Sendable {
    case requested(from: String, to: String, amount: Int64)
    case completed
}
/// A payment request; the category names which saga (by partitions) takes it.
protocol PaymentKind: Aggregate where Event == PaymentEvent {}
struct Payment1: PaymentKind {
    static let category = "payment1"
    mutating func apply(_ event: PaymentEvent) {}
}
struct Payment4: PaymentKind {
    static let category = "payment4"
    mutating func apply(_ event: PaymentEvent) {}
}

/// Debit, credit, complete.
protocol PaymentSaga: ProcessManager {
    associatedtype Kind: PaymentKind
    var from: String { get set }
    var to: String { get set }
    var amount: Int64 { get set }
}
extension PaymentSaga {
    static func processID(for event: RawRecordedEvent) throws -> String? {
        if event.stream.category == Kind.category { return event.stream.entityID }
        guard event.stream.category == Ledger.category else { return nil }
        switch try event.decode(as: Ledger.self).event {
        case .credited(_, let payment), .debited(_, let payment):
            return payment.hasPrefix(Kind.category + ":") ? String(payment.dropFirst(Kind.category.count + 1)) : nil
        }
    }
    func handle(_ event: RawRecordedEvent) throws -> [ProcessReaction] {
        let id = try Self.processID(for: event) ?? ""
        let reference = Kind.category + ":" + id
        if event.stream.category == Kind.category {
            guard case .requested(let from, _, let amount) = try event.decode(as: Kind.self).event else { return [] }
            return [.command(Ledger.self, id: from) { $0.record(.debited(amount, payment: reference)) }]
        }
        switch try event.decode(as: Ledger.self).event {
        case .debited:
            let (to, amount) = (self.to, self.amount)
            return [.command(Ledger.self, id: to) { $0.record(.credited(amount, payment: reference)) }]
        case .credited:
            return [.command(Kind.self, id: id) { $0.record(.completed) }]
        }
    }
    mutating func apply(_ event: RawRecordedEvent) throws {
        if event.stream.category == Kind.category,
            case .requested(let from, let to, let amount) = try event.decode(as: Kind.self).event
        {
            (self.from, self.to, self.amount) = (from, to, amount)
        }
    }
}
struct PaymentSaga1: PaymentSaga {
    typealias Kind = Payment1
    static let name = "payment_saga_1"
    var from = "", to = "", amount: Int64 = 0
}
struct PaymentSaga4: PaymentSaga {
    typealias Kind = Payment4
    static let name = "payment_saga_4"
    var from = "", to = "", amount: Int64 = 0
}

let logger = Logger(label: "bench")
let (configuration, pool, store) = try await BenchmarkServer.store(
    maximumConnections: 12, configuration: .init(wakeUpChannel: nil))

// Accounts for both sides: Mire's as aggregates, raw's as plain stream rows with one event.
var opening: [StreamAppend] = []
for index in 0..<accountCount {
    opening.append(
        StreamAppend(
            stream: try StreamID(category: "ledger", id: "\(index)"), expecting: .noStream,
            events: [try NewEvent(Ledger.self, .credited(1_000_000, payment: "-"))]))
    opening.append(
        StreamAppend(
            stream: try StreamID(category: "raw", id: "\(index)"), expecting: .noStream,
            events: [NewEvent(type: "raw.credited", payload: Data(#"{"amount":1000000}"#.utf8))]))
}
try await store.append(opening, inBatchesOf: 200)

/// Requests `processCount` payments of `kind` (ids of round `round`), then runs its saga until
/// every one completed.
func mireSteps<Saga: PaymentSaga>(_ saga: Saga.Type, partitions: Int, round: Int) async throws -> Double {
    var requests: [StreamAppend] = []
    for index in 0..<processCount {
        let from = Int.random(in: 0..<accountCount)
        var to = Int.random(in: 0..<accountCount)
        while to == from { to = Int.random(in: 0..<accountCount) }
        requests.append(
            StreamAppend(
                stream: try StreamID(category: Saga.Kind.category, id: "r\(round)-\(index)"), expecting: .noStream,
                events: [try NewEvent(Saga.Kind.self, .requested(from: "\(from)", to: "\(to)", amount: 1))]))
    }
    try await store.append(requests, inBatchesOf: 100)
    var runnerConfiguration = ProcessManagerRunner<Saga>.Configuration(workerID: "bench")
    runnerConfiguration.partitions = partitions
    runnerConfiguration.delivery.wakeUpChannel = nil
    runnerConfiguration.delivery.pollInterval = .milliseconds(20)
    let runner = ProcessManagerRunner(Saga.self, store: store, configuration: runnerConfiguration, logger: logger)
    let last = "r\(round)-"
    // As a service (its run()), the way an application runs it; the clock stops when the last
    // payment completed.
    let clock = ContinuousClock()
    let started = clock.now
    let running = Task { try await runner.run() }
    while true {
        let done = try await pool.withConnection { connection in
            try await connection.query(
                """
                SELECT count(*) FROM mire_events
                WHERE category = \(Saga.Kind.category) AND event_type = \(Saga.Kind.category + ".completed")
                  AND stream_id LIKE \(Saga.Kind.category + "-" + last + "%")
                """
            ).single(Int64.self)
        }
        if done == processCount { break }
        try await Task.sleep(for: .milliseconds(10))
    }
    let elapsed = clock.now - started
    running.cancel()
    _ = try? await running.value
    return Double(3 * processCount)
        / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

/// One step by hand, on `raw`, as client `client`.
func rawStep(_ raw: RawLibPQ, client: Int, process: String) throws {
    let account = "raw-\(Int.random(in: 0..<accountCount))"
    _ = try raw.run(
        "SELECT global_position, payload FROM mire_events WHERE global_position > $1 ORDER BY global_position LIMIT 1",
        ["0"])
    _ = try raw.run("BEGIN", [])
    _ = try raw.run(
        "SELECT state, events_handled FROM mire_process_states WHERE process_manager = 'raw' AND process_id = $1",
        [process])
    _ = try raw.run("SELECT version FROM mire_streams WHERE stream_id = $1 FOR UPDATE", [account])
    _ = try raw.run(
        """
        INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload)
        SELECT stream_id, version + 1, 'raw', gen_random_uuid(), 'raw.debited', '{"debited":{"_0":1,"payment":"x"}}'
        FROM mire_streams WHERE stream_id = $1
        """, [account])
    _ = try raw.run("UPDATE mire_streams SET version = version + 1, updated_at = now() WHERE stream_id = $1", [account])
    _ = try raw.run(
        """
        INSERT INTO mire_process_states (process_manager, process_id, state, events_handled, last_event_id)
        VALUES ('raw', $1, '{"from":"1","to":"2","amount":1}', 1, gen_random_uuid())
        ON CONFLICT (process_manager, process_id) DO UPDATE SET
            state = EXCLUDED.state, events_handled = mire_process_states.events_handled + 1, updated_at = now()
        """, [process])
    _ = try raw.run(
        "UPDATE mire_subscriptions SET cursor_position = cursor_position + 1, events_handled = events_handled + 1 WHERE name = $1",
        ["raw-\(client)"])
    _ = try raw.run("COMMIT", [])
}

func rawSteps(clients: Int, round: Int) async throws -> Double {
    try await RawClients.rate(
        conninfo: BenchmarkServer.conninfo(configuration), clients: clients, total: 3 * processCount,
        prepare: { raw, client in
            _ = try raw.run(
                "INSERT INTO mire_subscriptions (name) VALUES ($1) ON CONFLICT DO NOTHING", ["raw-\(client)"])
        },
        unit: { raw, client, step in
            try rawStep(raw, client: client, process: "\(round)-\(client)-\(step / 3)")
        })
}

print("Saga steps per second: ProcessManagerRunner vs the same step by hand over raw libpq (durable server)")
print(
    "workers   Mire/s    raw/s   Mire/raw   (\(processCount) processes × 3 steps per round; medians of \(rounds) rounds)"
)
var results: [[String: Double]] = []
var round = 0
for workers in [1, 4] {
    var measured = RoundRatios()
    for _ in 0..<rounds {
        round += 1
        measured.mire.append(
            workers == 1
                ? try await mireSteps(PaymentSaga1.self, partitions: 1, round: round)
                : try await mireSteps(PaymentSaga4.self, partitions: 4, round: round))
        measured.raw.append(try await rawSteps(clients: workers, round: round))
    }
    measured.print(label: workers)
    results.append([
        "workers": Double(workers), "mire": median(measured.mire), "raw": median(measured.raw),
        "ratio": measured.ratio,
    ])
}
await pool.shutdown()
