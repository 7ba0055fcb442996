import ChatCore

/// What the configured backends need done when the server stops, after it stopped taking posts:
/// the chat log drained (the durable stream's consumers finish their batches, the in-process
/// queue is flushed within a timeout), this server's presence and lease released at once, then
/// the pools and connections closed. Built by ``BackendSelection/connect(server:logger:)``, so the
/// executable runs it without knowing the concrete adapters.
public struct BackendLifecycle: Sendable {
    /// One step; `timeout` bounds the ones that wait for another service (Elasticsearch).
    typealias Step = @Sendable (_ timeout: Duration) async -> Void

    private var steps: [Step] = []

    /// Nothing to stop: the in-memory backends.
    public static let none = BackendLifecycle()

    mutating func add(_ step: @escaping Step) {
        steps.append(step)
    }

    /// Runs every step in order; `timeout` bounds the chat log's drain.
    public func stop(within timeout: Duration = .seconds(10)) async {
        for step in steps { await step(timeout) }
    }
}

/// The ports for a ``ChatService`` and what must be stopped with them.
public struct ConnectedBackends: Sendable {
    public var ports: ChatBackends
    public var lifecycle: BackendLifecycle
    /// One ping per configured backend, by name (`redis`, `mariadb`, `elasticsearch`): what
    /// `GET /readyz` asks (none for the in-memory default).
    public var probes: [String: BackendProbe] = [:]
    /// The durable chat-log stream's length and pending entries (with Redis and Elasticsearch),
    /// for `chatd_chat_log_pending` and its oldest pending age; nil without that stream.
    public var chatLogFigures: (@Sendable () async throws -> ChatLogFigures)? = nil
}

/// Asks a backend whether it answers; throws when it does not.
public typealias BackendProbe = @Sendable () async throws -> Void
