import Synchronization
import Testing

@testable import ChatTransport

/// ``Readiness``: probes with a deadline, a cached verdict, draining.
@Suite struct ReadinessVerdictTests {
    @Test func aVerdictIsCachedSoProbesCannotLoadTheBackends() async throws {
        let pings = Atomic<Int>(0)
        let readiness = Readiness(probes: ["redis": { pings.add(1, ordering: .relaxed) }], cacheFor: .seconds(60))
        for _ in 0..<20 { #expect(await readiness.report().isReady) }
        #expect(pings.load(ordering: .relaxed) == 1)
    }

    @Test func aBackendThatFailsOrHangsIsDownAndDrainingIsNeverReady() async throws {
        struct Down: Error {}
        let readiness = Readiness(
            probes: [
                "mariadb": { throw Down() },
                "elasticsearch": { try await Task.sleep(for: .seconds(60)) },
                "redis": {},
            ],
            deadline: .milliseconds(100), cacheFor: .zero
        )
        let report = await readiness.report()
        #expect(report.backends == ["mariadb": false, "elasticsearch": false, "redis": true])
        #expect(!report.isReady)
        let idle = Readiness()
        #expect(await idle.report().isReady, "in memory: nothing to ask")
        idle.startDraining()
        #expect(await idle.report() == Readiness.Report(backends: [:], draining: true))
        #expect(!(await idle.report().isReady))
    }
}
