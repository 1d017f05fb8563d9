import Foundation
@_spi(Internals) import MireCore
import MirePQ
import MirePostgres
import MireTransactions

/// How a delivery of events to a process manager runs, inside the delivery's transaction: route
/// each event to its process, decide the reactions from the process's state, run them, fold the
/// event in, and store the states touched (the runner then moves the checkpoint in the same
/// transaction).
struct ProcessDelivery<Manager: ProcessManager>: Sendable {
    let store: EventStore
    /// The partition this delivery serves, of how many.
    let partition: Int
    let partitions: Int

    init(store: EventStore, partition: Int = 0, of partitions: Int = 1) {
        self.store = store
        self.partition = partition
        self.partitions = partitions
    }

    /// The partition of `processID`, of `count`: FNV-1a over its UTF-8 bytes, the same in every
    /// process and on every run.
    static func partition(of processID: String, count: Int) -> Int {
        guard count > 1 else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in processID.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return Int(hash % UInt64(count))
    }

    /// The process `event` belongs to: a deadline's own (deadlines go to the process manager that
    /// scheduled them, and to no other), or the one the process manager names.
    static func processID(for event: RawRecordedEvent) throws -> String? {
        if event.type == ProcessDeadline.eventType {
            return event.stream.category == Manager.deadlineCategory ? event.stream.entityID : nil
        }
        return try Manager.processID(for: event)
    }

    /// Whether the deadline that `event` delivers is still wanted, marking it delivered: not when
    /// its process cancelled it after it fired (a cancel that raced the poller).
    private static func takeDeadline(_ event: RawRecordedEvent, on connection: PGConnection) async throws -> Bool {
        try await connection.query(
            """
            UPDATE mire_process_deadlines SET delivered_at = now()
            WHERE deadline_id = \(event.metadata.eventID) AND cancelled_at IS NULL AND delivered_at IS NULL
            """,
            prepared: true
        ).affectedRows == 1
    }

    /// The process `event` belongs to when it is in this delivery's partition; nil otherwise.
    func route(_ event: RawRecordedEvent) throws -> String? {
        guard let processID = try Self.processID(for: event) else { return nil }
        return Self.partition(of: processID, count: partitions) == partition ? processID : nil
    }

    /// Whether this delivery handles `event`; one whose routing fails counts, so that the
    /// failure surfaces in its delivery.
    func isRelevant(_ event: RawRecordedEvent) -> Bool {
        do {
            return try route(event) != nil
        } catch {
            return true
        }
    }

    /// Handles each event of the delivery that this partition routes: its process's state is
    /// loaded, the reactions run, the event folded in and the state stored, all in the
    /// delivery's transaction (the runner's relevance cut makes that one event per delivery).
    func handle(_ events: [RawRecordedEvent], on connection: PGConnection) async throws {
        try await EventTransaction.borrowing(connection, of: store) { transaction in
            for event in events {
                guard let processID = try route(event) else { continue }
                if event.type == ProcessDeadline.eventType, try await !Self.takeDeadline(event, on: connection) {
                    continue
                }
                var process = try await ProcessStates.load(Manager.self, processID: processID, on: connection)
                let reactions = try process.state.handle(event)
                for (index, reaction) in reactions.enumerated() {
                    try await run(
                        reaction, index: index, trigger: event, processID: processID, transaction: transaction,
                        connection: connection)
                }
                try process.state.apply(event)
                process.eventsHandled += 1
                process.lastEventID = event.metadata.eventID
                try await ProcessStates.store(process, processID: processID, on: connection)
            }
        }
    }

    /// Runs reaction `index` of the reactions to `trigger`.
    private func run(
        _ reaction: ProcessReaction, index: Int, trigger: RawRecordedEvent, processID: String,
        transaction: EventTransaction, connection: PGConnection
    ) async throws {
        let cause = trigger.metadata
        let correlation = cause.correlationID ?? cause.eventID
        switch reaction.kind {
        case .step(let body):
            let step = ProcessStep(transaction: transaction) { save, event, metadata in
                metadata.eventID = Self.derivedID(reaction: index, part: "\(save)/\(event)", of: cause.eventID)
                metadata.correlationID = correlation
                metadata.causationID = cause.eventID
            }
            try await body(step)
        case .send(let topic, let key, let payload):
            let derived = Self.derivedID(reaction: index, part: "message", of: cause.eventID).uuidString.lowercased()
            try await Outbox.enqueue(
                OutboxMessage(topic: topic, key: key ?? "\(Manager.name)-\(derived)", payload: payload), on: connection)
        case .schedule(let name, let delay):
            // Refused here, in the reaction, rather than when it comes due: the stream it will
            // be delivered in must be a valid one.
            _ = try StreamID(category: Manager.deadlineCategory, id: processID)
            let deadlineID = Self.derivedID(reaction: index, part: "deadline", of: cause.eventID)
            try await connection.query(
                """
                INSERT INTO mire_process_deadlines
                    (deadline_id, process_manager, process_id, name, due_at, correlation_id, causation_id)
                VALUES (\(deadlineID), \(Manager.name), \(processID), \(name),
                        now() + \(delay.wholeMilliseconds) * interval '1 millisecond', \(correlation), \(cause.eventID))
                ON CONFLICT (deadline_id) DO NOTHING
                """,
                prepared: true)
        case .cancel(let name):
            // Also one that fired and is not delivered yet: its event is then dropped on arrival.
            try await connection.query(
                """
                UPDATE mire_process_deadlines SET cancelled_at = now()
                WHERE process_manager = \(Manager.name) AND process_id = \(processID) AND name = \(name)
                  AND cancelled_at IS NULL AND delivered_at IS NULL
                """,
                prepared: true)
        }
    }

    /// The id of what reaction `index` to the event `trigger` produces (`part`: a save's and an
    /// event's index, `deadline` or `message`): the same on every run, distinct across process
    /// managers and reactions.
    static func derivedID(reaction index: Int, part: String, of trigger: UUID) -> UUID {
        UUID(name: "\(Manager.name)/\(index)/\(part)", in: trigger)
    }
}
