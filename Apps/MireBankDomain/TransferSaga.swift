public import Foundation
public import Logging
public import MireSagas

/// Moves money between accounts in steps, each a save of one aggregate, taken exactly once:
///
/// 1. `transfer.requested` → reserve on the source (`account.reserved`), or fail the transfer
///    when the source cannot pay (`account.transferRefused`, then `transfer.failed`);
/// 2. `account.reserved` → credit the destination (`account.credited`), or, when it is closed
///    or missing, refuse on the source;
/// 3. `account.credited` → confirm on the source (`account.reservationConfirmed`) and complete the
///    transfer; a refusal after the reservation → return the money
///    (`account.reservationReleased`, the compensation), then fail the transfer;
/// 4. `transfer.completed` → a receipt, one ``receiptDelay`` later (a deadline), sent through
///    the outbox (topic `transfer-receipt`).
///
/// ```swift
/// try await bank.requestTransfer("t-1", Money(cents: 25_00), from: "alice", to: "bob")
/// try await ProcessManagerRunner(TransferSaga.self, store: bank.store, configuration: .init(workerID: "w"), logger: logger)
///     .runUntilCaughtUp()
/// ```
public struct TransferSaga: ProcessManager, Equatable {
    public static let name = "transfer_saga"
    /// How long after completion the receipt is sent.
    public static let receiptDelay = Duration.seconds(1)
    /// The outbox topic of receipts.
    public static let receiptTopic = "transfer-receipt"

    /// Where the process stands.
    public enum Step: String, Sendable, Codable {
        case new, reserving, crediting, returning, completed, failed
    }

    /// A receipt, as sent to the outside.
    public struct Receipt: Sendable, Codable, Equatable {
        public var transfer: String
        public var from: String
        public var to: String
        public var cents: Int64
    }

    public var step = Step.new
    public var from = ""
    public var to = ""
    public var amount: Int64 = 0
    public var failure: String?
    public var receiptSent = false

    public init() {}

    /// The account events that belong to a saga transfer.
    static let sagaAccountEvents: Set<String> = [
        "account.reserved", "account.reservationReleased", "account.reservationConfirmed", "account.credited",
        "account.transferRefused",
    ]

    public static func processID(for event: RawRecordedEvent) throws -> String? {
        switch event.stream.category {
        case TransferOrder.category:
            return event.stream.entityID
        case Account.category:
            // Only the saga's own account events are decoded: any other (one of a newer version
            // of the app, say) must not stop the saga.
            guard sagaAccountEvents.contains(event.type) else { return nil }
            switch try event.decode(as: Account.self).event {
            case .reserved(_, let transfer, _), .reservationReleased(_, let transfer), .credited(_, let transfer, _),
                .transferRefused(let transfer, _), .reservationConfirmed(_, let transfer):
                return transfer
            default:
                return nil
            }
        default:
            return nil
        }
    }

    public func handle(_ event: RawRecordedEvent) throws -> [ProcessReaction] {
        let transfer = try Self.processID(for: event) ?? event.stream.entityID
        if event.deadline?.name == "receipt" {
            let receipt = Receipt(transfer: transfer, from: from, to: to, cents: amount)
            return [
                .command(TransferOrder.self, id: transfer) { $0.record(.receiptIssued) },
                try .send(Self.receiptTopic, key: "receipt-\(transfer)", json: receipt),
            ]
        }
        if event.stream.category == TransferOrder.category {
            switch try event.decode(as: TransferOrder.self).event {
            case .requested(let from, let to, let cents):
                return [Self.reserve(Money(cents: cents), transfer: transfer, from: from, to: to)]
            case .completed:
                return [.schedule("receipt", after: Self.receiptDelay)]
            case .failed, .receiptIssued:
                return []
            }
        }
        let (from, to, amount) = (self.from, self.to, Money(cents: self.amount))
        switch try event.decode(as: Account.self).event {
        case .reserved:
            return [Self.credit(amount, transfer: transfer, from: from, to: to)]
        case .credited:
            return [
                .command(Account.self, id: from) { $0.confirmReservation(amount, for: transfer) },
                .command(TransferOrder.self, id: transfer) { $0.record(.completed) },
            ]
        case .transferRefused(_, let reason) where step == .reserving:
            return [.command(TransferOrder.self, id: transfer) { $0.record(.failed(reason: reason)) }]
        case .transferRefused where step == .crediting:
            return [.command(Account.self, id: from) { try $0.releaseReservation(amount, for: transfer) }]
        case .reservationReleased:
            let reason = failure ?? "the destination refused the money"
            return [
                .command(TransferOrder.self, id: transfer) {
                    $0.record(.failed(reason: "\(reason); the money was returned to \(from)"))
                }
            ]
        default:
            return []
        }
    }

