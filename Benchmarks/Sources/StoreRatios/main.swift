import DriverWorkloads
import Foundation
import Logging
import MirePQ
@_spi(Internals) import MirePostgres
import Synchronization

// The event store at the database's limit, measured in one run on one durable server:
//
// 1. Writes: pgbench running the plain-SQL equivalent (stream row + event), pgbench running
//    Mire's own save statements, and the library saving through EventStore, at 1, 8 and 16
//    writers, for new streams and existing ones. Ratios: Mire's statement / plain SQL, and the
//    library / its statement under pgbench.
// 2. A 100-event save vs the same work as one hand-written array insert over raw libpq.
// 3. Loading a 1,000-event aggregate vs a raw fetch of its rows.
//
// MIRE_BENCH_SECONDS (default 4) per write measurement, MIRE_BENCH_ROUNDS (default 3) rounds of
// every write measurement (medians), MIRE_BENCH_WRITERS (default 1,8,16).
// Results also go to results/store-ratios.json (for the charts).

let environment = ProcessInfo.processInfo.environment
let seconds = Int(environment["MIRE_BENCH_SECONDS"] ?? "") ?? 4
let rounds = max(1, Int(environment["MIRE_BENCH_ROUNDS"] ?? "") ?? 3)
let writerCounts = (environment["MIRE_BENCH_WRITERS"] ?? "1,8,16").split(separator: ",").compactMap { Int($0) }
let logger = Logger(label: "bench")

let configuration = try await BenchmarkServer.start()
let conninfo = BenchmarkServer.conninfo(configuration)
let setupPool = PGPool(configuration: configuration, maximumConnections: 2, logger: logger)
let setupStore = EventStore(pool: setupPool, logger: logger)
try await setupStore.migrate()
let pgbench = try PGBench(conninfo: conninfo)

// The payload of every written event: the ~170-byte note the pgbench baselines use.
let note =
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis"
let payloadLiteral = #"{"amount": 1, "note": "\#(note)"}"#

enum NoteEvent: Codable, Sendable {
    case noted(amount: Int64, note: String)
}

struct Notebook: Aggregate {
    static let category = "note"
    var count = 0
    mutating func apply(_ event: NoteEvent) { count += 1 }
}

// MARK: pgbench scripts

/// `sql` with its `$n` parameters replaced by pgbench expressions (highest number first, so `$1`
/// never eats the start of `$10`).
func pgbenchStatement(_ sql: String, _ values: [Int: String]) -> String {
    var text = sql
    for (number, value) in values.sorted(by: { $0.key > $1.key }) { text = text.replacing("$\(number)", with: value) }
    return text
}

let plainScript = """
    \\set s random(1, 9000000000000000000)
    WITH s AS (INSERT INTO mire_streams (stream_id, category, version) VALUES ('plain-' || :client_id || '-' || :s, 'plain', 1) RETURNING stream_id)
    INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload)
    SELECT s.stream_id, 1, 'plain', gen_random_uuid(), 'plain.deposited', '\(payloadLiteral)' FROM s;
    """

let eventValues: [Int: String] = [
    2: "'pgb'", 3: "gen_random_uuid()", 4: "'pgb.noted'", 5: "'\(payloadLiteral)'::jsonb", 6: "'{}'::jsonb",
]
let newStreamScript =
    "\\set s random(1, 9000000000000000000)\n"
    + pgbenchStatement(
        AppendStatement.newStreamSQL, eventValues.merging([1: "'pgn-' || :client_id || '-' || :s"]) { $1 }) + ";\n"
// Each client appends to its own stream and carries the version over with \gset.
let existingStreamScript =
    pgbenchStatement(
        AppendStatement.existingStreamSQL,
        eventValues.merging([1: "'pge-' || :run || '-' || :client_id", 7: ":stream_version"]) { $1 }) + "\n\\gset\n"

// MARK: The library

