import Foundation
import MireBankDomain
import Synchronization

/// A one-line progress bar on standard error, redrawn at most every 100 ms — only when standard
/// error is a terminal: piped or redirected output gets no carriage-return noise.
///
/// ```swift
/// let progress = ProgressBar.onTerminal()
/// progress?.update(label: "ingest", done: 40, total: 100)
/// ```
final class ProgressBar: Sendable {
    private let lastDraw = Mutex(ContinuousClock.now - .seconds(1))

    private init() {}

    /// A bar, or nil when standard error is not a terminal.
    static func onTerminal() -> ProgressBar? {
        isatty(STDERR_FILENO) == 1 ? ProgressBar() : nil
    }

    func update(label: String, done: Int, total: Int) {
        let now = ContinuousClock.now
        let due = lastDraw.withLock { last in
            guard done >= total || now - last > .milliseconds(100) else { return false }
            last = now
            return true
        }
        guard due else { return }
        let width = 30
        let filled = total <= 0 ? width : width * min(done, total) / total
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
        if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Runs `body` while `progress` (if any) redraws `current()` against `total` every 200 ms; the
/// drawing stops when `body` ends.
///
/// ```swift
/// try await withProgress(.onTerminal(), label: "transfers", total: 1_000, current: { counters.done }) {
///     try await storm()
/// }
/// ```
func withProgress<T: Sendable>(
    _ progress: ProgressBar?, label: String, total: Int, current: @escaping @Sendable () -> Int,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    guard let progress else { return try await body() }
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            while !Task.isCancelled {
                progress.update(label: label, done: current(), total: total)
                try? await Task.sleep(for: .milliseconds(200))
            }
            return nil
        }
        group.addTask { try await body() }
        while let finished = try await group.next() {
            guard let value = finished else { continue }
            group.cancelAll()
            progress.update(label: label, done: total, total: total)
            return value
        }
        throw CancellationError()  // the body's task always returns a value first
    }
}
