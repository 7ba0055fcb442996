import Logging
import Synchronization

/// The chat use cases, independent of any transport: what the HTTP API and the WebSocket
/// transport call, and what another Swift server embeds.
///
/// Errors are ``ChatError``s. A backend that fails with anything else is reported as
/// ``ChatError/backendUnavailable(_:)`` and logged, so callers map one error type.
public final class ChatService: Sendable {
    public struct Configuration: Sendable {
        /// How many messages a joining client is played back (the seed: 100).
        public var historyLimit: Int
        /// The longest message text accepted, in UTF-8 bytes.
        public var maximumMessageBytes: Int
        /// The most messages a resume (`since=SEQ&epoch=E`) replays; a client further behind
        /// gets the recent history and `recovered:false`.
        public var resumeLimit: Int

        public init(historyLimit: Int = 100, maximumMessageBytes: Int = 16 * 1024, resumeLimit: Int = 1_000) {
            self.historyLimit = historyLimit
            self.maximumMessageBytes = maximumMessageBytes
            self.resumeLimit = resumeLimit
        }
    }

    public let server: ServerID
    public let configuration: Configuration
    private let backends: ChatBackends
    private let clock: any WallClock
    private let logger: Logger
    private let nextConnection = Atomic<UInt64>(0)
    private let recentHistory: RecentHistoryBatcher

    public init(
        backends: ChatBackends,
        configuration: Configuration = .init(),
        server: ServerID = .random(),
        clock: any WallClock = SystemWallClock(),
        logger: Logger = Logger(label: "chat.service")
    ) {
        self.backends = backends
        self.configuration = configuration
        self.server = server
        self.clock = clock
        self.logger = logger
        recentHistory = RecentHistoryBatcher { room, limit in try await backends.broker.recentHistory(of: room, limit: limit) }
    }

    // MARK: Users

    /// Creates a user from a client-supplied name.
    public func createUser(named rawName: String) async throws(ChatError) -> UserName {
        let name = try UserName(validating: rawName)
        try await backend("create user") { try await backends.users.create(name) }
        return name
    }

    /// Deletes every user and every credential (their tokens and passwords).
    public func deleteAllUsers() async throws(ChatError) {
        try await backend("delete users") {
            try await backends.users.deleteAll()
            try await backends.credentials.deleteAll()
        }
    }

    // MARK: Rooms

    public func createRoom() async throws(ChatError) -> RoomID {
        try await backend("create room") { try await backends.rooms.create() }
    }

    public func rooms() async throws(ChatError) -> [RoomID] {
        try await backend("list rooms") { try await backends.rooms.all() }
    }

    /// Users with at least one live connection in `room`, on any server.
    public func users(in room: RoomID) async throws(ChatError) -> [UserName] {
        try await requireRoom(room)
        return try await backend("list room users") { try await backends.presence.users(in: room) }
    }

    // MARK: Joining and leaving

    /// Checks that `room` exists and `rawUser` names an existing user; what a transport calls
    /// before it accepts a join (so a refused join costs no connection).
    public func admit(user rawUser: String?, to room: RoomID) async throws(ChatError) -> UserName {
        guard let rawUser else { throw .invalidUserName("the query parameter 'user' is required") }
        let user = try UserName(validating: rawUser)
        try await requireRoom(room)
        let known = try await backend("look up user") { try await backends.users.contains(user) }
        guard known else { throw .unknownUser(user) }
        return user
    }

    /// Checks a join by an authenticated client: `rawUser`, when given, must be the identity's
    /// own name, the identity must allow `room`, and `room` must exist. The identity's user
    /// needs no row of its own (a JWT's subject exists implicitly).
    public func admit(_ identity: Identity, asking rawUser: String?, to room: RoomID) async throws(ChatError) -> UserName {
        if let rawUser, rawUser != identity.user.rawValue {
            throw .forbidden("this token speaks for '\(identity.user)', not for the user= given")
        }
        guard identity.mayJoin(room) else { throw .forbidden("this token may not join chat room \(room)") }
        try await requireRoom(room)
        return identity.user
    }

