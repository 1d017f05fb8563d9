import ArgumentParser
import MireBankDomain
import MirePQ
import MirePostgres

/// How `mire-bank` ends, by kind of failure (the numbers of BSD's sysexits):
///
/// | Code | Meaning |
/// | --- | --- |
/// | 0 | done |
/// | 1 | an unexpected error |
/// | 64 | the command line is wrong (unknown option, invalid amount) |
/// | 65 | the bank refused the command (insufficient funds, no such account, a conflict) |
/// | 69 | the database is unavailable (cannot connect, connection lost, server won't start) |
/// | 70 | a correctness check failed (`demo`, `race`, `transfer-storm`, `chaos`) |
enum ExitStatus {
    static let refused = ExitCode(65)
    static let databaseUnavailable = ExitCode(69)
    static let checkFailed = ExitCode(70)

    /// The exit code for an error a command threw (not a parsing error).
    static func code(for error: any Error) -> ExitCode {
        switch error {
        case let exit as ExitCode: return exit
        case is BankError: return refused
        case let error as PGError where error.isUnavailable: return databaseUnavailable
        case let error as MireError:
            if error.code == .localServer { return databaseUnavailable }
            if let database = error.underlying as? PGError, database.isUnavailable { return databaseUnavailable }
            let refusals: [MireError.Code] = [
                .concurrencyConflict, .streamNotFound, .eventRefused, .invalidStreamID, .invalidOperation,
                .eventIDReused,
                .repeatedEventID, .lockTimeout,
            ]
            return refusals.contains(error.code) ? refused : .failure
        default: return .failure
        }
    }

    /// What went wrong, for a person: the error's own words, and for a database failure the
    /// server's or libpq's reason (which never holds a password: the driver redacts it).
    static func message(for error: any Error) -> String {
        switch error {
        case let error as PGError: return reason(of: error)
        case let error as MireError:
            guard let database = error.underlying as? PGError else { return "\(error)" }
            return "\(error.code): \(error.message) — \(reason(of: database))"
                + (error.recovery.map { " (\($0))" } ?? "")
        default: return "\(error)"
        }
    }

    private static func reason(of error: PGError) -> String {
        let what =
            switch error.code {
            case .connectionFailed: "could not connect to the database"
            case .connectionLost: "the connection to the database was lost"
            case .poolClosed: "the connection pool was closed"
            default: "the database failed"
            }
        var text = "\(what): \(error.message)"
        if let sqlState = error.sqlState { text += " [SQLSTATE \(sqlState)]" }
        if let hint = error.hint { text += " (hint: \(hint))" }
        return text
    }
}

extension PGError {
    /// Whether the database could not be reached or was lost: not the command's fault.
    fileprivate var isUnavailable: Bool {
        code == .connectionFailed || code == .connectionLost || code == .poolClosed
    }
}
