import Foundation
import MirePQ
import MireSagas
import MireTestSupport

/// A wallet: money available, and money reserved for transfers in flight.
struct Wallet: Aggregate {
    static let category = "wallet"
    enum Event: Codable, Sendable, Equatable {
        case deposited(amount: Int64)
        case reserved(amount: Int64, transfer: String)
        case refused(transfer: String)
        case credited(amount: Int64, transfer: String)
        case confirmed(transfer: String)
    }
    var available: Int64 = 0
    var reserved: [String: Int64] = [:]
    var total: Int64 { available + reserved.values.reduce(0, +) }

    mutating func apply(_ event: Event) {
        switch event {
        case .deposited(let amount): available += amount
        case .reserved(let amount, let transfer):
            available -= amount
            reserved[transfer] = amount
        case .refused: break
        case .credited(let amount, _): available += amount
        case .confirmed(let transfer): reserved[transfer] = nil
        }
    }
}

/// A request to move money, the saga's trigger.
struct TransferOrder: Aggregate {
    static let category = "order"
    enum Event: Codable, Sendable {
        case requested(from: String, to: String, amount: Int64)
        case cancelled
    }
    mutating func apply(_ event: Event) {}
}

/// Something a deadline wrote.
struct Note: Aggregate {
    static let category = "note"
    enum Event: Codable, Sendable, Equatable {
        case written(String)
    }
    var texts: [String] = []
    mutating func apply(_ event: Event) {
        if case .written(let text) = event { texts.append(text) }
    }
}

/// Thrown by a command a test asked to fail.
struct InjectedFailure: Error {}

/// Reserve on the source, credit the destination, confirm on the source; refused when the
/// source lacks the money. Every event it handles is remembered, to check none comes twice.
struct TransferSaga: ProcessManager {
    static let name = "transfer_saga"
    /// Transfers whose credit command fails this many more times, set by a test: the delivery
    /// then rolls back after the commands before it ran.
    static let creditFailures = Locked<[String: Int]>([:])

    static func failIfAsked(_ transfer: String) throws {
        let fail = creditFailures.withLock { failures in
            guard let left = failures[transfer], left > 0 else { return false }
            failures[transfer] = left - 1
            return true
        }
        if fail { throw InjectedFailure() }
    }

    enum Step: String, Codable { case new, reserving, crediting, confirming, done, refused }
    var step = Step.new
    var from = ""
    var to = ""
    var amount: Int64 = 0
    var handled: [String] = []

    static func processID(for event: RawRecordedEvent) throws -> String? {
        switch event.stream.category {
        case TransferOrder.category: return event.stream.entityID
        case Wallet.category:
            switch try event.decode(as: Wallet.self).event {
            case .reserved(_, let transfer), .refused(let transfer), .credited(_, let transfer),
                .confirmed(let transfer):
                return transfer
            case .deposited: return nil
            }
        default: return nil
        }
    }

    func handle(_ event: RawRecordedEvent) throws -> [ProcessReaction] {
        let transfer = try Self.processID(for: event) ?? ""
        if event.stream.category == TransferOrder.category {
            guard case .requested(let from, _, let amount) = try event.decode(as: TransferOrder.self).event else {
                return []
            }
            return [
                .command(Wallet.self, id: from) { wallet in
                    if wallet.state.available >= amount {
                        wallet.record(.reserved(amount: amount, transfer: transfer))
                    } else {
                        wallet.record(.refused(transfer: transfer))
                    }
                }
            ]
        }
        switch try event.decode(as: Wallet.self).event {
        case .reserved:
            let (to, amount) = (self.to, self.amount)
            return [
                .command(Note.self, id: transfer) { $0.record(.written("crediting \(to)")) },
                .command(Wallet.self, id: to) { wallet in
                    try Self.failIfAsked(transfer)
                    wallet.record(.credited(amount: amount, transfer: transfer))
                },
            ]
        case .credited:
            return [.command(Wallet.self, id: from) { $0.record(.confirmed(transfer: transfer)) }]
        default:
            return []
        }
    }

    mutating func apply(_ event: RawRecordedEvent) throws {
        handled.append(event.type)
        if case .requested(let from, let to, let amount)? = try? event.decode(as: TransferOrder.self).event {
            (self.from, self.to, self.amount, step) = (from, to, amount, .reserving)
            return
        }
        switch try event.decode(as: Wallet.self).event {
        case .reserved: step = .crediting
        case .refused: step = .refused
        case .credited: step = .confirming
        case .confirmed: step = .done
        case .deposited: break
        }
    }
}

/// Schedules two deadlines per order and cancels one; writes a note when the other comes due.
struct Reminder: ProcessManager {
    static let name = "reminder"
    var reminded = 0

    static func processID(for event: RawRecordedEvent) throws -> String? {
        event.stream.category == TransferOrder.category ? event.stream.entityID : nil
    }

    func handle(_ event: RawRecordedEvent) throws -> [ProcessReaction] {
        if let deadline = event.deadline {
            let id = event.stream.entityID
            return [.command(Note.self, id: id) { $0.record(.written("\(deadline.name) for \(id)")) }]
        }
        if case .cancelled = try event.decode(as: TransferOrder.self).event { return [.cancelDeadline("remind")] }
        return [
            .schedule("remind", after: .seconds(3_600)),
            .schedule("withdrawn", after: .seconds(3_600)),
            .cancelDeadline("withdrawn"),
        ]
    }

    mutating func apply(_ event: RawRecordedEvent) throws {
        if event.deadline != nil { reminded += 1 }
    }
}

/// A runner configuration for tests: short lease, fast polling, no wake-ups.
func sagaConfiguration<Manager: ProcessManager>(_ worker: String, for type: Manager.Type)
    -> ProcessManagerRunner<Manager>.Configuration
{
    var configuration = ProcessManagerRunner<Manager>.Configuration(workerID: worker)
    configuration.delivery.leaseTTL = .seconds(2)
    configuration.delivery.heartbeatInterval = .milliseconds(500)
    configuration.delivery.leaseRecheckInterval = .milliseconds(100)
    configuration.delivery.pollInterval = .milliseconds(50)
    configuration.delivery.initialBackoff = .milliseconds(10)
    configuration.delivery.maximumBackoff = .milliseconds(100)
    configuration.delivery.wakeUpChannel = nil
    configuration.deadlinePollInterval = .milliseconds(50)
    return configuration
}
