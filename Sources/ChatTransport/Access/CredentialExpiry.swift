import ChatCore
import NIOCore

/// Closes a WebSocket when the credential it was admitted with expires (4001 and a reason).
/// Scheduled once at admission on the connection's event loop and cancelled when the
/// connection closes, so no message pays for a lifetime check.
enum CredentialExpiry {
    static func schedule(_ expiresAt: Int64?, closing socket: WebSocketProtocolHandler, on channel: any Channel, counters: TransportCounters) {
        guard let expiresAt else { return }
        let remaining = expiresAt - SystemWallClock().millisecondsSinceEpoch()
        // The socket held strongly (a weak reference costs a side table per connection): the
        // task is cancelled, and its closure released, when the connection closes.
        let expiry = channel.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(max(0, remaining))) {
            guard socket.isOpen else { return }
            counters.countExpiredCredential()
            socket.close(CloseCode.credentialExpired, reason: "token expired: reconnect with a fresh token")
        }
        channel.closeFuture.whenComplete { _ in expiry.cancel() }
    }
}
