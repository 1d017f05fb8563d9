import Testing

@testable import MirePQ

/// The pool's rules, without a database: the state machine alone.
@Suite("Pool state machine")
struct PoolStateMachineTests {
    final class Connection {}
    typealias Machine = PoolStateMachine<Connection>

    @Test func opensUpToTheMaximumThenQueuesWaitersInOrder() {
        var machine = Machine(maximum: 2)
        guard case .openNew = machine.lease(), case .openNew = machine.lease() else {
            Issue.record("the first two leases should open connections")
            return
        }
        guard case .wait(let first) = machine.lease(), case .wait(let second) = machine.lease() else {
            Issue.record("a full pool should make callers wait")
            return
        }
        #expect(machine.open == 2)
        #expect(machine.waiting == 2)
        let a = Connection()
        let b = Connection()
        guard case .handOver(let handed, let to) = machine.release(a) else {
            Issue.record("a released connection should go to the first waiter")
            return
        }
        #expect(handed === a && to == first)
        guard case .handOver(_, let next) = machine.release(b) else {
            Issue.record("the second waiter is next")
            return
        }
        #expect(next == second)
        #expect(machine.waiting == 0)
    }

    @Test func idleConnectionsAreReusedLastInFirstOut() {
        var machine = Machine(maximum: 3)
        for _ in 0..<2 { _ = machine.lease() }
        let a = Connection()
        let b = Connection()
        guard case .keep = machine.release(a), case .keep = machine.release(b) else {
            Issue.record("with nobody waiting, released connections stay idle")
            return
        }
        guard case .use(let reused) = machine.lease() else {
            Issue.record("an idle connection should be reused")
            return
        }
        #expect(reused === b)
        #expect(machine.open == 2)
    }

    @Test func aFreedSlotGoesToTheFirstWaiterElseItShrinksThePool() {
        var machine = Machine(maximum: 1)
        _ = machine.lease()
        guard case .wait(let waiter) = machine.lease() else {
            Issue.record("a full pool should make callers wait")
            return
        }
        guard case .openNew(let id) = machine.slotFreed() else {
            Issue.record("a discarded connection's slot should go to the waiter")
            return
        }
        #expect(id == waiter)
        #expect(machine.open == 1)
        guard case .none = machine.slotFreed() else {
            Issue.record("with nobody waiting the slot is simply free")
            return
        }
        #expect(machine.open == 0)
    }

    @Test func aCancelledWaiterLeavesTheQueueOnce() {
        var machine = Machine(maximum: 1)
        _ = machine.lease()
        guard case .wait(let first) = machine.lease(), case .wait(let second) = machine.lease() else {
            Issue.record("a full pool should make callers wait")
            return
        }
        let cancelled = machine.cancel(first)
        let cancelledAgain = machine.cancel(first)
        #expect(cancelled)
        #expect(!cancelledAgain)
        guard case .handOver(_, let to) = machine.release(Connection()) else {
            Issue.record("the remaining waiter should be served")
            return
        }
        #expect(to == second)
        let cancelledServed = machine.cancel(second)
        #expect(!cancelledServed)  // served already
    }

    @Test func closingFailsWaitersClosesIdleAndRefusesNewWork() {
        var machine = Machine(maximum: 2)
        _ = machine.lease()
        _ = machine.lease()
        _ = machine.release(Connection())
        _ = machine.lease()  // reuses the idle one
        guard case .wait(let waiter) = machine.lease() else {
            Issue.record("a full pool should make callers wait")
            return
        }
        let (idle, waiters) = machine.close()
        #expect(idle.isEmpty)
        #expect(waiters == [waiter])
        guard case .refuse = machine.lease() else {
            Issue.record("a closed pool refuses new work")
            return
        }
        guard case .close = machine.release(Connection()) else {
            Issue.record("a connection coming back to a closed pool is closed")
            return
        }
        #expect(machine.open == 1)
    }
}
