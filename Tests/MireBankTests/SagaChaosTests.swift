import Foundation
import MirePQ
import MireSagas
import MireTestSupport
import Testing

@testable import MireBankCLI
@testable import MireBankDomain

@Suite("Sagas and the outbox under killed and paused workers", .timeLimit(.minutes(5)))
struct SagaChaosTests {
    @Test func sagaAndOutboxWorkersKilledAndPausedAtRandomStillSettleEverythingOnce() async throws {
        let binary = try #require(BankBinary.path, "the mire-bank executable was not built next to the tests")
        try await TestDatabase.withStore(maximumConnections: 8) { store throws in
            let bank = Bank(pool: store.pool, logger: TestDatabase.logger)
            let url = try BankBinary.url(for: store.pool.configuration)
            let accounts = (0..<5).map { "s\($0)" }
            for id in accounts {
                try await bank.open(id, owner: "S")
                try await bank.deposit(Money(cents: 5_000_00), into: id)
            }
            try await bank.open("shut", owner: "S")
            try await bank.close("shut")

            // The external endpoint, in this process.
            let receiver = try HTTPReceiver()
            let serving = Task { await receiver.serve() }
            defer { serving.cancel() }

            // Two saga workers and two outbox workers, as separate processes.
            let workers = Locked<[String: pid_t]>([:])
            func start(_ name: String) throws {
                let arguments =
                    name.hasPrefix("saga")
                    ? ["saga", "run", "--worker-id", name, "--database", url]
                    : [
                        "outbox", "run", "--endpoint", "http://127.0.0.1:\(receiver.port)/", "--worker-id", name,
                        "--database", url,
                    ]
                let pid = try BankBinary.spawn(binary, arguments)
                workers.withLock { $0[name] = pid }
            }
            for name in ["saga-0", "saga-1", "outbox-0", "outbox-1"] { try start(name) }

            // Transfers (some cannot be paid, some cannot be received) and large withdrawals,
            // while the workers are killed and paused at random.
            var transfers: [String] = []
            var withdrawn: Int64 = 0
            let leases = ProjectionLeases(pool: store.pool)
            let sagaLease = "mire.process.\(TransferSaga.name)"
            /// The saga's lease holder, waiting (up to 20 s) for one: workers start slowly under load.
            func sagaHolder() async throws -> (String, pid_t)? {
                for _ in 0..<400 {
                    let status = try await leases.status(sagaLease)
                    if status.isLeased, let holder = status.holder, let pid = workers.value[holder] {
                        return (holder, pid)
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return nil
            }
            let chaos = Task {
                for step in 0..<8 {
                    try await Task.sleep(for: .milliseconds(600))
                    let outboxWorker = workers.value.filter { $0.key.hasPrefix("outbox") }.randomElement()!
                    switch step % 4 {
                    case 0:  // kill the saga's lease holder
                        if let (name, pid) = try await sagaHolder() {
                            kill(pid, SIGKILL)
                            BankBinary.reap(pid)
                            try start(name)
                        }
                    case 1:  // pause an outbox worker, sometimes past its 5 s claims
                        kill(outboxWorker.value, SIGSTOP)
                        try await Task.sleep(for: .milliseconds(Int.random(in: 300...5_500)))
                        kill(outboxWorker.value, SIGCONT)
                    case 2:  // pause the saga's lease holder past its 3 s lease: it wakes up fenced
                        if let (_, pid) = try await sagaHolder() {
                            kill(pid, SIGSTOP)
                            try await Task.sleep(for: .milliseconds(3_800))
                            kill(pid, SIGCONT)
                        }
                    default:  // kill an outbox worker
                        kill(outboxWorker.value, SIGKILL)
                        BankBinary.reap(outboxWorker.value)
                        try start(outboxWorker.key)
                    }
                }
            }
            for index in 0..<40 {
                let from = accounts[index % accounts.count]
                let to =
                    index % 7 == 3 ? "shut" : index % 11 == 5 ? "nobody" : accounts[(index * 3 + 1) % accounts.count]
                let amount = Money(cents: index % 9 == 4 ? 90_000_00 : Int64(100 + index * 37))
                let id = "x\(index)"
                try await bank.requestTransfer(id, amount, from: from, to: to == from ? "shut" : to)
                transfers.append(id)
                if index % 8 == 0 {
                    try await bank.withdraw(Bank.largeWithdrawal, from: accounts[(index / 8) % accounts.count])
                    withdrawn += Bank.largeWithdrawal.cents
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            try await chaos.value

            // Everything settles: every transfer completed (with its receipt) or failed, and the
            // outbox is empty.
            let outbox = Outbox(store: store)
            var settled = false
            for _ in 0..<600 where !settled {
                var done = try await outbox.counts().pending == 0
                for id in transfers where done {
                    let order = try #require(try await bank.transferOrder(id)).state
                    done = order.status == .failed || (order.status == .completed && order.receipts > 0)
                }
                settled = done
                if !settled { try await Task.sleep(for: .milliseconds(200)) }
            }
            for (_, pid) in workers.value {
                kill(pid, SIGCONT)
                kill(pid, SIGTERM)
                BankBinary.reap(pid)
            }
            #expect(settled, "the sagas and the outbox did not settle")
            // The two kills and the two long pauses of the holder forced takeovers.
            #expect(try await leases.status(sagaLease).fenceToken >= 3)

            // Each transfer settled exactly once, and each step ran at most once.
            var completed = 0
            for id in transfers {
                let events = try await store.readStream(StreamID(category: TransferOrder.category, id: id)).map(\.type)
                let endings = events.filter { $0 == "transfer.completed" || $0 == "transfer.failed" }
                #expect(endings.count == 1, "\(id): \(events)")
                if endings == ["transfer.completed"] {
                    completed += 1
                    #expect(events.filter { $0 == "transfer.receiptIssued" }.count == 1, "\(id): \(events)")
                }
            }
            var total: Int64 = 0
            var steps: [String: [String]] = [:]
            for id in accounts + ["shut"] {
                total += try await bank.account(id).state.balance
                for event in try await store.readStream(StreamID(category: Account.category, id: id)) {
                    if let transfer = try TransferSaga.processID(for: event) {
                        steps[transfer, default: []].append(event.type)
                    }
                }
            }
            #expect(total == 5 * 5_000_00 - withdrawn, "money is conserved")
            for (transfer, types) in steps {
                for type in Set(types) where type != "account.transferRefused" {
                    #expect(types.filter { $0 == type }.count == 1, "\(transfer): \(types)")
                }
            }
            #expect(try await store.load(Account.self, id: "nobody") == nil)

            // Every message delivered at least once, deduplicated by key at the receiver; each
            // deadline fired and was delivered once.
            let keys = try await store.pool.withConnection { connection in
                try await connection.query("SELECT dedup_key, status FROM mire_outbox ORDER BY id").map {
                    try $0.decode((String, String).self)
                }
            }
            #expect(keys.allSatisfy { $0.1 == "delivered" }, "\(keys.filter { $0.1 != "delivered" })")
            #expect(Set(receiver.uniqueMessages.map(\.key)) == Set(keys.map(\.0)))
            #expect(keys.filter { $0.0.hasPrefix("receipt-") }.count == completed)
            let deadlines = try await store.pool.withConnection { connection in
                try await connection.query(
                    "SELECT count(*), count(*) FILTER (WHERE fired_at IS NOT NULL AND delivered_at IS NOT NULL) FROM mire_process_deadlines"
                ).first.map { try $0.decode((Int64, Int64).self) }
            }
            #expect(deadlines?.0 == Int64(completed) && deadlines?.1 == Int64(completed))
        }
    }
}