/// Saves per second through EventStore with `writers` concurrent writers for `seconds`.
func librarySaves(writers: Int, newStreams: Bool) async throws -> Double {
    let pool = PGPool(configuration: configuration, maximumConnections: writers, logger: logger)
    let store = EventStore(pool: pool, logger: logger)
    let run = UUID().uuidString.prefix(8).lowercased()
    var roots: [AggregateRoot<Notebook>] = []
    if !newStreams {
        for writer in 0..<writers {
            var root = try AggregateRoot<Notebook>(id: "lib-\(run)-\(writer)")
            root.record(.noted(amount: 1, note: note))
            try await store.save(&root)
            roots.append(root)
        }
    }
    // A second of warm-up (statements prepared, pool full), then the measured run.
    var measured = 0
    var elapsed = Duration.zero
    for phase in 0..<2 {
        let length: Duration = phase == 0 ? .seconds(1) : .seconds(seconds)
        let started = ContinuousClock.now
        let deadline = started + length
        let snapshot = roots
        let results = try await withThrowingTaskGroup(of: (Int, Int, AggregateRoot<Notebook>?).self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var saves = 0
                    if newStreams {
                        while ContinuousClock.now < deadline {
                            var root = try AggregateRoot<Notebook>(id: "lib-\(run)-\(writer)-\(phase)-\(saves)")
                            root.record(.noted(amount: 1, note: note))
                            try await store.save(&root)
                            saves += 1
                        }
                        return (writer, saves, nil)
                    }
                    var root = snapshot[writer]
                    while ContinuousClock.now < deadline {
                        root.record(.noted(amount: 1, note: note))
                        try await store.save(&root)
                        saves += 1
                    }
                    return (writer, saves, root)
                }
            }
            return try await group.reduce(into: [(Int, Int, AggregateRoot<Notebook>?)]()) { $0.append($1) }
        }
        for (writer, _, root) in results { if let root { roots[writer] = root } }
        if phase == 1 {
            measured = results.reduce(0) { $0 + $1.1 }
            elapsed = ContinuousClock.now - started
        }
    }
    await pool.shutdown()
    return Double(measured) / elapsed.seconds
}

// MARK: The floor of the design

/// How a floor client waits for libpq: on a thread of its own (as pgbench does; not allowed in
/// Mire, whose callers are on the cooperative pool), by handing the blocking call to a queue and
/// back (Mire's driver reduced to its two hand-offs), or by sending from the caller and reading
/// replies on an event-loop thread (one hand-off). `eventLoopWithStoreWork` is the event loop
/// plus the least client work any event store does per save, done alongside each statement: the
/// event encoded, a fresh event id, the statement's bindings (no pool, no result decoding).
enum FloorDesign: String, CaseIterable, Codable {
    case blockingThreads, queueHandoff, eventLoop, eventLoopWithStoreWork
}

/// The least client work of an event store's save, for `FloorDesign.eventLoopWithStoreWork`:
/// the event encoded by Mire's codec with a fresh id, and the statement's bindings, as
/// `AppendStatement.hot` makes them (it is internal to the store). The prototype then sends its
/// own copy of the same statement (pgbench's payload), so only the CPU is added.
func storeWorkOfOneSave(stream: String, version: Int64) throws -> PGQuery {
    let event = try NewEvent(Notebook.self, .noted(amount: 1, note: note))
    var bindings = PGBindings()
    bindings.append(stream)
    bindings.append("floor")
    bindings.append(event.metadata.eventID)
    bindings.append(event.type)
    bindings.append(PGJSONB(utf8: event.payload))
    bindings.append(PGJSONB(text: "{}"))
    bindings.append(version)
    return PGQuery(unsafeSQL: AppendStatement.existingStreamSQL, bindings: bindings)
}

/// Saves per writer thread, handed over when the last one finishes.
final class Tally: Sendable {
    private let state: Mutex<(counts: [Int], finished: Int)>
    init(writers: Int) { state = Mutex((Array(repeating: 0, count: writers), 0)) }
    /// Every count once all writers have finished, else nil.
    func finish(_ writer: Int, saves: Int) -> [Int]? {
        state.withLock { state in
            state.counts[writer] = saves
            state.finished += 1
            return state.finished == state.counts.count ? state.counts : nil
        }
    }
}

