import NIOCore
import NIOWebSocket
import Testing

@testable import ChatTransport

/// The connection's lifecycle without I/O or a clock: events in, actions out.
@Suite struct ConnectionStateMachineTests {
    static let limits = WebSocketLimits(
        maximumMessageBytes: 64, maximumPendingMessages: 2, closeTimeout: .seconds(5),
        pingInterval: .seconds(10), idleTimeout: .seconds(30), maximumMessagesPerSecond: 3
    )
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func messagesWithinTheRateAreDeliveredAndTheNextClosesWith1008() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        for _ in 0..<3 { #expect(machine.messageArrived(now: start) == .deliver) }
        guard case .sendClose(let code, _, false, .messageRate) = machine.messageArrived(now: start) else {
            Issue.record("the fourth message in one instant was not refused")
            return
        }
        #expect(code == .policyViolation)
        #expect(machine.state == .closeSent)
        #expect(machine.messageArrived(now: start + .seconds(10)) == .none, "nothing is delivered once closing")
    }

    @Test func theRateRefillsWithTime() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        for _ in 0..<3 { _ = machine.messageArrived(now: start) }
        #expect(machine.messageArrived(now: start + .milliseconds(400)) == .deliver, "a third of a second brings one back")
    }

    @Test func pingsAndPongsShareTheRateWithMessages() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        #expect(machine.messageArrived(now: start) == .deliver)
        #expect(machine.pingOrPongArrived(isPing: true, now: start) == .sendPong)
        #expect(machine.pingOrPongArrived(isPing: false, now: start) == .none)
        guard case .sendClose(.policyViolation, _, _, .controlRate) = machine.pingOrPongArrived(isPing: true, now: start) else {
            Issue.record("a ping over the rate was answered")
            return
        }
        #expect(machine.pingOrPongArrived(isPing: true, now: start + .seconds(5)) == .none, "no pong while closing")
    }

    @Test func unlimitedRateNeverCloses() {
        var limits = Self.limits
        limits.maximumMessagesPerSecond = nil
        var machine = ConnectionStateMachine(limits: limits)
        for _ in 0..<1_000 { #expect(machine.pingOrPongArrived(isPing: true, now: start) == .sendPong) }
    }

    @Test func aSilentPeerIsPingedThenDroppedAtTheIdleTimeout() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        #expect(machine.pingIntervalElapsed() == .sendPing(1))
        #expect(machine.pingIntervalElapsed() == .sendPing(2))
        #expect(machine.pingIntervalElapsed() == .sendClose(.goingAway, reason: "no answer to pings", dropAfterSending: true, cause: .idle))
        #expect(machine.pingIntervalElapsed() == .none)
    }

    @Test func anyFrameResetsTheSilence() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        #expect(machine.pingIntervalElapsed() == .sendPing(1))
        #expect(machine.pingIntervalElapsed() == .sendPing(2))
        machine.frameArrived()
        #expect(machine.pingIntervalElapsed() == .none, "heard from: left alone")
        #expect(machine.pingIntervalElapsed() == .sendPing(1), "the count starts over")
    }

    @Test func withoutAPingIntervalNothingIsPinged() {
        var limits = Self.limits
        limits.pingInterval = nil
        var machine = ConnectionStateMachine(limits: limits)
        #expect(machine.pingIntervalElapsed() == .none)
    }

    @Test func thePeersCloseIsAnsweredOnce() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        #expect(machine.closeArrived() == .replyToClose)
        #expect(machine.state == .closed)
        #expect(machine.closeArrived() == .none)
        #expect(machine.close(.goingAway, reason: "") == .none, "no close frame after the handshake")
    }

    @Test func ourCloseIsCompletedByThePeersOrByTheTimeout() {
        var answered = ConnectionStateMachine(limits: Self.limits)
        #expect(answered.close(.goingAway, reason: "bye") == .sendClose(.goingAway, reason: "bye", dropAfterSending: false, cause: nil))
        #expect(answered.close(.policyViolation, reason: "again") == .none, "one close frame only")
        #expect(answered.closeArrived() == .closeConnection, "the server closes TCP first")
        #expect(answered.closeTimeoutElapsed() == .none)

        var unanswered = ConnectionStateMachine(limits: Self.limits)
        _ = unanswered.close(.goingAway, reason: "bye")
        #expect(unanswered.closeTimeoutElapsed() == .closeConnection)
        #expect(unanswered.state == .closed)
    }

    @Test func aVanishedConnectionDoesNothingMore() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        machine.connectionClosed()
        #expect(machine.messageArrived(now: start) == .none)
        #expect(machine.pingIntervalElapsed() == .none)
        #expect(machine.close(.goingAway, reason: "") == .none)
    }
}
