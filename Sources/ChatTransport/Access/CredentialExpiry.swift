import ChatCore
import NIOCore

/// When a WebSocket's credential expires, on its event loop's clock: the socket closes then with
/// 4001 and a reason (``WebSocketProtocolHandler/credentialExpiry``). Its one timer carries the
/// expiry when that comes before the next ping, so no message pays for a lifetime check and an
/// idle connection holds no task for it.
enum CredentialExpiry {
    /// The deadline for a credential valid until `expiresAt` (milliseconds since the epoch, the
    /// wall clock tokens are written in); nil: it does not expire.
    static func deadline(_ expiresAt: Int64?) -> NIODeadline? {
        guard let expiresAt else { return nil }
        let remaining = expiresAt - SystemWallClock().millisecondsSinceEpoch()
        return .now() + .milliseconds(max(0, remaining))
    }
}
