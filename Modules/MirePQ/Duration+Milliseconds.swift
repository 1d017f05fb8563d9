extension Duration {
    /// The duration in whole milliseconds, rounded down (for `poll`, `lock_timeout`, intervals).
    /// Saturates instead of overflowing for absurdly long durations.
    package var wholeMilliseconds: Int64 {
        let (scaled, overflow) = components.seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return components.seconds < 0 ? .min : .max }
        let (sum, overflowed) = scaled.addingReportingOverflow(components.attoseconds / 1_000_000_000_000_000)
        return overflowed ? .max : sum
    }

    /// Whole milliseconds clamped to what a PostgreSQL timeout setting accepts (1…2³¹−1).
    package var timeoutMilliseconds: Int64 {
        min(max(1, wholeMilliseconds), Int64(Int32.max))
    }
}
