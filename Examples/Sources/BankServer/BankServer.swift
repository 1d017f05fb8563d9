import Foundation
public import Hummingbird
public import Logging
import MireBankDomain
import MirePQ
import MirePostgres
import MireProjections
import ServiceLifecycle

/// The bank as a Hummingbird app: the HTTP server, the event store and the projection runner in
/// one `ServiceGroup`.
///
/// At SIGTERM the group shuts down in reverse order: the server stops taking requests and
/// finishes those in flight, then the runner stops (its batch in progress is rolled back with its
/// checkpoint, for the next lease holder to deliver again) and gives up its lease, then the store
/// finishes queued wake-ups and snapshot writes and closes its connections.
///
/// ```swift
/// let configuration = try BankServerConfiguration(environment: ProcessInfo.processInfo.environment)
/// try await BankServer.run(configuration: configuration, logger: Logger(label: "bank"))  // until SIGTERM
/// ```
public enum BankServer {
    /// Builds the app and runs it until SIGTERM or SIGINT, then shuts it down gracefully; a
    /// shutdown that outlasts `configuration.shutdownTimeout` is escalated to cancellation.
    public static func run(configuration: BankServerConfiguration, logger: Logger) async throws {
        let app = try await application(configuration: configuration, logger: logger)
        var group = ServiceGroupConfiguration(
            services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        try await ServiceGroup(configuration: group).run()
    }

    /// Migrates the database, prepares the read model and builds the app; nothing runs until
    /// `run()` or `runService()`.
    public static func application(
        configuration: BankServerConfiguration, logger: Logger
    ) async throws -> some ApplicationProtocol {
        let database = PGConfiguration(url: configuration.databaseURL, applicationName: "mire-bank-server")
        let pool = PGPool(configuration: database, maximumConnections: configuration.poolSize, logger: logger)
        let bank = Bank(pool: pool, logger: logger)
        do {
            try await bank.store.migrate()
            try await ReadModel.prepare(pool)
        } catch {
            await pool.shutdown()
            throw error
        }
        let runner = ReadModel.runner(bank: bank, workerID: configuration.workerID, logger: logger)
        let router = Router()
        router.addRoutes(BankAPI(bank: bank, pool: pool).routes())
        return Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "mire-bank-server"),
            // Started together; shut down in reverse order, each after the one before has ended:
            // the HTTP server first, the store (which closes the pool) last.
            services: [bank.store, runner],
            onServerRunning: { channel in
                // The bound port, for MIRE_BANK_PORT=0; on standard output, which a supervisor reads.
                let port = channel.localAddress?.port ?? configuration.port
                let line = "mire-bank-server listening on http://\(configuration.host):\(port)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            },
            logger: logger)
    }
}
