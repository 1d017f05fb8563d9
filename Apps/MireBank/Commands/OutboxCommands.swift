import ArgumentParser
import Foundation
import Logging
import MireBankDomain
import MireSagas
import ServiceLifecycle

struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Messages to the outside (large-withdrawal alerts, transfer receipts), delivered at least once.",
        subcommands: [OutboxRun.self, OutboxStatus.self, OutboxReceive.self]
    )
}

struct OutboxRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Deliver the outbox to an HTTP endpoint (POST, Idempotency-Key: the key).")
    @OptionGroup var options: GlobalOptions
    @Option(help: "Where to POST each message, e.g. http://127.0.0.1:8089/.") var endpoint: String
    @Option(help: "This worker's id.") var workerID = "outbox-\(ProcessInfo.processInfo.processIdentifier)"
    @Flag(help: "Stop once no message is pending.") var untilEmpty = false

    func run() async throws {
        guard let url = URL(string: endpoint), url.scheme == "http" || url.scheme == "https" else {
            throw ValidationError("--endpoint must be an http(s) URL, e.g. http://127.0.0.1:8089/")
        }
        let deliverer = HTTPDeliverer(endpoint: url)
        try await withBank(options) { bank in
            let worker = bank.outboxWorker(
                workerID: workerID, logger: options.makeLogger(), deliver: deliverer.deliver)
            if untilEmpty {
                let outbox = Outbox(store: bank.store)
                let started = ContinuousClock.now
                while try await outbox.counts().pending > 0, ContinuousClock.now - started < .seconds(60) {
                    if try await worker.deliverDue() == 0 { try await Task.sleep(for: .milliseconds(200)) }
                }
                let counts = try await outbox.counts()
                try printOutput(OutboxStatus.Report(counts), json: options.json) { "\(counts)" }
            } else {
                if !options.json { print("outbox worker \(workerID) delivering to \(url); Ctrl-C to stop") }
                try await runUntilSignalled(worker, logger: options.makeLogger())
            }
        }
    }
}

struct OutboxStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "How many messages are pending, delivered and dead; the dead letters.")
    @OptionGroup var options: GlobalOptions

    struct Report: Encodable {
        var pending: Int64
        var delivered: Int64
        var dead: Int64
        var deadLetters: [String] = []

        init(_ counts: Outbox.Counts, deadLetters: [Outbox.DeadLetter] = []) {
            (pending, delivered, dead) = (counts.pending, counts.delivered, counts.dead)
            self.deadLetters = deadLetters.map { "\($0.message.key): \($0.lastError ?? "?")" }
        }
    }

    func run() async throws {
        let report = try await withBank(options) { bank in
            let outbox = Outbox(store: bank.store)
            return Report(try await outbox.counts(), deadLetters: try await outbox.deadLetters(limit: 20))
        }
        try printOutput(report, json: options.json) {
            "pending \(report.pending), delivered \(report.delivered), dead \(report.dead)"
                + report.deadLetters.map { "\n  dead: \($0)" }.joined()
        }
    }
}

struct OutboxReceive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receive",
        abstract: "A stand-in external endpoint: print each message POSTed to it, once per key.")
    @Option(help: "The port on 127.0.0.1.") var port: UInt16 = 8089

    func run() async throws {
        // Written unbuffered: one line per message, as it arrives, even into a pipe.
        @Sendable func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        let receiver = try HTTPReceiver(port: port) { message, isDuplicate in
            say(isDuplicate ? "duplicate \(message.key) (ignored)" : "\(message.topic) \(message.key): \(message.body)")
        }
        say("receiving on http://127.0.0.1:\(receiver.port)/; Ctrl-C to stop")
        try await runUntilSignalled(receiver, logger: Logger(label: "mire-bank.receiver"))
    }
}
