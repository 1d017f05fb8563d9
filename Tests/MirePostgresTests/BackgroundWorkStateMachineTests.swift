import Testing

@testable import MirePostgres

/// The background work's rules, without a database or threads: the state machine alone.
@Suite("Background work state machine")
struct BackgroundWorkStateMachineTests {
    typealias Machine = BackgroundWorkStateMachine<String, Int>

    @Test func jobsAreRefusedWhileNothingRunsTheQueue() {
        var machine = Machine()
        guard case .refused = machine.submit("write", key: "a") else {
            Issue.record("a stopped queue must refuse: the caller does the work itself")
            return
        }
        #expect(machine.queued == 0)
    }

    @Test func aJobUnderAWaitingKeyReplacesItAndKeepsItsPlace() {
        var machine = Machine()
        let started = machine.start()
        let startedAgain = machine.start()
        #expect(started && !startedAgain)  // one runner
        _ = machine.submit("a1", key: "a")
        _ = machine.submit("b1", key: "b")
        _ = machine.submit("a2", key: "a")
        #expect(machine.queued == 2)
        guard case .run("a2") = machine.next(), case .run("b1") = machine.next() else {
            Issue.record("the newer job of 'a' runs in the older one's place, then 'b'")
            return
        }
        guard case .park(let waiters) = machine.next() else {
            Issue.record("an empty running queue parks its runner")
            return
        }
        #expect(waiters.isEmpty)
    }

    @Test func aParkedRunnerIsResumedByTheNextJob() {
        var machine = Machine()
        _ = machine.start()
        guard case .park = machine.next() else {
            Issue.record("nothing queued: park")
            return
        }
        let result1 = machine.park(7)
        #expect(result1)
        guard case .queuedResumingRunner(7) = machine.submit("x", key: "x") else {
            Issue.record("the parked runner must be resumed")
            return
        }
        // A job that arrives between `next()` and `park` keeps the runner awake.
        guard case .run("x") = machine.next(), case .park = machine.next() else {
            Issue.record("run x")
            return
        }
        _ = machine.submit("y", key: "y")
        let result2 = machine.park(8)
        #expect(!result2)
    }

    @Test func finishingDrainsWhatIsQueuedRefusesNewJobsThenStops() {
        var machine = Machine()
        _ = machine.start()
        _ = machine.submit("a", key: "a")
        _ = machine.submit("b", key: "b")
        let result3 = machine.finish()
        #expect(result3 == nil)  // the runner is busy, not parked
        guard case .refused = machine.submit("late", key: "c") else {
            Issue.record("draining refuses")
            return
        }
        guard case .run("a") = machine.next(), case .run("b") = machine.next() else {
            Issue.record("what was queued before finishing still runs")
            return
        }
        guard case .stop = machine.next() else {
            Issue.record("drained: stop")
            return
        }
        #expect(machine.phase == .stopped)
        let result4 = machine.start()
        #expect(result4)  // and can run again
    }

    /// A second runner on a queue that another runner drained (a scope starting while the last
    /// one winds down) must return, not park: a stopped queue refuses to park it, and a runner
    /// told to park again at once spins.
    @Test func aRunnerOfAStoppedQueueStopsInsteadOfSpinning() {
        var machine = Machine()
        _ = machine.start()
        _ = machine.finish()
        guard case .stop = machine.next() else {
            Issue.record("the first runner drains and stops")
            return
        }
        guard case .stop = machine.next() else {
            Issue.record("a runner of a stopped queue must stop, not park")
            return
        }
        let parked = machine.park(9)
        #expect(!parked)
    }

    @Test func finishingResumesAParkedRunner() {
        var machine = Machine()
        _ = machine.start()
        _ = machine.next()
        let result5 = machine.park(3)
        #expect(result5)
        let result6 = machine.finish()
        #expect(result6 == 3)
        let result7 = machine.park(4)
        #expect(!result7)
        guard case .stop = machine.next() else {
            Issue.record("nothing left: stop")
            return
        }
    }

    @Test func idleWaitersAreResumedWhenTheQueueEmpties() {
        var machine = Machine()
        let result8 = machine.waitUntilIdle(1)
        #expect(!result8)  // idle already
        _ = machine.start()
        _ = machine.submit("a", key: "a")
        let result9 = machine.waitUntilIdle(1)
        #expect(result9)
        guard case .run = machine.next() else {
            Issue.record("run a")
            return
        }
        let result10 = machine.waitUntilIdle(2)
        #expect(result10)  // running counts as busy
        guard case .park(let waiters) = machine.next() else {
            Issue.record("park")
            return
        }
        #expect(waiters == [1, 2])
        _ = machine.submit("b", key: "b")
        let result11 = machine.waitUntilIdle(3)
        #expect(result11)
        _ = machine.finish()
        _ = machine.next()
        guard case .stop(let atStop) = machine.next() else {
            Issue.record("stop")
            return
        }
        #expect(atStop == [3])
    }
}
