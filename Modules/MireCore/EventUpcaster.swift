public import Foundation

/// Maps an old stored event type (and its payload) to a current one when reading, so history
/// written under old names or shapes still loads. The log itself is never rewritten.
///
/// ```swift
/// struct Account: Aggregate {
///     static let upcasters: [EventUpcaster] = [
///         // a pure rename
///         .rename("account.credited", to: "account.deposited"),
///         // a reshaped payload: {"cents": 250} became {"amount": 250}
///         EventUpcaster(from: "account.withdrawal", to: "account.withdrawn") { payload in
///             var object = try EventUpcaster.jsonObject(payload)
///             object["amount"] = object.removeValue(forKey: "cents")
///             return try EventUpcaster.jsonData(object)
///         },
///     ]
/// }
/// ```
public struct EventUpcaster: Sendable {
    /// The stored type name this upcaster reads.
    public let fromType: String
    /// The type name it produces.
    public let toType: String
    /// Rewrites the JSON payload (identity for a rename).
    public let transform: @Sendable (Data) throws -> Data

    /// An upcaster from `fromType` to `toType` that rewrites the payload with `transform`.
    public init(from fromType: String, to toType: String, transform: @escaping @Sendable (Data) throws -> Data) {
        self.fromType = fromType
        self.toType = toType
        self.transform = transform
    }

    /// A type alias: events stored as `oldType` are read as `newType`, payload unchanged.
    public static func rename(_ oldType: String, to newType: String) -> EventUpcaster {
        EventUpcaster(from: oldType, to: newType) { $0 }
    }

    /// Parses a JSON object payload, for transforms.
    ///
    /// - Throws: ``MireError`` `undecodableEvent` when the payload is not a JSON object.
    public static func jsonObject(_ payload: Data) throws(MireError) -> [String: Any] {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: payload)
        } catch {
            throw MireError(
                code: .undecodableEvent, message: "the payload is not JSON: \(error.localizedDescription)",
                recovery: "fix the stored payload, or make the upcaster accept it")
        }
        guard let object = parsed as? [String: Any] else {
            throw MireError(
                code: .undecodableEvent, message: "the payload is not a JSON object",
                recovery: "fix the stored payload, or make the upcaster accept it")
        }
        return object
    }

    /// Serialises a JSON object, for transforms.
    ///
    /// - Throws: ``MireError`` `undecodableEvent` when the object holds a value JSON cannot
    ///   (a `Date`, a NaN).
    public static func jsonData(_ object: [String: Any]) throws(MireError) -> Data {
        do {
            return try JSONSerialization.data(withJSONObject: object)
        } catch {
            throw MireError(
                code: .undecodableEvent,
                message: "the upcaster's result is not JSON: \(error.localizedDescription)",
                recovery: "put only strings, numbers, booleans, null, arrays and objects in the result")
        }
    }
}
