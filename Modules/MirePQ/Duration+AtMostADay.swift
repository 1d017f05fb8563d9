extension Duration {
    /// This duration, capped at one day: configured durations are slept for, doubled and
    /// converted to nanoseconds, and `Task.sleep` traps on values near `Int64.max` seconds.
    ///
    /// ```swift
    /// try await Task.sleep(for: configuration.pollInterval.atMostADay)
    /// ```
    package var atMostADay: Duration { min(self, .seconds(86_400)) }
}
