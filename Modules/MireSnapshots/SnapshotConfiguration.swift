/// How snapshots are taken, stored and read.
///
/// ```swift
/// var configuration = SnapshotConfiguration(every: 200)
/// configuration.compressionLevel = .fast
/// let snapshots = Snapshots(configuration: configuration, logger: logger)
/// ```
public struct SnapshotConfiguration: Sendable {
    /// When to take a snapshot after a save.
    public enum Policy: Sendable, Hashable {
        /// Whenever a save crosses a multiple of this many events (e.g. 100, 200, …).
        case every(Int)
        /// Only when asked (``MirePostgres/EventStore/takeSnapshot(_:)``).
        case manual
    }

    /// Where the snapshot write runs.
    public enum WriteMode: Sendable, Hashable {
        /// In the store's background work, off the save's critical path (the default); written on
        /// the saving caller's path when the store is not running (see `EventStore.run()`).
        case background
        /// Before `save` returns (one extra round trip); useful in tests and scripts.
        case inline
    }

    /// When to take snapshots (aggregates may override with `snapshotInterval`).
    public var policy: Policy
    /// States at least this large (bytes of JSON) are zlib-compressed; smaller ones gain nothing.
    public var compressionThreshold: Int
    /// zlib's effort.
    public var compressionLevel: CompressionLevel
    /// The largest state accepted when reading, whatever a row claims: a hostile or corrupt blob
    /// cannot make decompression allocate more than this.
    public var maximumStateSize: Int
    /// Where snapshot writes run.
    public var writeMode: WriteMode

    /// A configuration taking a snapshot every `interval` events.
    public init(
        every interval: Int = 100,
        compressionThreshold: Int = 512,
        compressionLevel: CompressionLevel = .default,
        maximumStateSize: Int = 64 << 20,
        writeMode: WriteMode = .background
    ) {
        precondition(interval > 0, "the snapshot interval must be positive")
        self.policy = .every(interval)
        self.compressionThreshold = compressionThreshold
        self.compressionLevel = compressionLevel
        self.maximumStateSize = maximumStateSize
        self.writeMode = writeMode
    }

    /// How hard zlib works on a snapshot: faster, or smaller.
    public struct CompressionLevel: Hashable, Sendable {
        /// zlib's level, 1…9.
        public let rawValue: Int32
        /// zlib level 1: fastest.
        public static let fast = CompressionLevel(rawValue: 1)
        /// zlib level 6: zlib's own default.
        public static let `default` = CompressionLevel(rawValue: 6)
        /// zlib level 9: smallest.
        public static let best = CompressionLevel(rawValue: 9)
    }
}
