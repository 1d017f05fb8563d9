public import Foundation
public import MireCore
public import MirePQ

/// A local primary and its hot standbys under one directory, for an app's embedded database
/// (the bank's `.mire`). Which member is the primary is kept in `cluster.json`, so the roles
/// survive restarts and failovers. Each member is a ``LocalPostgresServer`` in its own
/// subdirectory, named after its `cluster_name`: `postgres` for the first primary, `replica1`,
/// `replica2`, … for the standbys. Every commit waits for one standby (`synchronous_commit`
/// on, `FIRST 1 (…)`), so a promoted standby holds every acknowledged commit.
///
/// ```swift
/// let cluster = LocalPostgresCluster(at: URL(filePath: ".mire"))
/// let configuration = try await cluster.start(replicas: 1)   // whichever member takes writes
/// let failover = try await cluster.failover()                // replica1 is the primary now
/// try cluster.stop()
/// ```
public struct LocalPostgresCluster: Sendable {
    /// Who is who.
    public struct Topology: Codable, Sendable, Hashable {
        /// The member that takes writes.
        public var primary: String
        /// The hot standbys, in the order they are named in `synchronous_standby_names`.
        public var standbys: [String]
    }

    /// What ``failover()`` did.
    public struct Failover: Codable, Sendable, Hashable {
        /// The member that was the primary (now a fresh standby of the new one).
        public var from: String
        /// The standby that was promoted.
        public var to: String
        /// From stopping the old primary to the new one taking writes.
        public var milliseconds: Int64
    }

    /// Where the members and `cluster.json` live.
    public let directory: URL

    /// The cluster under `directory` (nothing is started).
    public init(at directory: URL) {
        self.directory = directory.standardizedFileURL
    }

    /// The roles, as last recorded (a lone `postgres` primary before any standby was made).
    public var topology: Topology {
        guard let data = try? Data(contentsOf: topologyFile),
            let topology = try? JSONDecoder().decode(Topology.self, from: data)
        else { return Topology(primary: "postgres", standbys: []) }
        return topology
    }

    /// The member called `name`.
    public func member(_ name: String) -> LocalPostgresServer {
        .persistent(at: directory.appending(path: name), settings: ["cluster_name": name])
    }

    /// The primary, then the standbys.
    public var members: [LocalPostgresServer] {
        let topology = topology
        return ([topology.primary] + topology.standbys).map(member)
    }

    /// Starts every member, first making standbys until there are `replicas` (nil: as many as
    /// there are), and returns a configuration that reaches whichever member takes writes.
    ///
    /// ```swift
    /// let configuration = try await LocalPostgresCluster(at: URL(filePath: ".mire")).start()
    /// ```
    @discardableResult
    public func start(replicas: Int? = nil) async throws -> PGConfiguration {
        var topology = topology
        let primary = member(topology.primary)
        _ = try await primary.start()
        var index = 1
        while topology.standbys.count < replicas ?? 0 {
            let name = "replica\(index)"
            index += 1
            guard name != topology.primary, !topology.standbys.contains(name) else { continue }
            _ = try await LocalPostgresServer.standby(of: primary, as: member(name))
            topology.standbys.append(name)
        }
        for name in topology.standbys { _ = try await member(name).start() }
        if !topology.standbys.isEmpty { try await primary.requireSynchronousStandby(topology.standbys) }
        try save(topology)
        return try writableConfiguration()
    }

    /// Stops every running member, the standbys first; their data is kept.
    public func stop() throws {
        for server in members.reversed() { try server.stop() }
    }

    /// One configuration naming every running member, which libpq tries in order until one
    /// takes writes (see ``LocalPostgresServer/writableConfiguration(among:database:)``).
    public func writableConfiguration(database: String = "postgres") throws -> PGConfiguration {
        try LocalPostgresServer.writableConfiguration(among: members, database: database)
    }

