public import MireCore

/// Given / when / then for an aggregate's commands, without a database: the history the
/// aggregate has, the command it runs, and the events it records (or the error it throws).
///
/// ```swift
/// @Test func anOverdraftIsRefused() throws {
///     try AggregateScenario(Account.self)
///         .given(.opened(owner: "Alice"), .deposited(amount: 100))
///         .when { try $0.withdraw(150) }
///         .thenFails(with: BankError.insufficientFunds(balance: 100, requested: 150))
/// }
///
/// @Test func aDepositIsRecorded() throws {
///     try AggregateScenario(Account.self)
///         .given(.opened(owner: "Alice"))
///         .when { try $0.deposit(40) }
///         .then(.deposited(amount: 40))
/// }
/// ```
///
/// A failed expectation throws a ``ScenarioFailure`` that says what was expected and what
/// happened, so it works under Swift Testing and XCTest alike.
public struct AggregateScenario<A: Aggregate> {
    /// The aggregate's stream.
    public let stream: StreamID
    /// The history, oldest first.
    public private(set) var history: [A.Event] = []

    /// A scenario for an aggregate of `type` with id `id` and no history yet.
    public init(_ type: A.Type = A.self, id: String = "scenario") throws {
        stream = try StreamID(category: A.category, id: id)
    }

    /// The scenario with `events` in the aggregate's history (after any given before).
    public func given(_ events: A.Event...) -> Self {
        given(events)
    }

    /// The scenario with `events` in the aggregate's history (after any given before).
    public func given(_ events: [A.Event]) -> Self {
        var scenario = self
        scenario.history += events
        return scenario
    }

    /// Replays the history, then runs `command` on the aggregate.
    ///
    /// - Throws: ``ScenarioFailure`` when the history itself cannot be replayed (an event the
    ///   aggregate refuses).
    public func when(_ command: (inout AggregateRoot<A>) throws -> Void) throws -> ScenarioOutcome<A> {
        var root = AggregateRoot<A>(stream: stream, state: A(), version: 0)
        for (offset, event) in history.enumerated() {
            do {
                try root.replay(event, version: Int64(offset) + 1, position: Int64(offset) + 1)
            } catch {
                throw ScenarioFailure(description: "the given history does not replay: \(error)")
            }
        }
        let before = root
        do {
            try command(&root)
            return ScenarioOutcome(before: before, after: root, error: nil)
        } catch {
            return ScenarioOutcome(before: before, after: root, error: error)
        }
    }
}

/// What a command did in an ``AggregateScenario``.
public struct ScenarioOutcome<A: Aggregate> {
    /// The aggregate before the command.
    public let before: AggregateRoot<A>
    /// The aggregate after it (its recorded events not saved).
    public let after: AggregateRoot<A>
    /// What the command threw, if anything.
    public let error: (any Error)?

    /// The events the command recorded, in order.
    public var recorded: [A.Event] { after.uncommittedEvents.map(\.event) }

    /// Expects the command to succeed and record exactly `expected`.
    @discardableResult
    public func then(_ expected: A.Event...) throws -> AggregateRoot<A> where A.Event: Equatable {
        if let error { throw ScenarioFailure(description: "expected events \(expected), the command threw \(error)") }
        guard recorded == expected else {
            throw ScenarioFailure(description: "expected events \(expected), the command recorded \(recorded)")
        }
        return after
    }

    /// Expects the command to throw `expected` and record nothing.
    public func thenFails<E: Error & Equatable>(with expected: E) throws {
        guard let error else {
            throw ScenarioFailure(description: "expected \(expected), the command recorded \(recorded)")
        }
        guard let typed = error as? E, typed == expected else {
            throw ScenarioFailure(description: "expected \(expected), the command threw \(error)")
        }
        try expectNothingRecorded()
    }

    /// Expects the command to throw an error that `matches` accepts, and record nothing.
    public func thenFails(where matches: (any Error) -> Bool) throws {
        guard let error else {
            throw ScenarioFailure(description: "expected an error, the command recorded \(recorded)")
        }
        guard matches(error) else { throw ScenarioFailure(description: "the command threw an unexpected \(error)") }
        try expectNothingRecorded()
    }

    private func expectNothingRecorded() throws {
        guard after.uncommittedEvents.isEmpty else {
            throw ScenarioFailure(
                description: "a failing command must record nothing, but it recorded \(after.uncommittedEvents.count)")
        }
    }
}

/// An ``AggregateScenario`` expectation that did not hold.
public struct ScenarioFailure: Error, CustomStringConvertible {
    /// What was expected and what happened.
    public let description: String
}
