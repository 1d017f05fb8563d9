import Foundation
@_spi(Internals) import MireCore
import MirePQ

/// One process as stored in `mire_process_states`: the process manager's state and how many
/// events it handled.
struct ProcessRecord<Manager: ProcessManager>: Sendable {
    var state: Manager
    var eventsHandled: Int64
    var lastEventID: UUID?
}

/// Reads and writes processes' states, on the delivery's connection (inside its transaction).
enum ProcessStates {
    /// The process `processID` of `Manager`, or a new one.
    static func load<Manager: ProcessManager>(
        _ type: Manager.Type, processID: String, on connection: PGConnection
    ) async throws -> ProcessRecord<Manager> {
        try await find(type, processID: processID, on: connection) ?? ProcessRecord(state: Manager(), eventsHandled: 0)
    }

    /// The process `processID` of `Manager`, or nil before its first event.
    static func find<Manager: ProcessManager>(
        _ type: Manager.Type, processID: String, on connection: PGConnection
    ) async throws -> ProcessRecord<Manager>? {
        let rows = try await connection.query(
            """
            SELECT state, events_handled FROM mire_process_states
            WHERE process_manager = \(Manager.name) AND process_id = \(processID)
            """,
            prepared: true)
        guard let row = rows.first else { return nil }
        let json = try row.decode(PGJSONB.self, at: 0)
        let state: Manager
        do {
            state = try decodeJSON(Manager.self, from: json.utf8)
        } catch {
            throw MireError(
                code: .undecodableState,
                message:
                    "the stored state of process '\(processID)' of \(Manager.name) cannot be decoded as \(Manager.self)",
                recovery: "keep \(Manager.self)'s Codable form compatible with stored states (new fields optional), "
                    + "or reset the process manager",
                underlying: error)
        }
        return ProcessRecord(state: state, eventsHandled: try row.decode(Int64.self, at: 1))
    }

    /// Stores `record` as process `processID`'s.
    static func store<Manager: ProcessManager>(
        _ record: ProcessRecord<Manager>, processID: String, on connection: PGConnection
    ) async throws {
        let state = PGJSONB(utf8: try encodeJSON(record.state))
        try await connection.query(
            """
            INSERT INTO mire_process_states (process_manager, process_id, state, events_handled, last_event_id)
            VALUES (\(Manager.name), \(processID), \(state), \(record.eventsHandled), \(record.lastEventID))
            ON CONFLICT (process_manager, process_id) DO UPDATE SET
                state = EXCLUDED.state, events_handled = EXCLUDED.events_handled,
                last_event_id = EXCLUDED.last_event_id, updated_at = now()
            """,
            prepared: true)
    }
}
