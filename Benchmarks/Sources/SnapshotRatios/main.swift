import DriverWorkloads
import Foundation
import Logging
import MirePQ
@_spi(Internals) import MireSnapshots

// Snapshots: load times of streams of 10 … 100,000 events with and without a snapshot; zlib
// ratio and time on ~1 KB and ~1 MB states; the cost a due snapshot adds to a save.

enum NoteEvent: Codable, Sendable {
    case added(Int64)
    case noted(String)
}
struct Notebook: SnapshottableAggregate {
    static let category = "notebook"
    static let snapshotSchemaVersion = 1
    var total: Int64 = 0
    var notes: [String] = []
    mutating func apply(_ event: NoteEvent) {
        switch event {
        case .added(let amount): total += amount
        case .noted(let note): notes.append(note)
        }
    }
}

let logger = Logger(label: "bench")
let configuration = try await BenchmarkServer.start()
let pool = PGPool(configuration: configuration, maximumConnections: 2, logger: logger)
let plain = EventStore(pool: pool, logger: logger)
try await plain.migrate()
let inline = Snapshots(configuration: SnapshotConfiguration(every: 100, writeMode: .inline), logger: logger)
let withSnapshots = EventStore(pool: pool, configuration: .init(snapshots: inline), logger: logger)

func median(_ values: [Duration]) -> Double {
    let middle = values.sorted()[values.count / 2]
    return Double(middle.components.seconds) * 1e3 + Double(middle.components.attoseconds) / 1e15
}
let clock = ContinuousClock()

print("Load time by stream length (median ms), same server, one run")
print("events     full replay   snapshot+tail   speedup")
var snapshotTimes: [Int: Double] = [:]
struct LoadRow: Codable {
    var events: Int
    var fullReplayMilliseconds: Double
    var snapshotMilliseconds: Double
}
var loadRows: [LoadRow] = []
for length in [10, 100, 1_000, 10_000, 100_000] {
    let id = "n\(length)"
    var notebook = try await plain.loadOrDefault(Notebook.self, id: id)
    var written = 0
    while written < length {
        let count = min(1_000, length - written)
        for _ in 0..<count { notebook.record(.added(1)) }
        try await plain.save(&notebook)
        written += count
    }
    try await withSnapshots.takeSnapshot(notebook)
    let repetitions = length >= 100_000 ? 5 : 20
    var full: [Duration] = []
    var fast: [Duration] = []
    for _ in 0..<repetitions {
        full.append(try await clock.measure { _ = try await plain.load(Notebook.self, id: id) })
        fast.append(try await clock.measure { _ = try await withSnapshots.load(Notebook.self, id: id) })
    }
    snapshotTimes[length] = median(fast)
    loadRows.append(LoadRow(events: length, fullReplayMilliseconds: median(full), snapshotMilliseconds: median(fast)))
    print(String(format: "%7d %13.2f %15.2f %9.1f×", length, median(full), median(fast), median(full) / median(fast)))
}
print(
    String(
        format: "with snapshots, 100,000 events load in %.2f× the time of 10 (target ≤ 1.5×)",
        snapshotTimes[100_000]! / snapshotTimes[10]!))

struct Results: Codable { var loads: [LoadRow] }
try BenchmarkResults.write(Results(loads: loadRows), as: "snapshot-ratios")

print("\nzlib on a realistic state (JSON of the aggregate), median of 20")
print("state        level     ratio   compress ms   decompress ms")
for (label, noteCount) in [("~1 KB", 12), ("~1 MB", 20_000)] {
    var notebook = Notebook()
    for index in 0..<noteCount {
        notebook.apply(.noted("note \(index): paid invoice INV-\(100_000 + index) for \(index % 97) units"))
    }
    let json = try JSONEncoder().encode(notebook)
    for (name, level) in [("fast", SnapshotConfiguration.CompressionLevel.fast), ("default", .default)] {
        var packed = Data()
        var compress: [Duration] = []
        var decompress: [Duration] = []
        for _ in 0..<20 {
            compress.append(try clock.measure { packed = try ZlibCompression.compress(json, level: level.rawValue) })
            decompress.append(
                try clock.measure {
                    _ = try ZlibCompression.decompress(packed, expectedSize: json.count, limit: 64 << 20)
                })
        }
        print(
            String(
                format: "%@ (%7d B) %-8@ %6.1f× %12.3f %15.3f", label, json.count, name,
                Double(json.count) / Double(packed.count), median(compress), median(decompress)))
    }
}

print("\nCost a due snapshot adds to a save (median ms of 100 saves of one event)")
do {
    var plainSaves: [Duration] = []
    var dueSaves: [Duration] = []
    var a = try await plain.loadOrDefault(Notebook.self, id: "save-plain")
    var b = try await withSnapshots.loadOrDefault(Notebook.self, id: "save-due")
    let everySave = Snapshots(configuration: SnapshotConfiguration(every: 1, writeMode: .inline), logger: logger)
    let dueStore = EventStore(pool: pool, configuration: .init(snapshots: everySave), logger: logger)
    let background = Snapshots(configuration: SnapshotConfiguration(every: 1, writeMode: .background), logger: logger)
    let backgroundStore = EventStore(pool: pool, configuration: .init(snapshots: background), logger: logger)
    var c = try await backgroundStore.loadOrDefault(Notebook.self, id: "save-background")
    var backgroundSaves: [Duration] = []
    // Background snapshots are written by the store's background work, which runs here.
    try await backgroundStore.withBackgroundWork {
        for index in 0..<100 {
            a.record(.noted("entry \(index)"))
            b.record(.noted("entry \(index)"))
            c.record(.noted("entry \(index)"))
            plainSaves.append(try await clock.measure { try await plain.save(&a) })
            dueSaves.append(try await clock.measure { try await dueStore.save(&b) })
            backgroundSaves.append(try await clock.measure { try await backgroundStore.save(&c) })
            await backgroundStore.waitForBackgroundWork()
        }
    }
    print(
        String(
            format:
                "save without snapshot %.3f ms; with an inline snapshot %.3f ms (%.2f×); with a background snapshot %.3f ms (%.2f×)",
            median(plainSaves), median(dueSaves), median(dueSaves) / median(plainSaves), median(backgroundSaves),
            median(backgroundSaves) / median(plainSaves)))
}
await pool.shutdown()
