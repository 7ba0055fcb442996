import ChatCore
import ChatTestServices
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOWebSocket
import Testing

@testable import ChatTransport

/// The cross-site and abuse-limit rules as values, with hand-made clocks: no sockets, no timing.
@Suite struct OriginPolicyTests {
    @Test func theDefaultAllowsOnlyTheServersOwnOriginAndClientsWithoutOne() {
        let policy = OriginPolicy.sameOrigin
        #expect(policy.allows(origin: nil, host: "chat.example"), "a non-browser client sends no Origin")
        #expect(policy.allows(origin: "https://chat.example", host: "chat.example"))
        #expect(policy.allows(origin: "http://chat.example:8080", host: "chat.example:8080"))
        #expect(policy.allows(origin: "https://Chat.Example:443", host: "chat.example"), "default port and case")
        #expect(!policy.allows(origin: "https://evil.example", host: "chat.example"))
        #expect(!policy.allows(origin: "https://chat.example.evil.example", host: "chat.example"))
        #expect(!policy.allows(origin: "http://chat.example:8081", host: "chat.example:8080"), "another port is another origin")
        #expect(!policy.allows(origin: "null", host: "chat.example"), "a sandboxed or file: page")
        #expect(!policy.allows(origin: "https://chat.example", host: nil))
    }

    @Test func listedOriginsAndTheWildcard() throws {
        let policy = try OriginPolicy(allowing: ["https://app.example", "HTTP://localhost:3000"])
        #expect(policy.allows(origin: "https://app.example", host: "api.example"))
        #expect(policy.allows(origin: "http://localhost:3000", host: "api.example"))
        #expect(policy.allows(origin: "https://api.example", host: "api.example"), "the own origin stays allowed")
        #expect(!policy.allows(origin: "http://app.example", host: "api.example"), "the scheme of a listed origin counts")
        let any = try OriginPolicy(allowing: ["*"])
        #expect(any.allows(origin: "https://evil.example", host: "chat.example"))
        #expect(throws: OriginPolicy.InvalidOrigin.self) { try OriginPolicy(allowing: ["app.example"]) }
        #expect(throws: OriginPolicy.InvalidOrigin.self) { try OriginPolicy(allowing: ["https://app.example/path"]) }
    }
}

@Suite struct ConnectionLimiterTests {
    static func limits(perAddress: Int = 100, total: Int = 100, rate: Int = 100) -> AbuseLimits {
        var limits = AbuseLimits()
        limits.maximumConnectionsPerAddress = perAddress
        limits.maximumConnections = total
        limits.newConnectionsPerSecondPerAddress = rate
        return limits
    }

    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func oneAddressIsCappedWhileAnotherIsNot() {
        var ledger = ConnectionLimiter.Ledger(limits: Self.limits(perAddress: 2))
        #expect(ledger.admit("10.0.0.1", now: start) == .admitted)
        #expect(ledger.admit("10.0.0.1", now: start) == .admitted)
        guard case .tooManyFromAddress(let message) = ledger.admit("10.0.0.1", now: start) else {
            Issue.record("a third connection from one address was admitted")
            return
        }
        #expect(message.contains("at most 2"))
        #expect(ledger.admit("10.0.0.2", now: start) == .admitted)
        ledger.release("10.0.0.1")
        #expect(ledger.admit("10.0.0.1", now: start) == .admitted, "a closed connection frees its place")
        #expect(ledger.open == 3)
    }

    @Test func theTotalIsCapped() {
        var ledger = ConnectionLimiter.Ledger(limits: Self.limits(total: 2))
        #expect(ledger.admit("a", now: start) == .admitted)
        #expect(ledger.admit("b", now: start) == .admitted)
        guard case .serverFull = ledger.admit("c", now: start) else {
            Issue.record("a connection over the total was admitted")
            return
        }
        ledger.release("a")
        #expect(ledger.admit("c", now: start) == .admitted)
    }

    @Test func newConnectionsPerSecondArePacedPerAddress() {
        var ledger = ConnectionLimiter.Ledger(limits: Self.limits(rate: 3))
        for _ in 0..<3 {
            #expect(ledger.admit("a", now: start) == .admitted)
            ledger.release("a")
        }
        guard case .tooManyFromAddress(let message) = ledger.admit("a", now: start) else {
            Issue.record("a fourth connection within the same instant was admitted")
            return
        }
        #expect(message.contains("per second"))
        #expect(ledger.admit("b", now: start) == .admitted, "another address has its own bucket")
        #expect(ledger.admit("a", now: start + .milliseconds(400)) == .admitted, "a third of a second refills one")
    }