    /// A fresh identity for a connection accepted by this server.
    public func makeConnectionID() -> ConnectionID {
        ConnectionID(server: server, number: nextConnection.add(1, ordering: .relaxed).newValue)
    }

    /// Marks `connection` of `user` present in `room`.
    public func enter(_ user: UserName, room: RoomID, connection: ConnectionID) async throws(ChatError) {
        try await backend("enter room") { try await backends.presence.enter(user, room: room, connection: connection) }
    }

    /// Removes `connection` of `user` from `room`; the user leaves the list with their last connection.
    public func leave(_ user: UserName, room: RoomID, connection: ConnectionID) async throws(ChatError) {
        try await backend("leave room") { try await backends.presence.leave(user, room: room, connection: connection) }
    }

    /// Subscribes to `room`'s live messages (see ``MessageBroker/subscribe(to:deliver:)``).
    public func subscribe(
        to room: RoomID,
        deliver: @escaping @Sendable (ChatMessage) -> Void
    ) async throws(ChatError) -> any BrokerSubscription {
        try await backend("subscribe") { try await backends.broker.subscribe(to: room, deliver: deliver) }
    }

    /// Subscribes to `room`'s live messages as payload bytes, for the fan-out (see
    /// ``MessageBroker/subscribeEncoded(to:deliver:)``).
    public func subscribeEncoded(
        to room: RoomID,
        deliver: @escaping @Sendable (EncodedChatMessage) -> Void
    ) async throws(ChatError) -> any BrokerSubscription {
        try await backend("subscribe") { try await backends.broker.subscribeEncoded(to: room, deliver: deliver) }
    }

    /// Watches `room`'s presence events (see ``PresenceStore/watch(_:deliver:)``).
    public func watchPresence(
        in room: RoomID,
        deliver: @escaping @Sendable (PresenceEvent) -> Void
    ) async throws(ChatError) -> any BrokerSubscription {
        try await backend("watch presence") { try await backends.presence.watch(room, deliver: deliver) }
    }

