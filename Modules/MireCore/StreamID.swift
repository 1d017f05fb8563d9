/// The id of an event stream: `category-id`, e.g. `account-acc-1`.
///
/// The category is everything before the first `-`; it is stored beside each event so
/// projections can read one category. Ids are validated on creation: non-empty, at most
/// ``maximumLength`` UTF-8 bytes, no control characters.
///
/// ```swift
/// let stream = try StreamID(category: "account", id: "acc-1")
/// print(stream)           // account-acc-1
/// print(stream.category)  // account
/// ```
public struct StreamID: Hashable, Sendable, CustomStringConvertible, Codable {
    /// The longest stream id accepted, in UTF-8 bytes.
    public static let maximumLength = 255

    /// The full stream id.
    public let rawValue: String

    /// A stream id from its category and the entity's id.
    ///
    /// - Throws: ``MireError`` with code `invalidStreamID` when either part is empty, the
    ///   category contains `-`, or the result is too long or holds control characters.
    public init(category: String, id: String) throws(MireError) {
        guard !category.isEmpty, !category.unicodeScalars.contains("-") else {
            throw MireError(
                code: .invalidStreamID,
                message: "category '\(category)' must be non-empty and contain no '-'",
                recovery: "use a short lowercase noun such as 'account'"
            )
        }
        guard !id.isEmpty else {
            throw MireError(
                code: .invalidStreamID,
                message: "the id in category '\(category)' is empty",
                recovery: "pass the entity's non-empty id"
            )
        }
        try self.init(category + "-" + id)
    }

    /// A stream id from its full text, e.g. `account-acc-1`: the same rule as
    /// ``init(category:id:)``, so a category and an id, both non-empty, joined by `-`.
    ///
    /// ```swift
    /// let stream = try StreamID("order-2024-0001")
    /// ```
    public init(_ rawValue: String) throws(MireError) {
        try Self.validate(rawValue)
        self.rawValue = rawValue
    }

    /// The category: the part before the first `-`.
    public var category: String {
        Self.dash(in: rawValue).map { String(rawValue.unicodeScalars[..<$0]) } ?? rawValue
    }

    /// The entity's id: the part after the first `-`.
    public var entityID: String {
        Self.dash(in: rawValue).map { String(rawValue.unicodeScalars[rawValue.unicodeScalars.index(after: $0)...]) }
            ?? ""
    }

    /// The first '-', found among Unicode scalars rather than characters: a '-' that a
    /// neighbouring scalar joins into one character (U+0600 before it, a combining mark after
    /// it) still separates the category from the id.
    static func dash(in text: String) -> String.Index? {
        text.unicodeScalars.firstIndex(of: "-")
    }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    static func validate(_ text: String) throws(MireError) {
        guard !text.isEmpty else {
            throw MireError(code: .invalidStreamID, message: "the stream id is empty", recovery: "pass a non-empty id")
        }
        guard let dash = dash(in: text), dash != text.startIndex,
            text.unicodeScalars.index(after: dash) != text.endIndex
        else {
            throw MireError(
                code: .invalidStreamID,
                message: "the stream id '\(text.prefix(40))' is not 'category-id' with both parts non-empty",
                recovery: "build it with StreamID(category:id:), e.g. account-acc-1"
            )
        }
        guard text.utf8.count <= maximumLength else {
            throw MireError(
                code: .invalidStreamID,
                message: "the stream id is \(text.utf8.count) bytes long; the limit is \(maximumLength)",
                stream: String(text.prefix(40)) + "…",
                recovery: "use a shorter id, e.g. a UUID"
            )
        }
        // Printable ASCII holds no control character: only other text needs Unicode's categories
        // (looked up per scalar, a visible share of a save's client time).
        guard text.utf8.contains(where: { $0 < 0x20 || $0 >= 0x7F }) else { return }
        if let bad = text.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            throw MireError(
                code: .invalidStreamID,
                message:
                    "the stream id contains the control character U+\(String(bad.value, radix: 16, uppercase: true))",
                recovery: "remove control characters (newlines, tabs, NUL) from the id"
            )
        }
    }
}
