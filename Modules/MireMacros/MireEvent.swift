@_exported public import MireCore

/// Generates a decoder for an event enum's stored payloads (a ``MireCore/GeneratedEventDecoding``
/// conformance): loads read each case's associated values straight from the stored JSON instead
/// of going through synthesized `Codable`'s keyed containers, about three times faster per event.
///
/// The enum keeps its synthesized `Codable` conformance: saves encode with it, and whenever the
/// generated decoder cannot read a payload (a missing key, a wrong type, an unknown case), the
/// event is decoded by `Codable` again, so values and errors are the same either way. An enum
/// with its own `CodingKeys`, `<Case>CodingKeys` or `init(from:)` in its body is refused at
/// compile time (its payloads are not the synthesized shape the generated code reads); the macro
/// cannot see an extension, so never declare those in one of a `@MireEvent` enum. Cases under
/// `@available` are left to `Codable`.
///
/// ```swift
/// import MireMacros
///
/// @MireEvent
/// enum AccountEvent: Codable, Sendable {
///     case opened(owner: String)
///     case deposited(amount: Int64, note: String?)
///     case closed
/// }
/// ```
@attached(extension, conformances: GeneratedEventDecoding, names: named(decodeStoredCase))
public macro MireEvent() = #externalMacro(module: "MireMacrosPlugin", type: "MireEventMacro")
