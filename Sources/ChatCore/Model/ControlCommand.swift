/// An admin command every server carries out (``ClusterControl/broadcast(_:)``).
public enum ControlCommand: Sendable, Codable, Equatable {
    /// Close every WebSocket of `user` with `code` and `reason`.
    case disconnect(user: String, code: UInt16, reason: String)
}
