/// A consistency boundary whose state is the fold of its events.
///
/// State is a value with an empty starting point (`init()`), changed only by `apply`, which must
/// be pure: no I/O, no clock, no randomness, no validation (events are facts that already
/// happened). Validation belongs in commands, which check state and then record events.
///
/// ```swift
/// enum AccountEvent: Codable, Sendable {
///     case opened(owner: String)
///     case deposited(amount: Int64)
///     case withdrawn(amount: Int64)
///     case closed
/// }
///
/// struct Account: Aggregate {
///     static let category = "account"
///     var balance: Int64 = 0
///     var isOpen = false
///
///     mutating func apply(_ event: AccountEvent) {
///         switch event {
///         case .opened: isOpen = true
///         case .deposited(let amount): balance += amount
///         case .withdrawn(let amount): balance -= amount
///         case .closed: isOpen = false
///         }
///     }
/// }
/// ```
public protocol Aggregate: Sendable {
    /// The events of this aggregate: a plain `Codable` enum (or struct).
    associatedtype Event: Codable & Sendable

    /// The stream category, e.g. `account`: streams are named `account-<id>`. Must not contain `-`.
    static var category: String { get }

    /// Stored type names pinned per enum case (case name → stored name). By default a case is
    /// stored as `category.caseName` (e.g. `account.deposited`); pin a name before renaming a
    /// case, because renaming orphans the history stored under the old name.
    static var eventTypeNames: [String: String] { get }

    /// Upcasters applied when reading: they map old type names and payloads to current ones.
    static var upcasters: [EventUpcaster] { get }

    /// The empty state, before any event.
    init()

    /// Folds one event into the state.
    mutating func apply(_ event: Event)

    /// Refuses an event this state cannot represent — an amount that would overflow a balance,
    /// say — so that `apply` never traps on it. Loads call it before applying each stored event
    /// (written by another tool, or before a rule changed) and fail with a ``MireError`` coded
    /// `eventRefused` that names the stream, version and position; commands call it before
    /// `record`. The default accepts every event. Business rules stay in commands: a stored
    /// event refused here makes its whole stream unloadable (a snapshot taken after it is
    /// restored without checking the events before it).
    ///
    /// ```swift
    /// func checkApplicable(_ event: AccountEvent) throws(AccountError) {
    ///     if case .deposited(let amount) = event, balance.addingReportingOverflow(amount).overflow {
    ///         throw .balanceTooLarge
    ///     }
    /// }
    /// ```
    func checkApplicable(_ event: Event) throws
}

extension Aggregate {
    public static var eventTypeNames: [String: String] { [:] }
    public static var upcasters: [EventUpcaster] { [] }

    /// Accepts every event.
    public func checkApplicable(_ event: Event) throws {}
}