/// Mire's existing-stream statement (the same payload as pgbench's) with `writers` concurrent
/// clients and no Mire code: what any library that follows the design's rule can reach at best.
func floorSaves(writers: Int, design: FloorDesign) async throws -> Double {
    let run = UUID().uuidString.prefix(8).lowercased()
    let setup = try RawLibPQ(conninfo: conninfo)
    for writer in 0..<writers {
        try setup.run(
            "INSERT INTO mire_streams (stream_id, category, version) VALUES ($1, 'p', 0)", ["floor-\(run)-\(writer)"])
    }
    let sql = AppendStatement.existingStreamSQL
    switch design {
    case .blockingThreads:
        var measured = 0
        var elapsed = Duration.zero
        var versions = [Int64](repeating: 0, count: writers)
        let clients = try (0..<writers).map { _ in
            let client = try RawLibPQ(conninfo: conninfo)
            client.appendPayload = payloadLiteral
            return client
        }
        for phase in 0..<2 {
            let started = ContinuousClock.now
            let deadline = started + (phase == 0 ? .seconds(1) : .seconds(seconds))
            let counts = await withCheckedContinuation { (done: CheckedContinuation<[Int], Never>) in
                let tally = Tally(writers: writers)
                for writer in 0..<writers {
                    let version = versions[writer]
                    Thread.detachNewThread {
                        var saves = 0
                        while ContinuousClock.now < deadline {
                            try! clients[writer].appendPrepared(
                                sql, stream: "floor-\(run)-\(writer)", version: version + Int64(saves))
                            saves += 1
                        }
                        if let all = tally.finish(writer, saves: saves) { done.resume(returning: all) }
                    }
                }
            }
            for writer in 0..<writers { versions[writer] += Int64(counts[writer]) }
            if phase == 1 {
                measured = counts.reduce(0, +)
                elapsed = ContinuousClock.now - started
            }
        }
        return Double(measured) / elapsed.seconds
    case .queueHandoff, .eventLoop, .eventLoopWithStoreWork:
        let queues = try (0..<writers).map { _ in
            try QueueHandoffPrototype(conninfo: conninfo, sql: sql, payload: payloadLiteral)
        }
        let loops =
            design != .queueHandoff
            ? try (0..<writers).map { _ in try EventLoopPrototype(conninfo: conninfo, sql: sql, payload: payloadLiteral)
            }
            : []
        return try await concurrentSavesPerSecond(writers: writers) { writer, version in
            let stream = "floor-\(run)-\(writer)"
            if loops.isEmpty {
                try await queues[writer].append(sql: sql, stream: stream, version: version)
            } else if design == .eventLoopWithStoreWork {
                let query = try storeWorkOfOneSave(stream: stream, version: version)
                try await loops[writer].append(stream: stream, version: version)
                withExtendedLifetime(query) {}
            } else {
                try await loops[writer].append(stream: stream, version: version)
            }
        }
    }
}

/// The existing-stream statement through Mire's pool and connections, without the store: each
/// writer binds the statement as the store does (its event encoded, a fresh id) and runs it with
/// `pool.withConnection { $0.query(_, prepared: true) }`. Splits the library's cost between the
/// driver and the store (`MIRE_BENCH_PROFILE=driver`).
func driverSaves(writers: Int) async throws -> Double {
    let run = UUID().uuidString.prefix(8).lowercased()
    let pool = PGPool(configuration: configuration, maximumConnections: writers, logger: logger)
    try await pool.withConnection { connection in
        for writer in 0..<writers {
            try await connection.query(
                "INSERT INTO mire_streams (stream_id, category, version) VALUES (\("drv-\(run)-\(writer)"), 'floor', 0)"
            )
        }
    }
    let rate = try await concurrentSavesPerSecond(writers: writers) { writer, version in
        let query = try storeWorkOfOneSave(stream: "drv-\(run)-\(writer)", version: version)
        try await pool.withConnection { try await $0.query(query, prepared: true) }
    }
    await pool.shutdown()
    return rate
}

