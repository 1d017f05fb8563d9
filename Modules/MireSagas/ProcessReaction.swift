public import Foundation
@_spi(Internals) public import MireCore
public import MireTransactions

/// What a process manager does about an event: a command to an aggregate (or a step over
/// several), a message for the outbox, or a deadline to schedule or cancel. Reactions run in the order given, in the transaction that also stores the
/// process's state and the checkpoint.
///
/// ```swift
/// return [
///     .command(Account.self, id: from) { account in try account.reserve(amount, for: transfer) },
///     .schedule("expire", after: .seconds(30)),
/// ]
/// ```
public struct ProcessReaction: Sendable {
    enum Kind: Sendable {
        /// Loads and saves aggregates through the step (a command: one aggregate).
        case step(@Sendable (ProcessStep) async throws -> Void)
        case send(topic: String, key: String?, payload: Data)
        case schedule(name: String, delay: Duration)
        case cancel(name: String)
    }

    let kind: Kind

    /// Runs `command` on the aggregate `type` with id `id`, loaded with its stream locked (or new,
    /// when the stream has no events), and saves the events it records. The events' ids derive
    /// from the triggering event and the reaction's place; their correlation id is the
    /// trigger's (or the trigger's own id), their causation id the trigger's id; custom metadata
    /// set by the command is kept.
    ///
    /// A command that throws fails the whole delivery, which is retried (and, under a poison
    /// policy that skips, eventually skipped): for an outcome of the business (insufficient
    /// funds), record an event that says so instead of throwing.
    ///
    /// ```swift
    /// .command(Account.self, id: "acc-1") { account in account.record(.deposited(amount: 5)) }
    /// ```
    public static func command<A: Aggregate>(
        _ type: A.Type, id: String, _ command: @escaping @Sendable (inout AggregateRoot<A>) throws -> Void
    ) -> ProcessReaction {
        step { step in
            var root = try await step.load(A.self, id: id) ?? AggregateRoot<A>(id: id)
            try command(&root)
            try await step.save(&root)
        }
    }

    /// Runs `body`, which loads and saves aggregates through a ``ProcessStep``: for a step that
    /// decides across aggregates (credit the destination if it is open, else refuse on the
    /// source). Events saved through the step get ids derived from the trigger, the reaction's
    /// place and the save's, and the trigger's correlation and causation, as with a command.
    ///
    /// ```swift
    /// .step { step in
    ///     if var to = try await step.load(Account.self, id: to), to.state.isOpen {
    ///         to.record(.credited(amount: amount, transfer: transfer))
    ///         try await step.save(&to)
    ///     }
    /// }
    /// ```
    public static func step(_ body: @escaping @Sendable (ProcessStep) async throws -> Void) -> ProcessReaction {
        ProcessReaction(kind: .step(body))
    }

    /// Writes a message to the outbox (for a system outside PostgreSQL), delivered at least once
    /// by an ``OutboxWorker``. Its key, by which receivers deduplicate, is `key`, or else derived
    /// from the triggering event and the reaction's place (the same on every run).
    ///
    /// ```swift
    /// .send("large-withdrawal", json: Alert(account: id, cents: cents))
    /// ```
    public static func send(_ topic: String, key: String? = nil, json: some Encodable) throws -> ProcessReaction {
        ProcessReaction(kind: .send(topic: topic, key: key, payload: try encodeJSON(json)))
    }

    /// Schedules the deadline `name` of this process, due `delay` after the reaction commits
    /// (by the database's clock). When due, it is delivered once to the process as an event
    /// (see ``ProcessDeadline``). Scheduling a name again adds another deadline of that name.
    ///
    /// ```swift
    /// .schedule("expire", after: .seconds(30))
    /// ```
    public static func schedule(_ name: String, after delay: Duration) -> ProcessReaction {
        ProcessReaction(kind: .schedule(name: name, delay: delay))
    }

    /// Cancels this process's deadlines named `name` that it has not received yet: one not fired
    /// never fires, and one that fired meanwhile is dropped when it arrives.
    ///
    /// ```swift
    /// .cancelDeadline("expire")
    /// ```
    public static func cancelDeadline(_ name: String) -> ProcessReaction {
        ProcessReaction(kind: .cancel(name: name))
    }
}