    public mutating func apply(_ event: RawRecordedEvent) throws {
        if event.deadline != nil {
            receiptSent = true
            return
        }
        if event.stream.category == TransferOrder.category {
            switch try event.decode(as: TransferOrder.self).event {
            case .requested(let from, let to, let cents):
                (self.from, self.to, amount, step) = (from, to, cents, .reserving)
            case .completed: step = .completed
            case .failed(let reason):
                step = .failed
                failure = failure ?? reason
            case .receiptIssued: break
            }
            return
        }
        switch try event.decode(as: Account.self).event {
        case .reserved: step = .crediting
        case .transferRefused(_, let reason):
            failure = reason
            if step == .crediting { step = .returning }
        default: break
        }
    }

    /// Step 1: reserve on the source; a source that does not exist fails the transfer (its
    /// refusal cannot be recorded on an account that is not there).
    static func reserve(_ amount: Money, transfer: String, from: String, to: String) -> ProcessReaction {
        .step { step in
            if var source = try await step.load(Account.self, id: from) {
                source.reserve(amount, for: transfer, to: to)
                try await step.save(&source)
            } else if var order = try await step.load(TransferOrder.self, id: transfer) {
                order.record(.failed(reason: "\(BankError.notFound(account: from))"))
                try await step.save(&order)
            }
        }
    }

    /// Step 2: credit the destination; when it cannot take the money (missing, closed), the
    /// refusal is recorded on the source, which the compensation then pays back.
    static func credit(_ amount: Money, transfer: String, from: String, to: String) -> ProcessReaction {
        .step { step in
            let destination = try await step.load(Account.self, id: to)
            if var destination, destination.state.isOpen {
                destination.credit(amount, for: transfer, from: from)
                try await step.save(&destination)
            } else if var source = try await step.load(Account.self, id: from) {
                let reason =
                    destination?.state.isClosed == true ? BankError.closed(account: to) : .notFound(account: to)
                source.record(.transferRefused(transfer: transfer, reason: "\(reason)"))
                try await step.save(&source)
            }
        }
    }
}

extension Bank {
    /// The transfer saga's runner on this worker: a 3 s lease (as the read model's), polls every
    /// 250 ms, deadlines looked for every 250 ms.
    ///
    /// ```swift
    /// let saga = bank.transferSaga(workerID: "api-1", logger: logger)
    /// ```
    public func transferSaga(workerID: String, logger: Logger) -> ProcessManagerRunner<TransferSaga> {
        var configuration = ProcessManagerRunner<TransferSaga>.Configuration(workerID: workerID)
        configuration.delivery.leaseTTL = .seconds(3)
        configuration.delivery.heartbeatInterval = .seconds(1)
        configuration.delivery.leaseRecheckInterval = .milliseconds(500)
        configuration.delivery.pollInterval = .milliseconds(250)
        configuration.deadlinePollInterval = .milliseconds(250)
        return ProcessManagerRunner(store: store, configuration: configuration, logger: logger)
    }

    /// The bank's outbox worker: claims of 5 s, polls every 250 ms, 8 attempts from 100 ms
    /// doubling to 5 s.
    ///
    /// ```swift
    /// let notifier = bank.outboxWorker(workerID: "api-1", logger: logger) { delivery in … }
    /// ```
    public func outboxWorker(
        workerID: String, logger: Logger, deliver: @escaping @Sendable (OutboxDelivery) async throws -> Void
    ) -> OutboxWorker {
        var configuration = OutboxWorker.Configuration(workerID: workerID)
        configuration.claimTTL = .seconds(5)
        configuration.pollInterval = .milliseconds(250)
        configuration.retry = RetryPolicy(maximumAttempts: 8, baseDelay: .milliseconds(100), maximumDelay: .seconds(5))
        return OutboxWorker(store: store, configuration: configuration, logger: logger, deliver: deliver)
    }
}
