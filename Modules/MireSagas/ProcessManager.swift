public import Foundation
public import MirePostgres

/// A process manager (a saga): reacts to events by sending commands to aggregates, with a state
/// of its own folded from the events it handled, like an aggregate's.
///
/// Each process (one transfer, one order) has an id; ``processID(for:)`` says which process an
/// event belongs to. For each event, ``handle(_:)`` decides the reactions from the state before
/// the event, then ``apply(_:)`` folds the event in. A ``ProcessManagerRunner`` runs every
/// reaction exactly once: the process's state, the process manager's checkpoint and the events
/// the commands produce commit in one transaction; the ids of produced events derive from the
/// triggering event, so a reaction run again after a crash produces the same ids; correlation
/// and causation ids are set from the triggering event.
///
/// ```swift
/// struct Welcome: ProcessManager {
///     static let name = "welcome"
///     var greeted = false
///     static func processID(for event: RawRecordedEvent) throws -> String? {
///         event.stream.category == Account.category ? event.stream.entityID : nil
///     }
///     func handle(_ event: RawRecordedEvent) throws -> [ProcessReaction] {
///         greeted ? [] : [.command(Mailbox.self, id: event.stream.entityID) { try $0.post("welcome") }]
///     }
///     mutating func apply(_ event: RawRecordedEvent) throws { greeted = true }
/// }
/// ```
public protocol ProcessManager: Codable, Sendable {
    /// The stable name, under which its checkpoint, lease, states and deadlines are kept. No `-`.
    /// Never rename one that has run: under a new name it starts from the beginning of the log
    /// and reacts again to every past event, with new ids.
    static var name: String { get }

    /// A process before its first event.
    init()

    /// The process `event` belongs to, or nil when this process manager ignores it. Deadlines
    /// need no routing: each comes back to the process that scheduled it.
    static func processID(for event: RawRecordedEvent) throws -> String?

    /// The reactions to `event`, decided from the state before it: commands to aggregates,
    /// deadlines to schedule or cancel. It must depend on the state and the event only (no
    /// clock, no randomness), so that running it again decides the same.
    func handle(_ event: RawRecordedEvent) throws -> [ProcessReaction]

    /// Folds `event` into the state, after its reactions were decided.
    mutating func apply(_ event: RawRecordedEvent) throws
}

extension ProcessManager {
    /// Where this process manager's checkpoint and lease are kept (beside projections', under a
    /// prefix no projection of an application uses).
    static var projectionName: String { "mire.process.\(name)" }
    /// The checkpoint and lease of partition `index` of `count`.
    static func projectionName(partition index: Int, of count: Int) -> String {
        count == 1 ? projectionName : "\(projectionName)#\(index)/\(count)"
    }
    /// The lease of its deadline poller.
    static var deadlineLease: String { projectionName + ".deadlines" }
    /// The category of the streams its deadlines are delivered in, one per process.
    static var deadlineCategory: String { projectionName }
}

/// A deadline that came due: what a process manager receives, once, after it is due and unless it
/// was cancelled first, as an event of type ``eventType`` in the stream
/// `mire.process.<name>-<process id>`. Other process managers never see it.
///
/// ```swift
/// if let deadline = event.deadline, deadline.name == "expire" { return [.command(…)] }
/// ```
public struct ProcessDeadline: Sendable, Hashable, Codable {
    /// The event type that delivers a deadline.
    public static let eventType = "mire.deadline"

    /// The name given when it was scheduled.
    public var name: String

    /// A deadline named `name`.
    public init(name: String) { self.name = name }
}

extension RawRecordedEvent {
    /// The deadline this event delivers, or nil when it delivers none.
    ///
    /// ```swift
    /// if event.deadline?.name == "expire" { … }
    /// ```
    public var deadline: ProcessDeadline? {
        guard type == ProcessDeadline.eventType else { return nil }
        return try? JSONDecoder().decode(ProcessDeadline.self, from: payload)
    }
}
