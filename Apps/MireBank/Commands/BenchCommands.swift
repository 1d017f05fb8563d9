import ArgumentParser
import Foundation
import Logging
import MireBankDomain
import MirePQ
import MireSnapshots
import Synchronization

/// `mire-bank bench`: the bank's hot paths measured on the configured server — throughput with
/// p50 and p99 latencies, as text or one JSON object.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the bank's hot paths: saves, batched saves, loads.",
        discussion: """
            Figures depend on the server's durability settings (the embedded server fsyncs) and on \
            the machine; compare runs on one machine. The Benchmarks package puts the same work \
            beside pgbench and raw libpq on one server.
            """,
        subcommands: [Save.self, Batch.self, Load.self]
    )

    /// What a timed run measured.
    struct Report: Encodable {
        var operation: String
        var writers: Int
        var seconds: Double
        var eventsPerOperation: Int
        var operations: Int
        var operationsPerSecond: Double
        var eventsPerSecond: Double
        var p50Milliseconds: Double
        var p99Milliseconds: Double
        var newStreams: Bool?
        var snapshots: Bool?
        var eventsReplayedPerLoad: Int?

        var text: String {
            var line = String(
                format: "%@: %d operations in %.1f s, %.0f ops/s, %.0f events/s, p50 %.2f ms, p99 %.2f ms",
                operation, operations, seconds, operationsPerSecond, eventsPerSecond, p50Milliseconds,
                p99Milliseconds)
            if let eventsReplayedPerLoad { line += ", \(eventsReplayedPerLoad) events replayed per load" }
            return line
        }
    }

    /// Runs `operation` from `writers` concurrent tasks for `seconds`, timing each call.
    static func measure(
        writers: Int, seconds: Int, events: Int, name: String, progress: ProgressBar? = nil,
        _ operation: @escaping @Sendable (_ writer: Int) async throws -> @Sendable () async throws -> Void
    ) async throws -> Report {
        // Each writer prepares its own state first (an account to write to), then runs.
        let bodies = try await withThrowingTaskGroup(of: (Int, @Sendable () async throws -> Void).self) { group in
            for writer in 0..<writers { group.addTask { (writer, try await operation(writer)) } }
            return try await group.reduce(into: [Int: @Sendable () async throws -> Void]()) { $0[$1.0] = $1.1 }
        }
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = started + .seconds(seconds)
        let measured = try await withProgress(
            progress, label: name, total: seconds,
            current: {
                Int((clock.now - started).components.seconds)
            }
        ) {
            try await withThrowingTaskGroup(of: [Duration].self) { group in
                for writer in 0..<writers {
                    guard let body = bodies[writer] else { continue }
                    group.addTask {
                        var times: [Duration] = []
                        while clock.now < deadline { times.append(try await clock.measure { try await body() }) }
                        return times
                    }
                }
                return try await group.reduce(into: [Duration]()) { $0 += $1 }
            }
        }
        let latencies = measured.sorted()
        let elapsed = (clock.now - started).seconds
        func percentile(_ fraction: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            let index = min(latencies.count - 1, Int((Double(latencies.count - 1) * fraction).rounded()))
            return latencies[index].seconds * 1000
        }
        let operations = latencies.count
        return Report(
            operation: name, writers: writers, seconds: elapsed, eventsPerOperation: events, operations: operations,
            operationsPerSecond: Double(operations) / elapsed, eventsPerSecond: Double(operations * events) / elapsed,
            p50Milliseconds: percentile(0.5), p99Milliseconds: percentile(0.99))
    }

    /// A plain store (no snapshots) on a pool with a connection per writer.
    static func withStore<T>(
        _ options: GlobalOptions, writers: Int, _ body: (EventStore) async throws -> T
    ) async throws -> T {
        let database = try await options.connect(logger: options.makeLogger())
        let pool = PGPool(
            configuration: database.configuration, maximumConnections: writers, logger: database.logger)
        let store = EventStore(pool: pool, logger: database.logger)
        do {
            try await store.migrate()
            let result = try await body(store)
            await pool.shutdown()
            await database.pool.shutdown()
            return result
        } catch {
            await pool.shutdown()
            await database.pool.shutdown()
            throw error
        }
    }

    struct Save: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One-event saves: load once, then record and save.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Concurrent writers, each on an account of its own.") var writers = 1
        @Option(help: "How long to run.") var seconds = 10
        @Flag(help: "Every save creates a new account (a new stream) instead.") var newStreams = false

        func validate() throws {
            guard (1...256).contains(writers), (1...86_400).contains(seconds) else {
                throw ValidationError("need 1…256 --writers and 1…86,400 --seconds")
            }
        }

        func run() async throws {
            let run = UUID().uuidString.prefix(8).lowercased()
            let newStreams = newStreams
            var report = try await Bench.withStore(options, writers: writers) { store in
                try await Bench.measure(
                    writers: writers, seconds: seconds, events: 1, name: "save",
                    progress: options.json ? nil : .onTerminal()
                ) { writer in
                    if newStreams {
                        let counter = SaveCounter()
                        return {
                            var account = try AggregateRoot<Account>(id: "bench-\(run)-\(writer)-\(counter.next())")
                            try account.open(owner: "bench")
                            try await store.save(&account)
                        }
                    }
                    let account = BenchValue(try AggregateRoot<Account>(id: "bench-\(run)-\(writer)"))
                    try await account.update {
                        try $0.open(owner: "bench")
                        try await store.save(&$0)
                    }
                    return {
                        try await account.update { account in
                            try account.deposit(Money(cents: 1))
                            try await store.save(&account)
                        }
                    }
                }
            }
            report.newStreams = newStreams
            try printOutput(report, json: options.json) { report.text }
        }
    }

    struct Batch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Saves of K events each.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Events per save.") var size = 100
        @Option(help: "Concurrent writers, each on an account of its own.") var writers = 1
        @Option(help: "How long to run.") var seconds = 10

        func validate() throws {
            guard (1...10_000).contains(size), (1...256).contains(writers), (1...86_400).contains(seconds) else {
                throw ValidationError("need 1…10,000 --size, 1…256 --writers and 1…86,400 --seconds")
            }
        }

        func run() async throws {
            let run = UUID().uuidString.prefix(8).lowercased()
            let size = size
            let report = try await Bench.withStore(options, writers: writers) { store in
                try await Bench.measure(
                    writers: writers, seconds: seconds, events: size, name: "batch",
                    progress: options.json ? nil : .onTerminal()
                ) { writer in
                    let account = BenchValue(try AggregateRoot<Account>(id: "bench-\(run)-\(writer)"))
                    try await account.update {
                        try $0.open(owner: "bench")
                        try await store.save(&$0)
                    }
                    return {
                        try await account.update { account in
                            for _ in 0..<size { try account.deposit(Money(cents: 1)) }
                            try await store.save(&account)
                        }
                    }
                }
            }
            try printOutput(report, json: options.json) { report.text }
        }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Loads of an account with N events.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Events in the account.") var events = 10_000
        @Flag(help: "Load through a snapshot (taken after writing).") var snapshots = false
        @Option(help: "How long to run.") var seconds = 10

        func validate() throws {
            guard (1...10_000_000).contains(events), (1...86_400).contains(seconds) else {
                throw ValidationError("need 1…10,000,000 --events and 1…86,400 --seconds")
            }
        }

        func run() async throws {
            let report = try await withBank(options) { bank in
                try await Self.measure(bank: bank, events: events, snapshots: snapshots, seconds: seconds)
            }
            try printOutput(report, json: options.json) { report.text }
        }

        /// Writes an account of `events` events (1,000 per save, no automatic snapshots), takes a
        /// snapshot if asked, then loads it for `seconds`.
        static func measure(bank: Bank, events: Int, snapshots: Bool, seconds: Int) async throws -> Report {
            let id = "bench-\(UUID().uuidString.prefix(8).lowercased())"
            let writer = EventStore(pool: bank.store.pool, logger: Logger(label: "bench"))
            var account = try AggregateRoot<Account>(id: id)
            try account.open(owner: "bench")
            var written = 0
            while written < events {
                let count = min(1_000, events - written)
                for _ in 0..<count { try account.deposit(Money(cents: 1)) }
                try await writer.save(&account)
                written += count
            }
            if snapshots { try await bank.store.takeSnapshot(account) }
            let reader = snapshots ? bank.store : writer
            let replayed = BenchValue(0)
            var report = try await Bench.measure(writers: 1, seconds: seconds, events: events + 1, name: "load") { _ in
                {
                    let loaded = try await reader.load(Account.self, id: id)
                    replayed.value = loaded?.loadDetails.eventsReplayed ?? 0
                }
            }
            report.snapshots = snapshots
            report.eventsReplayedPerLoad = replayed.value
            return report
        }
    }
}

/// A value owned by one task at a time in a benchmark, kept behind a lock so closures can share it.
final class BenchValue<Value: Sendable>: @unchecked Sendable {
    // Confinement: every access goes through `lock`; `update` holds it across an await only
    // from the one task that owns the value.
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
    /// Runs `body` on a copy and stores the result back (the value's one task calls this).
    func update(_ body: (inout Value) async throws -> Void) async throws {
        var copy = value
        try await body(&copy)
        value = copy
    }
}

/// A counter shared by one writer's saves.
final class SaveCounter: Sendable {
    private let count = Mutex(0)
    func next() -> Int {
        count.withLock { value in
            value += 1
            return value
        }
    }
}
