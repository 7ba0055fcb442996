import ChatCore
import NIOCore

/// Closes a WebSocket when the credential it was admitted with expires (4001 and a reason).
/// Scheduled once at admission on the connection's event loop and cancelled when the
/// connection closes, so no message pays for a lifetime check.
enum CredentialExpiry {
    static func schedule(_ expiresAt: Int64?, closing socket: WebSocketProtocolHandler, on channel: any Channel, counters: TransportCounters) {
        guard let expiresAt else { return }
        let remaining = expiresAt - SystemWallClock().millisecondsSinceEpoch()
        let expiry = channel.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(max(0, remaining))) { [weak socket] in
            guard let socket else { return }
            counters.countExpiredCredential()
            socket.close(CloseCode.credentialExpired, reason: "token expired: reconnect with a fresh token")
        }
        channel.closeFuture.whenComplete { _ in expiry.cancel() }
    }
}