    /// Marks every connection of this server gone (at shutdown).
    public func leaveAll() async {
        do {
            try await backends.presence.reap(server: server)
        } catch {
            logger.error("could not clear this server's presence", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Messages

    /// Posts `text` by `user` to `room`: stamps it, has the broker sequence and deliver it, and
    /// records it in the chat log (unless the broker feeds the log itself,
    /// ``MessageBroker/feedsChatLog``).
    ///
    /// With a `postID` the post is idempotent: a repeat within the broker's window is not
    /// published again and the receipt says so, carrying the first post's position. Empty or
    /// too long messages are refused with ``ChatError/invalidMessage(_:)``; a broker that fails
    /// or times out with ``ChatError/backendUnavailable(_:)`` (the publish may or may not have
    /// happened: retry with the same `postID`).
    @discardableResult
    public func post(_ text: String, by user: UserName, in room: RoomID, postID: PostID? = nil) async throws(ChatError) -> PublishReceipt {
        guard !text.isEmpty else { throw .invalidMessage("message must not be empty") }
        guard text.utf8.count <= configuration.maximumMessageBytes else {
            throw .invalidMessage("message exceeds \(configuration.maximumMessageBytes) bytes")
        }
        let draft = MessageDraft(room: room, user: user, text: text, timestamp: clock.millisecondsSinceEpoch(), postID: postID)
        let receipt = try await backend("publish") { try await backends.broker.publish(draft) }
        guard !receipt.isRepeat, !backends.broker.feedsChatLog else { return receipt }
        do {
            try await backends.log.append([receipt.message])
        } catch {
            // The message was delivered; the archive missed it. Never fail the sender for that.
            logger.error("chat log append failed", metadata: ["room": "\(room)", "seq": "\(receipt.message.seq)", "error": "\(error)"])
        }
        return receipt
    }

    /// The room's latest messages, oldest first: the broker's recent history, completed from the
    /// chat log when the broker holds fewer than asked for. Joins of one room at the same time
    /// share the broker's reads (``RecentHistoryBatcher``), each from a read that started after
    /// it asked.
    public func history(of room: RoomID, limit: Int? = nil) async -> [ChatMessage] {
        let limit = limit ?? configuration.historyLimit
        guard limit > 0 else { return [] }
        var recent: [ChatMessage]
        do {
            recent = try await recentHistory.recentHistory(of: room, limit: limit)
        } catch {
            logger.warning("recent history unavailable; reading the chat log", metadata: ["room": "\(room)", "error": "\(error)"])
            recent = []
        }
        let oldest = recent.first?.seq
        if recent.count < limit, oldest.map({ $0 > 1 }) ?? true {
            do {
                let older = try await backends.log.history(of: room, before: oldest, limit: limit - recent.count)
                recent.insert(contentsOf: older, at: 0)
            } catch {
                // A join with less history beats a refused join: what is played stays gap-free
                // up to the live messages, only older ones are missing. Without any history
                // source at all, the join goes on with none.
                logger.warning("chat log unavailable; joining with the recent history only", metadata: ["room": "\(room)", "error": "\(error)"])
            }
        }
        return recent
    }

    /// What a joining client that names its last position (`since=SEQ&epoch=E`) is played:
    /// exactly the messages after `position` (from the broker's recent history, else from the
    /// chat log and then the broker for what the log has not caught up with), with
    /// `recovered: true`; or, when that cannot be done completely (another epoch, older than
    /// anything kept, more than ``Configuration/resumeLimit`` behind, a backend down), the
    /// normal recent history with `recovered: false`.
    public func resume(_ room: RoomID, after position: MessagePosition) async -> ResumedHistory {
        if let replay = await replay(room, after: position) {
            return ResumedHistory(messages: replay, recovered: true)
        }
        return ResumedHistory(messages: await history(of: room), recovered: false)
    }

    private func replay(_ room: RoomID, after position: MessagePosition) async -> [ChatMessage]? {
        let limit = configuration.resumeLimit
        do {
            if case .messages(let recent) = try await backends.broker.messages(of: room, after: position, limit: limit + 1) {
                return recent.count <= limit ? recent : nil
            }
            guard case .messages(let logged) = try await backends.log.messages(of: room, after: position, limit: limit + 1),
                  logged.count <= limit
            else { return nil }
            // The log may lag behind the broker: the rest comes from the broker's history.
            let from = logged.last?.position ?? position
            guard case .messages(let rest) = try await backends.broker.messages(of: room, after: from, limit: limit + 1 - logged.count),
                  logged.count + rest.count <= limit
            else { return nil }
            return logged + rest
        } catch {
            logger.warning("resume unavailable; playing recent history", metadata: ["room": "\(room)", "error": "\(error)"])
            return nil
        }
    }

    /// Full-text search in a room's log, newest first.
    public func search(in room: RoomID, matching query: String, limit: Int = 20, offset: Int = 0) async throws(ChatError) -> [ChatMessage] {
        try await requireRoom(room)
        return try await backend("search chat log") {
            try await backends.log.search(in: room, matching: query, limit: limit, offset: offset)
        }
    }

    // MARK: Helpers

    private func requireRoom(_ room: RoomID) async throws(ChatError) {
        let exists = try await backend("look up room") { try await backends.rooms.contains(room) }
        guard exists else { throw .unknownRoom(room) }
    }

    private func backend<T>(_ operation: String, _ body: () async throws -> T) async throws(ChatError) -> T {
        try await ChatError.fromBackend(operation, port: Self.port(of: operation), logger: logger, body)
    }

    /// The port an operation of ``backend(_:_:)`` uses: the `backend` of `chatd_backend_errors_total`.
    static func port(of operation: String) -> String {
        switch operation {
        case "create user", "delete users", "look up user": "users"
        case "create room", "list rooms", "look up room": "rooms"
        case "list room users", "enter room", "leave room", "watch presence": "presence"
        case "publish", "subscribe": "broker"
        case "search chat log": "log"
        default: "store"
        }
    }
}