/// Saves per second by `writers` concurrent tasks, each calling `save(writer, version)` in a loop
/// with the version its stream is at (from 0): a second of warm-up, then `seconds` measured.
func concurrentSavesPerSecond(
    writers: Int, _ save: @escaping @Sendable (_ writer: Int, _ version: Int64) async throws -> Void
) async throws -> Double {
    var versions = [Int64](repeating: 0, count: writers)
    var rate = 0.0
    for phase in 0..<2 {
        let started = ContinuousClock.now
        let deadline = started + (phase == 0 ? .seconds(1) : .seconds(seconds))
        let start = versions
        let counts = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var saves = 0
                    while ContinuousClock.now < deadline {
                        try await save(writer, start[writer] + Int64(saves))
                        saves += 1
                    }
                    return (writer, saves)
                }
            }
            return try await group.reduce(into: [Int](repeating: 0, count: writers)) { $0[$1.0] = $1.1 }
        }
        for writer in 0..<writers { versions[writer] += Int64(counts[writer]) }
        if phase == 1 { rate = Double(counts.reduce(0, +)) / (ContinuousClock.now - started).seconds }
    }
    return rate
}

/// Streams `pge-<run>-<client>` at version 1, for pgbench's existing-stream script.
func prepareExistingStreams(clients: Int) async throws -> String {
    let run = UUID().uuidString.prefix(8).lowercased()
    for client in 0..<clients {
        let stream = try StreamID(category: "pge", id: "\(run)-\(client)")
        try await setupStore.append(
            [NewEvent(type: "pgb.noted", payload: Data(payloadLiteral.utf8))], to: stream, expecting: .noStream)
    }
    return run
}

// MARK: Writes

struct WriteRow: Codable {
    var writers: Int
    var plainPerSecond: Double
    var statementNewPerSecond: Double
    var statementExistingPerSecond: Double
    var libraryNewPerSecond: Double
    var libraryExistingPerSecond: Double
    /// The existing-stream statement with no Mire code, by design (see `FloorDesign`).
    var floorPerSecond: [String: Double]?
}

print(
    "Writes: one event per save, durable server, \(rounds) rounds of \(seconds) s each "
        + "(events/s, medians; ratios in parentheses, medians of each round's ratio)")
print(
    "writers  plain SQL  Mire stmt new  (/plain)  library new  (/stmt)  Mire stmt existing  library existing  (/stmt)")
