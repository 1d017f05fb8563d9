import Foundation
import Logging
import MireBankDomain
import MireLocalServer
import MirePQ
import MirePostgres
import MireTestSupport

/// What a chaos run works against: the server (its own, so it can crash it, or the one given),
/// a fault-injecting proxy in front of it, and a direct configuration for setup and the audit.
final class ChaosTarget: Sendable {
    /// The private server, when the run started one (nil with `--database`).
    let server: LocalPostgresServer?
    /// How to reach the server without faults.
    let direct: PGConfiguration
    /// The proxy every worker and replica goes through.
    let proxy: FaultProxy

    /// The application name of every connection that goes through the proxy (the backends the
    /// run may kill).
    static let applicationName = "mire-chaos"

    private init(server: LocalPostgresServer?, direct: PGConfiguration, proxy: FaultProxy) {
        self.server = server
        self.direct = direct
        self.proxy = proxy
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

    /// A pool whose connections go through the proxy.
    func faultyPool(logger: Logger, maximumConnections: Int = 6) -> PGPool {
        var configuration = proxy.configuration
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
        proxy.stop()
        try? server?.stop()
    }
}
