import CLibPQRaw
import DriverWorkloads
import Foundation
import Logging
import MirePQ
@_spi(Internals) import MirePostgres

// Where a save's time goes, layer by layer, on one connection: the save statement through raw
// libpq (binary parameters, prepared), through a Mire connection, through the pool, and through
// EventStore.save; then three prototypes of the driver's thread hand-offs with no Mire code (a
// closure handed to a queue that resumes a continuation; a non-blocking send by the caller with
// one event-loop thread reading replies; an actor on a private queue, Mire's shape); and three
// statements in one pooled scope (a short transaction's hand-offs). Rounds of CHUNK (default 500) saves per layer, ROUNDS (default 10)
// rounds, layers interleaved; medians. DURABLE=0 for a server that does not wait for the disk (the
// client's share then stands out). Also a target for profilers.

let environment = ProcessInfo.processInfo.environment
let chunk = Int(environment["CHUNK"] ?? "") ?? 500
let rounds = Int(environment["ROUNDS"] ?? "") ?? 10
let configuration = try await BenchmarkServer.start(durable: environment["DURABLE"] != "0")
let logger = Logger(label: "profile")

try await Task.detached {
    let pool = PGPool(configuration: configuration, maximumConnections: 1, logger: logger)
    var storeConfiguration = EventStore.Configuration()
    if environment["WAKEUPS"] == "0" { storeConfiguration.wakeUpChannel = nil }
    let store = EventStore(pool: pool, configuration: storeConfiguration, logger: logger)
    try await store.migrate()
    let raw = try RawLibPQ(conninfo: BenchmarkServer.conninfo(configuration))
    let connection = try await PGConnection.connect(configuration: configuration, logger: logger)
    let conninfo = BenchmarkServer.conninfo(configuration)
    let queueHandoff = try QueueHandoffPrototype(conninfo: conninfo, sql: AppendStatement.existingStreamSQL)
    let eventLoop = try EventLoopPrototype(conninfo: conninfo, sql: AppendStatement.existingStreamSQL)
    let actorHandoff = try ActorHandoffPrototype(conninfo: conninfo, sql: AppendStatement.existingStreamSQL)
    for stream in ["raw-p", "conn-p", "pool-p", "queue-p", "loop-p", "actor-p"] {
        try await connection.query("INSERT INTO mire_streams (stream_id, category, version) VALUES (\(stream), 'p', 0)")
    }
    @Sendable func statement(_ stream: String, _ version: Int64) -> PGQuery {
        var bindings = PGBindings()
        bindings.append(stream)
        bindings.append("p")
        bindings.append(EventMetadata().eventID)  // a fresh id as Mire makes one (Foundation's UUID() opens a file)
        bindings.append("p.deposited")
        bindings.append(PGJSONB(text: #"{"amount":1}"#))
        bindings.append(PGJSONB(text: "{}"))
        bindings.append(version)
        return PGQuery(unsafeSQL: AppendStatement.existingStreamSQL, bindings: bindings)
    }
    var versions: [String: Int64] = [
        "raw-p": 0, "conn-p": 0, "pool-p": 0, "queue-p": 0, "loop-p": 0, "actor-p": 0,
    ]
    var ledger = try AggregateRoot<Ledger>(id: "profile")
    var times: [String: [Double]] = [:]
    var cpu: [String: [Double]] = [:]
    var switches: [String: [Double]] = [:]
    /// Context switches of the whole process so far (voluntary + involuntary): each thread
    /// hand-off parks one thread and wakes another.
    func processContextSwitches() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_nvcsw + usage.ru_nivcsw)
    }
    let names = [
        "raw libpq (binary, prepared)", "Mire connection.query", "Mire pool + query", "EventStore.save",
        "prototype: queue hand-off", "prototype: event loop", "pool scope: 3 × SELECT 1",
        "prototype: actor hand-off",
    ]
    let only = environment["ONLY"].flatMap(Int.init)  // run one layer only (for a profiler)
    for _ in 0..<(rounds + 1) {
        for (index, name) in names.enumerated() where only == nil || only == index {
            let started = ContinuousClock.now
            let cpuStarted = ClientCPU.microseconds()
            let switchesStarted = processContextSwitches()
            for _ in 0..<chunk {
                switch index {
                case 0:
                    try raw.appendPrepared(
                        AppendStatement.existingStreamSQL, stream: "raw-p", version: versions["raw-p"]!)
                    versions["raw-p"]! += 1
                case 1:
                    try await connection.query(statement("conn-p", versions["conn-p"]!), prepared: true)
                    versions["conn-p"]! += 1
                case 2:
                    let query = statement("pool-p", versions["pool-p"]!)
                    try await pool.withConnection { try await $0.query(query, prepared: true) }
                    versions["pool-p"]! += 1
                case 3:
                    ledger.record(.deposited(amount: 1))
                    try await store.save(&ledger)
                case 4:
                    // Mire's design reduced to its two hand-offs (no Mire code).
                    try await queueHandoff.append(
                        sql: AppendStatement.existingStreamSQL, stream: "queue-p", version: versions["queue-p"]!)
                    versions["queue-p"]! += 1
                case 7:
                    // Mire's shape (an actor on a private queue) with no Mire code.
                    try await actorHandoff.append(
                        sql: AppendStatement.existingStreamSQL, stream: "actor-p", version: versions["actor-p"]!)
                    versions["actor-p"]! += 1
                case 6:
                    // A short transaction's shape: statements in one scope, each handed to the
                    // connection's thread and back (divide by three for one statement's cost).
                    try await pool.withConnection { connection in
                        for _ in 0..<3 { try await connection.query("SELECT 1", prepared: true) }
                    }
                default:
                    // The other design: a non-blocking send by the caller, one event-loop thread.
                    try await eventLoop.append(stream: "loop-p", version: versions["loop-p"]!)
                    versions["loop-p"]! += 1
                }
            }
            times[name, default: []].append((ContinuousClock.now - started).seconds * 1e6 / Double(chunk))
            cpu[name, default: []].append((ClientCPU.microseconds() - cpuStarted) / Double(chunk))
            switches[name, default: []].append((processContextSwitches() - switchesStarted) / Double(chunk))
        }
    }
    for name in names where times[name] != nil {
        let values = times[name]!.dropFirst().sorted()  // the first round warms up
        let median = values[values.count / 2]
        let cpuValues = cpu[name]!.dropFirst().sorted()
        let switchValues = switches[name]!.dropFirst().sorted()
        print(
            name.padding(toLength: 30, withPad: " ", startingAt: 0)
                + String(
                    format: "%8.1f µs/save  %7.0f saves/s  client CPU %5.1f µs/save  %4.1f context switches/save",
                    median, 1e6 / median, cpuValues[cpuValues.count / 2], switchValues[switchValues.count / 2]))
    }
    await connection.close()
    await pool.shutdown()
}.value