var floorLines: [String] = []
var writeRows: [WriteRow] = []
/// The median of `values` (the upper one of an even count).
func medianOf(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

// MIRE_BENCH_PROFILE=existing|new: only the library's saves, for a profiler (no comparison);
// =queueHandoff|eventLoop|…: only that floor design. Prints saves/s and this process's CPU per save.
if let profiled = environment["MIRE_BENCH_PROFILE"] {
    for writers in writerCounts {
        let clientBefore = ClientCPU.microseconds()
        let rate =
            if let design = FloorDesign(rawValue: profiled) {
                try await floorSaves(writers: writers, design: design)
            } else if profiled == "driver" {
                try await driverSaves(writers: writers)
            } else {
                try await librarySaves(writers: writers, newStreams: profiled == "new")
            }
        // CPU per save over the warm-up second and the measured run, both at about this rate.
        let saves = rate * Double(seconds + 1)
        print(
            String(
                format: "%@, %d writers: %.0f saves/s, client CPU %.1f µs per save", profiled, writers, rate,
                (ClientCPU.microseconds() - clientBefore) / saves))
    }
    exit(0)
}

for writers in writerCounts {
    // Each round measures everything once, in the same order; a figure is the median over the
    // rounds, and a ratio the median of the rounds' own ratios (this machine drifts by ±15%
    // within minutes, so each ratio compares measurements taken seconds apart).
    var samples: [String: [Double]] = [:]
    for _ in 0..<rounds {
        samples["statementNew", default: []].append(
            try pgbench.transactionsPerSecond(script: newStreamScript, clients: writers, seconds: seconds))
        samples["libraryNew", default: []].append(try await librarySaves(writers: writers, newStreams: true))
        let run = try await prepareExistingStreams(clients: writers)
        samples["statementExisting", default: []].append(
            try pgbench.transactionsPerSecond(
                script: existingStreamScript, clients: writers, seconds: seconds,
                variables: ["run": run, "stream_version": "1"]))
        samples["libraryExisting", default: []].append(try await librarySaves(writers: writers, newStreams: false))
        for design in FloorDesign.allCases {
            samples[design.rawValue, default: []].append(try await floorSaves(writers: writers, design: design))
        }
        samples["plain", default: []].append(
            try pgbench.transactionsPerSecond(script: plainScript, clients: writers, seconds: seconds))
    }
    func figure(_ key: String) -> Double { medianOf(samples[key]!) }
    func ratio(_ key: String, to base: String) -> Double {
        medianOf(zip(samples[key]!, samples[base]!).map { $0 / $1 })
    }
    let floor = Dictionary(uniqueKeysWithValues: FloorDesign.allCases.map { ($0.rawValue, figure($0.rawValue)) })
    let row = WriteRow(
        writers: writers, plainPerSecond: figure("plain"), statementNewPerSecond: figure("statementNew"),
        statementExistingPerSecond: figure("statementExisting"), libraryNewPerSecond: figure("libraryNew"),
        libraryExistingPerSecond: figure("libraryExisting"), floorPerSecond: floor)
    floorLines.append(
        String(
            format: "%7d  %18.0f  %15.0f (%.2f×)  %15.0f (%.2f×)  %13.0f (%.2f×)  %22.0f (%.2f×)  %16.0f (%.2f×)",
            writers, figure("statementExisting"), figure("blockingThreads"),
            ratio("blockingThreads", to: "statementExisting"), figure("queueHandoff"),
            ratio("queueHandoff", to: "statementExisting"), figure("eventLoop"),
            ratio("eventLoop", to: "statementExisting"), figure("eventLoopWithStoreWork"),
            ratio("eventLoopWithStoreWork", to: "statementExisting"), figure("libraryExisting"),
            ratio("libraryExisting", to: "statementExisting")))
    writeRows.append(row)
    print(
        String(
            format: "%7d  %9.0f  %13.0f  (%.2f×)  %11.0f  (%.2f×)  %18.0f  %16.0f  (%.2f×)", writers, figure("plain"),
            figure("statementNew"), ratio("statementNew", to: "plain"), figure("libraryNew"),
            ratio("libraryNew", to: "statementNew"), figure("statementExisting"), figure("libraryExisting"),
            ratio("libraryExisting", to: "statementExisting")))
    print(
        "         rounds: "
            + samples.keys.sorted().map { key in
                "\(key) " + samples[key]!.map { String(format: "%.0f", $0) }.joined(separator: "/")
            }.joined(separator: ", "))
}

print("\nThe design's floor: the existing-stream statement, no Mire code (saves/s; / pgbench running it)")
print(
    "writers  statement (pgbench)  blocking threads       queue hand-off        event loop"
        + "  event loop + store work       library (Mire)")
for line in floorLines { print(line) }

// MARK: A 100-event save and a 1,000-event load, against raw libpq

struct TimedRow: Codable {
    var name: String
    var mireMicroseconds: Double
    var rawMicroseconds: Double
}

/// Both sides of the one-connection workloads. Used by one task only (the detached task below):
/// it is never shared, so `@unchecked Sendable` only carries it there.
final class OneConnection: @unchecked Sendable {
    let store: EventStore
    let raw: RawLibPQ
    var rawVersion: Int64 = 0
    var ledger: AggregateRoot<Ledger>

    init(store: EventStore, raw: RawLibPQ) async throws {
        self.store = store
        self.raw = raw
        try raw.run("INSERT INTO mire_streams (stream_id, category, version) VALUES ('raw-1', 'raw', 0)", [])
        ledger = try await store.loadOrDefault(Ledger.self, id: "bench-1")
        // A 1,000-event stream to load.
        var long = try await store.loadOrDefault(Ledger.self, id: "long")
        for _ in 0..<1_000 { long.record(.deposited(amount: 1)) }
        try await store.save(&long)
    }

    /// Raw equivalent of one save: version check, stream row advanced, events inserted — one statement.
    static let rawAppend = """
        WITH s AS (
            UPDATE mire_streams SET version = version + array_length($3::text[], 1)
            WHERE stream_id = $1 AND version = $2::int8 RETURNING version - array_length($3::text[], 1) AS base
        )
        INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload)
        SELECT $1, s.base + i.ord, 'raw', gen_random_uuid(), 'raw.deposited', i.payload::jsonb
        FROM s, unnest($3::text[]) WITH ORDINALITY AS i(payload, ord)
        RETURNING global_position
        """

    func rawSave(_ count: Int) throws {
        let payloads = "{" + Array(repeating: #""{\"amount\": 1}""#, count: count).joined(separator: ",") + "}"
        let inserted = try raw.run(Self.rawAppend, ["raw-1", String(rawVersion), payloads])
        precondition(inserted == count, "the raw version check failed")
        rawVersion += Int64(count)
    }

    func mireSave(_ count: Int) async throws {
        var root = ledger
        for _ in 0..<count { root.record(.deposited(amount: 1)) }
        try await store.save(&root)
        ledger = root
    }

    func mireLoad() async throws {
        let loaded = try await store.load(Ledger.self, id: "long")
        precondition(loaded?.state.total == 1_000)
    }

    func rawLoad() throws {
        let rows = try raw.run(
            "SELECT stream_version, event_type, payload FROM mire_events WHERE stream_id = $1 ORDER BY stream_version",
            ["ledger-long"])
        precondition(rows == 1_000)
    }

    /// Medians of `repetitions` alternating runs of each side, after 20 of each to warm up.
    func time(
        _ name: String, repetitions: Int, mire: (OneConnection) async throws -> Void,
        raw: (OneConnection) throws -> Void
    ) async throws -> TimedRow {
        func micros(_ duration: Duration) -> Double {
            Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
        }
        let clock = ContinuousClock()
        var mireTimes: [Duration] = []
        var rawTimes: [Duration] = []
        for _ in 0..<20 {
            try await mire(self)
            try raw(self)
        }
        for _ in 0..<repetitions {
            mireTimes.append(try await clock.measure { try await mire(self) })
            rawTimes.append(try clock.measure { try raw(self) })
        }
        return TimedRow(
            name: name, mireMicroseconds: micros(mireTimes.sorted()[repetitions / 2]),
            rawMicroseconds: micros(rawTimes.sorted()[repetitions / 2]))
    }
}

let pool = PGPool(configuration: configuration, maximumConnections: 1, logger: logger)
let store = EventStore(pool: pool, logger: logger)
let raw = try RawLibPQ(conninfo: conninfo)
// Off the main actor, as a server's request handlers run: the main actor is one thread of its
// own, and every await there ends with a hop back to it.
let timedRows = try await Task.detached {
    let sides = try await OneConnection(store: store, raw: raw)
    return [
        try await sides.time(
            "save 100 events in one save", repetitions: 200, mire: { try await $0.mireSave(100) },
            raw: { try $0.rawSave(100) }),
        try await sides.time(
            "load a 1,000-event stream", repetitions: 200, mire: { try await $0.mireLoad() },
            raw: { try $0.rawLoad() }),
    ]
}.value
print("\nOne connection, medians (raw/Mire: 1.00 = no overhead)")
print("workload                          Mire µs      raw µs   raw/Mire")
for row in timedRows {
    print(
        row.name.padding(toLength: 32, withPad: " ", startingAt: 0)
            + String(
                format: "%9.0f  %10.0f  %8.2f×", row.mireMicroseconds, row.rawMicroseconds,
                row.rawMicroseconds / row.mireMicroseconds))
}
await pool.shutdown()
await setupPool.shutdown()

struct Results: Codable {
    var seconds: Int
    var rounds: Int
    var writes: [WriteRow]
    var timed: [TimedRow]
}
try BenchmarkResults.write(
    Results(seconds: seconds, rounds: rounds, writes: writeRows, timed: timedRows), as: "store-ratios")
