/// What a save expects of the stream's current version: the optimistic-concurrency rule.
///
/// ```swift
/// try await store.append(events, to: stream, expecting: .exact(3))
/// try await store.append(events, to: newStream, expecting: .noStream)
/// ```
public enum ExpectedVersion: Hashable, Sendable, CustomStringConvertible {
    /// The stream must be exactly at this version (0 means it must not exist yet).
    case exact(Int64)
    /// The stream must not exist.
    case noStream
    /// The stream must exist, at any version.
    case streamExists
    /// No check.
    case any

    /// Whether a stream currently at `current` (0 when missing) satisfies this expectation.
    ///
    /// ```swift
    /// ExpectedVersion.exact(2).isSatisfied(by: 2)  // true
    /// ExpectedVersion.noStream.isSatisfied(by: 1)  // false
    /// ```
    public func isSatisfied(by current: Int64) -> Bool {
        switch self {
        case .exact(let version): current == version
        case .noStream: current == 0
        case .streamExists: current > 0
        case .any: true
        }
    }

    /// The wire encoding used by the append function: `n ≥ 0` exact, `-1` no stream,
    /// `-2` stream exists, `-3` any.
    package var encoded: Int64 {
        switch self {
        case .exact(let version): version
        case .noStream: -1
        case .streamExists: -2
        case .any: -3
        }
    }

    public var description: String {
        switch self {
        case .exact(let version): "version \(version)"
        case .noStream: "no stream"
        case .streamExists: "an existing stream"
        case .any: "any version"
        }
    }
}
