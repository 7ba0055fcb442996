import ChatStorage
import ServiceLifecycle

/// Runs the backends' lifecycle in chatd's ServiceGroup: on graceful shutdown (after the server
/// stopped taking posts) it drains the chat log, releases this server's presence at once and
/// closes the pools, with a bounded wait so a dead Elasticsearch cannot hold the shutdown forever.
struct BackendLifecycleService: Service {
    let lifecycle: BackendLifecycle
    var drainTimeout: Duration = .seconds(10)

    func run() async throws {
        try? await gracefulShutdown()
        await lifecycle.stop(within: drainTimeout)
    }
}
