/// The set of ports a ``ChatService`` runs on. Each is chosen independently: in-memory by
/// default, a real adapter where the operator configured one.
public struct ChatBackends: Sendable {
    public var users: any UserStore
    public var rooms: any RoomStore
    public var presence: any PresenceStore
    public var broker: any MessageBroker
    public var log: any MessageLog
    /// Token and password hashes (used by the authentication of `--auth token`).
    public var credentials: any CredentialStore
    /// The servers' heartbeats and admin commands (the admin API's node list and disconnect).
    public var cluster: any ClusterControl = InMemoryClusterControl()

    public init(
        users: any UserStore,
        rooms: any RoomStore,
        presence: any PresenceStore,
        broker: any MessageBroker,
        log: any MessageLog,
        credentials: any CredentialStore = InMemoryCredentialStore()
    ) {
        self.users = users
        self.rooms = rooms
        self.presence = presence
        self.broker = broker
        self.log = log
        self.credentials = credentials
    }

    /// Everything in process memory: the embedded default, which needs no services.
    public static func inMemory(capacity: InMemoryCapacity = .init()) -> ChatBackends {
        ChatBackends(
            users: InMemoryUserStore(capacity: capacity.users),
            rooms: InMemoryRoomStore(capacity: capacity.rooms),
            presence: InMemoryPresenceStore(),
            broker: InMemoryMessageBroker(),
            log: InMemoryMessageLog()
        )
    }
}
