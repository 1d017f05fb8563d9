import Testing

@testable import MireProjections

/// The lag gauge computes positions behind the newest from server values: it saturates.
@Suite("Projection lag")
struct ProjectionLagTests {
    @Test func lagIsTheDistanceBehindTheNewestAndNeverTraps() {
        #expect(ProjectionRunner.lag(newest: 100, checkpoint: 40) == 60)
        #expect(ProjectionRunner.lag(newest: 40, checkpoint: 100) == 0)
        // Review finding: a checkpoint edited to Int64.min trapped the runner on subtraction.
        #expect(ProjectionRunner.lag(newest: 5, checkpoint: .min) == .max)
        #expect(ProjectionRunner.lag(newest: .max, checkpoint: -2) == .max)
        #expect(ProjectionRunner.lag(newest: .min, checkpoint: .max) == 0)
    }
}
