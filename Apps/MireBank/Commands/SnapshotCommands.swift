import ArgumentParser
import Foundation
import Logging
import MireBankDomain
import MireSnapshots

struct Snapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Take a snapshot of an account now.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account id.") var account: String

    func run() async throws {
        let taken = try await withBank(options) { bank in
            let loaded = try await bank.account(account)
            try await bank.store.takeSnapshot(loaded)
            return loaded
        }
        try printOutput(BalanceReport(taken), json: options.json) {
            "snapshot of \(account) taken at version \(taken.version)"
        }
    }
}
