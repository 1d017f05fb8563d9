import MirePostgres
import Testing

/// The one retry policy's backoff, without a database.
@Suite("Retry policy")
struct RetryPolicyTests {
    @Test func delaysGrowUpToTheMaximumWithJitter() {
        let policy = RetryPolicy(maximumAttempts: 10, baseDelay: .milliseconds(2), maximumDelay: .milliseconds(50))
        for attempt in 2...30 {
            let delay = policy.delay(beforeAttempt: attempt)
            let ceiling = min(Duration.milliseconds(2) * (1 << min(attempt - 2, 20)), .milliseconds(50))
            #expect(delay >= .zero && delay <= ceiling, "attempt \(attempt): \(delay)")
        }
    }

    /// Review finding: delays beyond ~9.2e9 s overflowed the doubling or the conversion to
    /// nanoseconds and trapped. Configuration may come from a file: cap, never trap.
    @Test(arguments: [Duration.seconds(Int64.max), .seconds(1 << 40), .seconds(-5)])
    func anyConfiguredDelayGivesAPauseOfAtMostADay(_ configured: Duration) {
        let policy = RetryPolicy(maximumAttempts: 3, baseDelay: configured, maximumDelay: configured)
        for attempt in [2, 3, 25, Int.max] {
            let delay = policy.delay(beforeAttempt: attempt)
            #expect(delay >= .zero && delay <= .seconds(86_400))
        }
    }
}
