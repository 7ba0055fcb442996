import ServiceLifecycle

/// The first step of chatd's graceful shutdown: on SIGTERM `/readyz` says `draining` at once,
/// and for `delay` the server keeps serving, so a load balancer stops sending new joins before
/// the close frames go out. Listed last in the ServiceGroup, it is shut down first: the chat
/// server's own shutdown (the 1001 closes) waits for it.
public struct DrainService: Service {
    let readiness: Readiness
    let delay: Duration

    public init(readiness: Readiness, delay: Duration) {
        self.readiness = readiness
        self.delay = delay
    }

    public func run() async throws {
        try? await gracefulShutdown()
        readiness.startDraining()
        if delay > .zero { try? await Task.sleep(for: delay) }
    }
}
