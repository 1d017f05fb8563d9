/// The library's identity.
public enum Mire {
    /// This release of Mire, as in `CHANGELOG.md` (semantic versioning; before 1.0 a minor
    /// version may change the public API).
    ///
    /// ```swift
    /// logger.info("starting", metadata: ["mire.version": "\(Mire.version)"])
    /// ```
    public static let version = "0.3.0"
}