    @Test func idleAddressesAreForgotten() {
        var ledger = ConnectionLimiter.Ledger(limits: Self.limits(perAddress: 10, total: 10_000, rate: 10))
        for index in 0..<2_000 {
            #expect(ledger.admit("10.0.\(index / 256).\(index % 256)", now: start) == .admitted)
            ledger.release("10.0.\(index / 256).\(index % 256)")
        }
        #expect(ledger.admit("10.9.9.9", now: start + .seconds(2)) == .admitted)
        for index in 0..<1_100 { _ = ledger.admit("10.8.\(index / 256).\(index % 256)", now: start + .seconds(2)) }
        #expect(ledger.entries.count < 2_000, "entries of long-idle addresses were dropped: \(ledger.entries.count)")
    }
}

/// Pings and pongs share the per-connection frame rate with messages.
@Suite struct ControlFrameRateTests {
    @Test func aPingFloodIsClosedWith1008() throws {
        let test = try WebSocketProtocolHandlerTests()
        var closeCode: UInt16?
        for index in 0..<20 where closeCode == nil {
            try test.channel.writeInbound(clientFrame(.ping, "p\(index)"))
            closeCode = try test.sentFrames().compactMap(\.closeCode).first
        }
        #expect(closeCode == 1008)
        #expect(test.counters.controlFloodsClosed == 1)
        #expect(test.session.texts.isEmpty)
    }

    @Test func pingsWithinTheRateAreAnswered() throws {
        let test = try WebSocketProtocolHandlerTests()
        for index in 0..<3 { try test.channel.writeInbound(clientFrame(.ping, "p\(index)")) }
        #expect(try test.sentFrames().map(\.opcode) == [.pong, .pong, .pong])
        try test.channel.writeInbound(clientFrame(.text, "hi"))
        #expect(test.session.texts == ["hi"])
    }
}

/// Who the client is: the peer, or the client a trusted proxy names.
@Suite struct ClientAddressTests {
    @Test func aTrustedProxyNamesTheRightmostUntrustedHop() {
        var headers = HTTPHeaders([("X-Forwarded-For", "198.51.100.9, 203.0.113.7"), ("X-Forwarded-For", "10.0.0.2")])
        #expect(ClientAddress.forwarded(by: "10.0.0.1", headers: headers, trustedProxies: ["10.0.0.1", "10.0.0.2"]) == "203.0.113.7",
                "the left entries could be made up by the client")
        headers = HTTPHeaders([("X-Real-IP", "203.0.113.8")])
        #expect(ClientAddress.forwarded(by: "10.0.0.1", headers: headers, trustedProxies: ["10.0.0.1"]) == "203.0.113.8")
        #expect(ClientAddress.forwarded(by: "10.0.0.1", headers: HTTPHeaders(), trustedProxies: ["10.0.0.1"]) == "10.0.0.1",
                "a proxy that names no client is the client")
    }

    @Test func aProxiedConnectionCountsInTheTotalAtAcceptAndAgainstItsClientLater() {
        var limits = ConnectionLimiterTests.limits(perAddress: 1, total: 2)
        limits.trustedProxies = ["10.0.0.1"]
        var ledger = ConnectionLimiter.Ledger(limits: limits)
        let now = NIODeadline.uptimeNanoseconds(1_000_000_000)
        #expect(ledger.admitUnattributed() == .admitted)
        #expect(ledger.admitAddress("203.0.113.7", now: now) == .admitted)
        #expect(ledger.admitUnattributed() == .admitted)
        guard case .tooManyFromAddress = ledger.admitAddress("203.0.113.7", now: now) else {
            Issue.record("a client's second connection through the proxy was admitted")
            return
        }
        guard case .serverFull = ledger.admitUnattributed() else {
            Issue.record("the total was not enforced for proxied connections")
            return
        }
        ledger.release(nil)
        ledger.release("203.0.113.7")
        #expect(ledger.open == 0)
        #expect(ledger.admitAddress("203.0.113.7", now: now) == .admitted)
    }
}
