import Foundation
import MireCore
import MirePQ
import MirePostgres
import MireTestSupport
import Testing

@testable import MireLocalServer

@Suite("Local PostgreSQL server", .timeLimit(.minutes(3)))
struct LocalServerTests {
    /// A program started for the server (pg_ctl, the server itself, its watchdog) must not
    /// inherit the calling process's descriptors: one that outlives the call would hold a socket
    /// open after its owner closed it (a proxied test connection hung on it, waiting for a close).
    @Test func startedProgramsInheritNoDescriptorsBeyondStandardError() throws {
        let inheritable = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)  // no close-on-exec
        #expect(inheritable > 2)
        defer { close(inheritable) }
        let listing = try ChildProcess.run("/bin/sh", ["-c", "ls /proc/self/fd"])
        #expect(listing.status == 0)
        let open = Set(listing.output.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) })
        #expect(!open.contains(inheritable), "\(open.sorted())")
        #expect(open.isSuperset(of: [0, 1, 2]))
    }

    @Test func persistentServerKeepsDataAcrossRestarts() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(
            path: "mire-persistent-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = LocalPostgresServer.persistent(at: directory)
        #expect(!server.isRunning)

        let configuration = try await server.start()
        #expect(server.isRunning)
        let again = try await server.start()  // already running: reused, same port
        #expect(again == configuration)

        var connection = try await PGConnection.connect(configuration: configuration, logger: TestDatabase.logger)
        try await connection.query("CREATE TABLE kept (v text)")
        try await connection.query("INSERT INTO kept VALUES (\("still here"))")
        #expect(try await connection.query("SHOW listen_addresses").single(String.self) == "127.0.0.1")
        await connection.close()

        try server.stop()
        #expect(!server.isRunning)
        #expect(FileManager.default.fileExists(atPath: server.dataDirectory.path))

        let restarted = try await server.start()
        connection = try await PGConnection.connect(configuration: restarted, logger: TestDatabase.logger)
        #expect(try await connection.query("SELECT v FROM kept").single(String.self) == "still here")
        await connection.close()
        try server.stop()
    }

    @Test func throwawayServerIsDeletedWhenStopped() async throws {
        let server = try LocalPostgresServer.throwaway()
        let configuration = try await server.start()
        let connection = try await PGConnection.connect(configuration: configuration, logger: TestDatabase.logger)
        #expect(try await connection.query("SHOW fsync").single(String.self) == "off")
        await connection.close()
        try server.stop()
        #expect(!server.isRunning)
        #expect(!FileManager.default.fileExists(atPath: server.rootDirectory.path))
    }

    @Test func stoppingAServerThatIsNotRunningIsHarmless() throws {
        let directory = FileManager.default.temporaryDirectory.appending(
            path: "mire-never-\(UUID().uuidString.prefix(8))")
        try LocalPostgresServer.persistent(at: directory).stop()
    }

    @Test func missingServerProgramsNameThePackagesToInstall() {
        let error = #expect(throws: MireError.self) {
            _ = try ServerBinaries.locate(candidates: ["/nonexistent/bin"])
        }
        #expect(error?.code == .localServer)
        #expect(error?.recovery?.contains("apt-get install postgresql") == true)
    }
}

@Suite("Recovery from a server restart", .timeLimit(.minutes(3)))
struct ServerRestartTests {
    /// A persistent server comes back on its port; the pool discards the dead connection (the
    /// caller gets a retryable `connectionLost`) and the next call gets a fresh one.
    @Test func thePoolRecoversAfterTheServerRestarts() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(
            path: "mire-restart-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = LocalPostgresServer.persistent(at: directory)
        let configuration = try await server.start()
        let pool = PGPool(configuration: configuration, maximumConnections: 1, logger: TestDatabase.logger)
        #expect(try await pool.withConnection { try await $0.query("SELECT 1::int8").single(Int64.self) } == 1)

        try server.stop()
        let restarted = try await server.start()
        #expect(restarted == configuration)  // same port

        let lost = await #expect(throws: PGError.self) {
            try await pool.withConnection { try await $0.query("SELECT 1::int8").single(Int64.self) }
        }
        #expect(lost?.isRetryable == true)
        #expect(try await pool.withConnection { try await $0.query("SELECT 2::int8").single(Int64.self) } == 2)
        await pool.shutdown()
        try server.stop()
    }
}