    /// A planned failover: the synchronous standby takes over. It stops waiting for standbys
    /// of its own; the primary stops cleanly; once the standby has replayed the primary's last
    /// WAL (its shutdown checkpoint), it is promoted; the new roles are recorded; the other
    /// standbys follow it; the old primary's directory is made afresh as a standby of the new
    /// primary, on its old port. Commits wait for a standby again afterwards. Clients that
    /// connect with ``writableConfiguration(database:)`` follow.
    ///
    /// If the standby does not catch up within ten seconds nothing is promoted, and
    /// ``start(replicas:)`` brings the old primary back. Once the promotion happened, the new
    /// roles are recorded before anything else can fail.
    public func failover() async throws -> Failover {
        let topology = topology
        let oldPrimary = member(topology.primary)
        let next = try await Self.synchronousStandby(of: oldPrimary, among: topology.standbys)
        let newPrimary = member(next)
        try await newPrimary.alterSystem("RESET synchronous_standby_names")
        let started = ContinuousClock.now
        try await oldPrimary.shutDown()
        let lastCheckpoint = try await oldPrimary.latestCheckpointLocation()
        try await Self.waitUntilReplayed(lastCheckpoint, by: newPrimary)
        do {
            try await newPrimary.promote()
        } catch {
            // pg_ctl may give up waiting while the promotion completes: then it did happen.
            guard try await !Self.isInRecovery(newPrimary) else { throw error }
        }
        let milliseconds = (ContinuousClock.now - started).wholeMilliseconds
        // The new roles at once: until it is a standby again, the old primary is no member.
        var standbys = topology.standbys.filter { $0 != next }
        try save(Topology(primary: next, standbys: standbys))
        guard let port = newPrimary.runningInstance?.port else {
            throw MireError(
                code: .localServer, message: "the promoted standby \(next) is not running",
                recovery: "inspect \(newPrimary.rootDirectory.path)/server.log")
        }
        for name in standbys where member(name).isRunning {
            try await member(name).alterSystem(
                "SET primary_conninfo = 'host=127.0.0.1 port=\(port) user=\(LocalPostgresServer.superuser) application_name=\(name)'"
            )
        }
        // The old primary is on the old timeline; a fresh base backup of the new primary is
        // simpler than pg_rewind and always right. It keeps its port, which clients list.
        let portFile = oldPrimary.rootDirectory.appending(path: "port")
        let oldPort = try? String(contentsOf: portFile, encoding: .utf8)
        try await LocalPostgresServer.blocking { try FileManager.default.removeItem(at: oldPrimary.rootDirectory) }
        let rebuilt = member(topology.primary)
        _ = try await LocalPostgresServer.standby(of: newPrimary, as: rebuilt)
        if let oldPort { try oldPort.write(to: portFile, atomically: true, encoding: .utf8) }
        _ = try await rebuilt.start()
        standbys.append(topology.primary)
        try await newPrimary.requireSynchronousStandby(standbys)
        try save(Topology(primary: next, standbys: standbys))
        return Failover(from: topology.primary, to: next, milliseconds: milliseconds)
    }

    /// The standby among `names` that `primary` streams to synchronously (else the first that
    /// streams at all): the one that holds every acknowledged commit.
    private static func synchronousStandby(of primary: LocalPostgresServer, among names: [String]) async throws
        -> String
    {
        let streaming = try await primary.withConnection { connection in
            try await connection.query(
                """
                SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'
                ORDER BY sync_state = 'sync' DESC, sync_priority
                """
            ).map { try $0.decode(String.self, at: 0) }
        }
        guard let name = streaming.first(where: names.contains) else {
            throw MireError(
                code: .localServer, message: "no standby of the primary is streaming (standbys: \(names))",
                recovery: "start the cluster with at least one replica (mire-bank db start --replicas 1)")
        }
        return name
    }

    /// Whether `server` is still a standby (`pg_is_in_recovery()`).
    private static func isInRecovery(_ server: LocalPostgresServer) async throws -> Bool {
        try await server.withConnection { try await $0.query("SELECT pg_is_in_recovery()").single(Bool.self) }
    }

    /// Waits until `standby` has replayed the WAL up to and past `location` (at most 10 s).
    private static func waitUntilReplayed(_ location: String, by standby: LocalPostgresServer) async throws {
        let replayed = try await standby.withConnection { connection in
            for _ in 0..<1_000 {
                let done = try await connection.query("SELECT pg_last_wal_replay_lsn() > \(location)::pg_lsn")
                    .single(Bool.self)
                if done { return true }
                try await Task.sleep(for: .milliseconds(10))
            }
            return false
        }
        guard replayed else {
            throw MireError(
                code: .localServer,
                message: "the standby did not replay the stopped primary's last WAL (\(location)) within 10 s",
                recovery: "nothing was promoted; start the cluster again (mire-bank db start) and retry")
        }
    }

    private var topologyFile: URL { directory.appending(path: "cluster.json") }

    private func save(_ topology: Topology) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(topology).write(to: topologyFile, options: .atomic)
    }
}
