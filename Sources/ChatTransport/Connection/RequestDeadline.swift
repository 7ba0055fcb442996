import NIOCore

/// The slowloris bound of one connection: armed at accept and at every later request head,
/// disarmed by the end of the request's body or by the 101 of an accepted join. If it
/// fires, the connection is closed: a client that trickles its head or body, or never sends
/// the body it announced, holds nothing for longer than this.
///
/// Confined to the connection's event loop.
final class RequestDeadline {
    private let channel: any Channel
    private let timeout: TimeAmount
    private let onExpiry: () -> Void
    private var timer: Scheduled<Void>?

    init(channel: any Channel, timeout: TimeAmount, onExpiry: @escaping () -> Void) {
        self.channel = channel
        self.timeout = timeout
        self.onExpiry = onExpiry
    }

    var isArmed: Bool { timer != nil }

    /// Starts the clock unless it already runs (the first request's clock runs from accept).
    func arm() {
        guard timer == nil else { return }
        let channel = channel
        let onExpiry = onExpiry
        timer = channel.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            onExpiry()
            channel.close(promise: nil)
        }
    }

    func disarm() {
        timer?.cancel()
        timer = nil
    }
}
