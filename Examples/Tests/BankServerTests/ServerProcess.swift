import Foundation
import Synchronization
import Testing

/// `mire-bank-server` as a child process: started with an environment of its own, read from its
/// standard output for the port it bound, stopped with SIGTERM like a process manager does.
final class ServerProcess: Sendable {
    private let process: Process
    private let output = PipeReader()
    private let errors = PipeReader()
    private let exit: AsyncStream<Int32>

    /// The built executable, in the build directory that holds the test runner (Linux).
    static var executable: URL {
        URL(filePath: CommandLine.arguments[0]).deletingLastPathComponent().appending(path: "mire-bank-server")
    }

    /// Starts the server with `environment` and nothing of the test run's own beyond `PATH`.
    init(environment: [String: String]) throws {
        process = Process()
        process.executableURL = Self.executable
        process.environment = environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? ""]) { a, _ in
            a
        }
        let (exit, exitContinuation) = AsyncStream.makeStream(of: Int32.self)
        self.exit = exit
        process.standardOutput = output.pipe
        process.standardError = errors.pipe
        process.terminationHandler = { process in
            // A death by signal is reported as 128 + the signal, as a shell does.
            let status =
                process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
            exitContinuation.yield(status)
            exitContinuation.finish()
        }
        try process.run()
    }

    var isRunning: Bool { process.isRunning }

    /// What the server wrote on standard error so far (all of it once it has exited).
    var standardError: String { errors.text }

    /// The URL the server printed once it listened; fails when it exits first or takes a minute.
    func baseURL() async throws -> URL {
        try await eventually("mire-bank-server listening") {
            guard process.isRunning else {
                throw ServerFailure(message: "mire-bank-server exited before listening:\n\(standardError)")
            }
            let line = output.text.split(separator: "\n").first { $0.contains("listening on ") }
            return line.flatMap { $0.split(separator: " ").last }.flatMap { URL(string: String($0)) }
        }
    }

    /// SIGTERM, as a process manager stops a service.
    func signalTermination() { process.terminate() }

    /// The exit status once the process has exited and both its pipes are drained; SIGKILLs it
    /// and fails after `grace`.
    func waitForExit(grace: Duration = .seconds(60)) async throws -> Int32 {
        let status = try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask { [exit] in
                for await status in exit { return status }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: grace)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let status else {
            kill(process.processIdentifier, SIGKILL)
            throw ServerFailure(message: "mire-bank-server did not stop within \(grace):\n\(standardError)")
        }
        await output.waitForEnd()
        await errors.waitForEnd()
        return status
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A child's output pipe, read as it arrives until end of file.
final class PipeReader: Sendable {
    let pipe = Pipe()
    private let state = Mutex((text: "", ended: false))

    init() {
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil  // end of file: stop being called
                self?.state.withLock { $0.ended = true }
            } else {
                self?.state.withLock { $0.text += String(decoding: data, as: UTF8.self) }
            }
        }
    }

    var text: String { state.withLock { $0.text } }

    /// Returns once the writer has closed its end and everything it wrote has been read. Call it
    /// after the writer exited: if Foundation has not reported the end within five seconds (it
    /// once never did, and a CI run hung here), what is left is read directly.
    func waitForEnd() async {
        let deadline = ContinuousClock.now + .seconds(5)
        while !state.withLock({ $0.ended }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        guard !state.withLock({ $0.ended }) else { return }
        pipe.fileHandleForReading.readabilityHandler = nil
        let descriptor = pipe.fileHandleForReading.fileDescriptor
        var readable = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while poll(&readable, 1, 100) > 0 {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { break }
            let chunk = String(decoding: buffer[..<count], as: UTF8.self)
            state.withLock { $0.text += chunk }
        }
        state.withLock { $0.ended = true }
    }
}

struct ServerFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
