import Logging
import MirePQ
import MirePostgres
import MireTestSupport
import Synchronization
import Testing

/// Captures what is logged through it.
private struct CapturingLogHandler: LogHandler {
    let lines: Locked<[(message: String, metadata: Logger.Metadata)]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.withLock { $0.append(("\(event.message)", metadata.merging(event.metadata ?? [:]) { $1 })) }
    }
}

@Suite("Per-call logger")
struct TaskLoggerTests {
    @Test func aRequestsLoggerReceivesTheStoresLogsWithItsMetadata() async throws {
        try await TestDatabase.withSchema { configuration in
            let pool = PGPool(configuration: configuration, maximumConnections: 2, logger: TestDatabase.logger)
            let store = EventStore(
                pool: pool, configuration: .init(wakeUpChannel: nil),
                logger: Logger(label: "quiet") { _ in SwiftLogNoOpLogHandler() })
            let lines = Locked<[(message: String, metadata: Logger.Metadata)]>([])
            var request = Logger(label: "request") { _ in CapturingLogHandler(lines: lines) }
            request[metadataKey: "request.id"] = "r-42"
            _ = try await EventStore.withLogger(request) {
                try await store.migrate()
            }
            let applying = lines.value.filter { $0.message == "applying migration" }
            #expect(!applying.isEmpty)
            #expect(applying.allSatisfy { $0.metadata["request.id"] == "r-42" })
            await pool.shutdown()
        }
    }
}
