internal import CLibPQ

/// Where a connection stands between statements, as the pool needs to know when it takes the
/// connection back: reusable at once, holding a transaction to roll back, or closed.
///
/// The connection publishes it after every operation, so the pool reads it without a hop to
/// the connection's executor.
enum ConnectionStatus: UInt8, Sendable {
    /// Healthy and outside any transaction: reusable as it is.
    case idle
    /// Inside a transaction block (`BEGIN` sent, no `COMMIT`/`ROLLBACK` yet).
    case inTransaction
    /// Inside a failed transaction block: only `ROLLBACK` is accepted.
    case failedTransaction
    /// Closed: broken, or in a state nobody can vouch for (a result not drained, pipeline mode
    /// not left). Never reused.
    case closed

    /// The status of an open libpq connection, from `PQtransactionStatus`.
    init(transactionStatus: PGTransactionStatusType) {
        switch transactionStatus {
        case PQTRANS_IDLE: self = .idle
        case PQTRANS_INTRANS: self = .inTransaction
        case PQTRANS_INERROR: self = .failedTransaction
        default: self = .closed  // PQTRANS_ACTIVE (a command still running) or PQTRANS_UNKNOWN (bad)
        }
    }
}
