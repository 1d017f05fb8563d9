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
        let opened = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(opened > 2)
        // Moved far above the low numbers (no close-on-exec on the copy): `ls` lists the
        // descriptor it reads /proc/self/fd through too, usually 3, which a socket that happened
        // to get 3 here would be taken for.
        let inheritable = fcntl(opened, F_DUPFD, 100)
        close(opened)
        #expect(inheritable >= 100)
        defer { close(inheritable) }
        let listing = try ChildProcess.run("/bin/sh", ["-c", "ls /proc/self/fd"])
        #expect(listing.status == 0)
        let open = Set(listing.output.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) })
        #expect(!open.contains(inheritable), "\(open.sorted())")
        #expect(open.isSuperset(of: [0, 1, 2]))
    }

    @Test func aSynchronousStandbyHoldsEveryAcknowledgedCommitAndCanBePromoted() async throws {
        try await withSynchronousPair { primaryPair, standbyPair in
            let (primary, primaryConfiguration) = primaryPair
            let (standby, standbyConfiguration) = standbyPair
            #expect(standby.dataDirectory != primary.dataDirectory)

            let writer = try await PGConnection.connect(
                configuration: primaryConfiguration, logger: TestDatabase.logger)
            // The standby streams, synchronously (bounded wait: it connects within a second or two).
            var state: String?
            for _ in 0..<300 where state != "sync" {
                state = try await writer.query(
                    "SELECT sync_state FROM pg_stat_replication WHERE application_name = 's1'"
                )
                .first?.decode(String.self, at: 0)
                if state != "sync" { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(state == "sync")
            try await writer.query("CREATE TABLE acknowledged (v int)")
            for value in 1...50 { try await writer.query("INSERT INTO acknowledged VALUES (\(Int32(value)))") }
            await writer.close()

            // A standby takes reads, refuses writes, and is the same cluster as its primary.
            let reader = try await PGConnection.connect(
                configuration: standbyConfiguration, logger: TestDatabase.logger)
            #expect(try await reader.query("SELECT pg_is_in_recovery()").single(Bool.self))
            let refused = await #expect(throws: PGError.self) { try await reader.query("CREATE TABLE nope (v int)") }
            #expect(refused?.sqlState == "25006")
            #expect(refused?.code == .readOnlyServer, "a standby takes no writes at all: retry elsewhere")
            #expect(refused?.isRetryable == true)
            let identity: PGQuery = "SELECT system_identifier FROM pg_control_system()"
            let standbyIdentity = try await reader.query(identity).single(Int64.self)
            await reader.close()

            // The primary goes; the standby is promoted and has every commit the primary acknowledged.
            try await primary.shutDown()
            try await standby.promote()
            let promoted = try await PGConnection.connect(
                configuration: standbyConfiguration, logger: TestDatabase.logger)
            #expect(try await !promoted.query("SELECT pg_is_in_recovery()").single(Bool.self))
            #expect(try await promoted.query("SELECT count(*) FROM acknowledged").single(Int64.self) == 50)
            try await promoted.query("INSERT INTO acknowledged VALUES (51)")
            #expect(try await promoted.query(identity).single(Int64.self) == standbyIdentity)
            await promoted.close()
        }
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

    /// An embedded cluster: a primary and two standbys, failed over twice. Every acknowledged
    /// write survives each failover, the roles are kept across a restart of the whole cluster,
    /// and the one connection string reaches each new primary.
    @Test func aPersistentClusterFailsOverTwiceAndKeepsItsRolesAndData() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(
            path: "mire-cluster-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cluster = LocalPostgresCluster(at: directory)
        defer { try? cluster.stop() }
        var configuration = try await cluster.start(replicas: 2)
        #expect(cluster.topology == .init(primary: "postgres", standbys: ["replica1", "replica2"]))
        #expect(cluster.members.allSatisfy { $0.isRunning })

        func write(_ value: Int32) async throws {
            let connection = try await PGConnection.connect(configuration: configuration, logger: TestDatabase.logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS kept (v int)")
            try await connection.query("INSERT INTO kept VALUES (\(value))")
            await connection.close()
        }
        func kept() async throws -> [Int32] {
            let connection = try await PGConnection.connect(configuration: configuration, logger: TestDatabase.logger)
            let standby = try await connection.query("SELECT pg_is_in_recovery()").single(Bool.self)
            let values = try await connection.query("SELECT v FROM kept ORDER BY v").map {
                try $0.decode(Int32.self, at: 0)
            }
            await connection.close()
            #expect(!standby, "the connection string reaches the primary")
            return values
        }

        for value in Int32(1)...10 { try await write(value) }
        let ports = Set(cluster.members.compactMap { $0.runningInstance?.port })
        let first = try await cluster.failover()
        #expect(Set(cluster.members.compactMap { $0.runningInstance?.port }) == ports, "every member kept its port")
        // The synchronous standby took over (replica1 by priority, unless replica2 was the one in sync).
        #expect(first.from == "postgres" && ["replica1", "replica2"].contains(first.to))
        #expect(cluster.topology.primary == first.to)
        #expect(Set(cluster.topology.standbys) == Set(["replica1", "replica2", "postgres"]).subtracting([first.to]))
        for value in Int32(11)...20 { try await write(value) }
        #expect(try await kept() == Array(1...20))

        let second = try await cluster.failover()
        #expect(second.from == first.to && second.to != first.to)
        for value in Int32(21)...30 { try await write(value) }
        #expect(try await kept() == Array(1...30))

        // The whole cluster stops and starts again with its roles.
        try cluster.stop()
        #expect(cluster.members.allSatisfy { !$0.isRunning })
        configuration = try await cluster.start()
        #expect(cluster.topology.primary == second.to)
        #expect(try await kept() == Array(1...30))
        let standby = try await PGConnection.connect(
            configuration: try cluster.member(first.to).configuration(), logger: TestDatabase.logger)
        #expect(try await standby.query("SELECT pg_is_in_recovery()").single(Bool.self))
        await standby.close()
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
