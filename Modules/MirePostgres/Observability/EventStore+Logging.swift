public import Logging

extension EventStore {
    /// The logger of the current task's calls, if one was set.
    @TaskLocal static var taskLogger: Logger?

    /// Runs `body` with Mire logging to `logger` — a request's logger, with its request id and
    /// other metadata — instead of the store's, for every store call `body` makes.
    ///
    /// ```swift
    /// router.post("/accounts/:id/deposits") { request, context in
    ///     try await EventStore.withLogger(context.logger) {
    ///         try await store.update(Account.self, id: id) { try $0.deposit(amount) }
    ///     }
    /// }
    /// ```
    public static func withLogger<T>(
        _ logger: Logger, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async rethrows -> T {
        try await $taskLogger.withValue(logger, operation: body, isolation: isolation)
    }
}
