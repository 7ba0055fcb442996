import NIOCore
import Testing

@testable import ChatTransport

@Suite struct SlowConsumerPolicyTests {
    let policy = SlowConsumerPolicy(maximumQueuedBytes: 1_000, grace: .seconds(1))
    let start = NIODeadline.uptimeNanoseconds(5_000_000_000)

    @Test func aQueueUnderTheLimitIsFine() {
        #expect(policy.judge(queuedBytes: 1_000, overSince: start, now: start + .seconds(9)) == .fine)
    }

    @Test func aQueueOverTheLimitIsClosedOnlyWhenItStaysOverForTheGrace() {
        #expect(policy.judge(queuedBytes: 1_500, overSince: nil, now: start) == .over(since: start))
        #expect(policy.judge(queuedBytes: 1_500, overSince: start, now: start + .milliseconds(900)) == .over(since: start))
        #expect(policy.judge(queuedBytes: 1_500, overSince: start, now: start + .seconds(1)) == .close)
    }

    @Test func twiceTheLimitIsClosedAtOnce() {
        #expect(policy.judge(queuedBytes: 2_000, overSince: nil, now: start) == .close)
    }
}
