import Testing

@testable import ChatTransport

/// Waiters for a server's port: a server that never listens must not hold them.
@Suite struct ListeningAddressTests {
    @Test func waitersGetThePortOnceBoundAndZeroWhenCancelledFirst() async throws {
        let address = ListeningAddress()
        let cancelled = Task { await address.port() }
        let waiting = Task { await address.port() }
        cancelled.cancel()
        #expect(await cancelled.value == 0, "a cancelled waiter is let go before the server listens")
        address.bound(port: 8080)
        #expect(await waiting.value == 8080)
        #expect(await address.port() == 8080, "later callers get it at once")
        let late = Task { await address.port() }
        late.cancel()
        #expect(await late.value == 8080, "once bound, the port wins over a cancellation")
    }
}
