import Foundation
import Logging
import MireBankDomain
import MireLocalServer
import MirePQ
import MirePostgres
import MireTestSupport

/// What a chaos run works against: the server (its own, so it can crash it, or the one given),
/// a fault-injecting proxy in front of it, and a direct configuration for setup and the audit.
/// For a failover run: a primary and its synchronous standby instead, and no proxy.
final class ChaosTarget: Sendable {
    /// The private server, when the run started one (nil with `--database`); the primary of a
    /// failover run.
    let server: LocalPostgresServer?
    /// The synchronous standby a failover run promotes.
    let standby: LocalPostgresServer?
    /// How to reach the server without faults (for a failover run: whichever takes writes).
    let direct: PGConfiguration
    /// The proxy every worker and replica goes through (none in a failover run).
    let proxy: FaultProxy?

    /// The application name of every connection that goes through the proxy (the backends the
    /// run may kill).
    static let applicationName = "mire-chaos"

    private init(
        server: LocalPostgresServer?, standby: LocalPostgresServer? = nil, direct: PGConfiguration, proxy: FaultProxy?
    ) {
        self.server = server
        self.standby = standby
        self.direct = direct
        self.proxy = proxy
    }

    /// Starts a private primary and a hot standby, `s1`, that every commit waits for
    /// (`synchronous_commit = on`): promoted after the primary crashes, it holds every
    /// acknowledged commit. Workers reach whichever takes writes through one connection string.
    static func startFailoverPair(logger: Logger) async throws -> ChaosTarget {
        let primary = try LocalPostgresServer.throwaway(settings: [
            "synchronous_commit": "on", "max_connections": "200",
        ])
        _ = try await primary.start()
        do {
            let standby = try await LocalPostgresServer.standby(of: primary, name: "s1")
            _ = try await standby.start()
            try await primary.requireSynchronousStandby(["s1"])
            var direct = try LocalPostgresServer.writableConfiguration(among: [primary, standby])
            direct.applicationName = "mire-chaos-audit"
            return ChaosTarget(server: primary, standby: standby, direct: direct, proxy: nil)
        } catch {
            try? primary.stop()
            throw error
        }
    }

    /// Starts a private server (durable commits: an acknowledged commit must survive a crash)
    /// unless `--database` names one, and a proxy in front of it.
    static func start(options: GlobalOptions, logger: Logger) async throws -> ChaosTarget {
        let server: LocalPostgresServer?
        var direct: PGConfiguration
        if let url = options.databaseURL {
            server = nil
            direct = PGConfiguration(url: url, applicationName: "mire-chaos-audit")
        } else {
            // fsync is off (the machine does not crash, only PostgreSQL); commits wait for
            // their WAL write, so a server crash loses no acknowledged commit.
            let own = try LocalPostgresServer.throwaway(settings: [
                "synchronous_commit": "on", "max_connections": "200",
            ])
            server = own
            direct = try await own.start()
            direct.applicationName = "mire-chaos-audit"
        }
        let proxy = try FaultProxy(upstream: direct)
        return ChaosTarget(server: server, direct: direct, proxy: proxy)
    }

    /// A pool whose connections go through the proxy (in a failover run, straight to whichever
    /// server takes writes).
    func faultyPool(logger: Logger, maximumConnections: Int = 6) -> PGPool {
        var configuration = proxy?.configuration ?? direct
        configuration.applicationName = Self.applicationName
        configuration.connectTimeoutSeconds = 3
        return PGPool(configuration: configuration, maximumConnections: maximumConnections, logger: logger)
    }

    /// A pool that bypasses the proxy.
    func directPool(logger: Logger) -> PGPool {
        PGPool(configuration: direct, maximumConnections: 4, logger: logger)
    }

    /// Terminates one backend that serves the proxied pools, chosen at random; true if one was.
    func killRandomBackend(logger: Logger) async -> Bool {
        guard let admin = try? await PGConnection.connect(configuration: direct, logger: logger) else {
            return false
        }
        let killed = try? await admin.query(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE application_name = \(Self.applicationName) AND pid <> pg_backend_pid()
            ORDER BY random() LIMIT 1
            """
        ).first?.decode(Bool.self, at: 0)
        await admin.close()
        return killed == true
    }

    /// Stops the proxy and the private server.
    func stop() {
        proxy?.stop()
        try? server?.stop()
        try? standby?.stop()
    }
}
