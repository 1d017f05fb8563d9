import BankServer
import Foundation
import Logging

// mire-bank-server: the bank over HTTP, configured by environment (see BankServerConfiguration),
// until SIGTERM or SIGINT, after which it shuts down gracefully and exits 0.
let configuration: BankServerConfiguration
do {
    configuration = try BankServerConfiguration(
        environment: ProcessInfo.processInfo.environment, processID: ProcessInfo.processInfo.processIdentifier)
} catch {
    FileHandle.standardError.write(Data("mire-bank-server: \(error)\n".utf8))
    exit(64)
}

// The app, not the library, chooses where logs go.
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = configuration.logLevel
    return handler
}
let logger = Logger(label: "mire-bank-server")

do {
    try await BankServer.run(configuration: configuration, logger: logger)
    logger.info("mire-bank-server stopped")
} catch {
    logger.critical("mire-bank-server failed", metadata: ["error": "\(error)"])
    exit(1)
}
