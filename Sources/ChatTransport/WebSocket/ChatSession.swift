import ChatCore
import Logging
import NIOCore
import NIOWebSocket

/// The life of one joined connection, driven from its event loop: enter the room, join the
/// fan-out gap-free, publish what the client sends (in order, one at a time), and leave once the
/// socket has closed and everything it sent is published.
///
/// A `chat.v2` client's frames are post envelopes: each is answered with an ack or an error
/// envelope, and a post that fails alone (too long, rate-limited, the backend down) leaves the
/// socket open. A seed client's frames are bare texts and get no answer.
///
/// Nothing waits while a connection is idle: there are short tasks for the join, for each
/// publish and for the leave, and none in between. A task parked per connection (with its async
/// frames) measured about 10 KB of a 15 KB idle connection.
final class ChatSession {
    private enum Phase {
        case joining
        case live
        case failed
        case left
    }

    /// A post waiting to be published: the client's id (chat.v2) and text.
    private struct Post: Sendable {
        let id: PostID?
        let text: String
    }

    /// What publishing one post came to.
    private enum PublishOutcome: Sendable {
        /// Published, or a repeat of a post id already published (then the first post's receipt).
        case posted(PublishReceipt)
        /// Refused as a message (the reason is the client's to read).
        case refused(String)
        /// The backend failed or did not answer: it may or may not have been published.
        case unavailable
    }

    /// What the asynchronous part of a join achieved, so a failure undoes exactly that.
    private enum JoinOutcome: Sendable {
        case joined(RoomHub.Ticket)
        case failed(entered: Bool, ticket: RoomHub.Ticket?, error: any Error)
    }

    let eventLoop: any EventLoop
    private let service: ChatService
    private let hub: RoomHub
    private let member: RoomMember
    private let options: JoinOptions
    /// The server's logger, shared: each line names the connection itself. Metadata set on a
    /// per-connection copy would give every idle connection its own log handler and metadata.
    private let logger: Logger
    /// Strong: the socket holds the session as its receiver only until it ends, and a weak
    /// reference would cost every connection a side table.
    var socket: WebSocketProtocolHandler?
    /// The admin API's registry this connection is listed in; left when the socket closes.
    var connections: LocalConnections?

    private var ticket: RoomHub.Ticket?
    /// Messages the client sent that are not published yet; bounded by the socket's read pausing.
    /// An array, emptied to `[]`, so an idle connection holds no storage for it (a
    /// `CircularBuffer` allocates 16 slots up front: 560 bytes per connection).
    private var outbox: [Post] = []
    // The one-byte fields together at the end, where they pack (16 B a connection).
    private var phase = Phase.joining
    private var entered = false
    private var publishing = false
    private var socketClosed = false

    init(service: ChatService, hub: RoomHub, member: RoomMember, options: JoinOptions = .seed, eventLoop: any EventLoop, logger: Logger) {
        self.service = service
        self.hub = hub
        self.member = member
        self.options = options
        self.eventLoop = eventLoop
        self.logger = logger
    }

    /// Starts the join. Messages the client sends meanwhile wait in the outbox.
    func start() {
        let session = NIOLoopBound(self, eventLoop: eventLoop)
        let member = NIOLoopBound(member, eventLoop: eventLoop)
        let service = service
        let hub = hub
        let user = self.member.user
        let room = self.member.room
        let connection = self.member.connection
        let options = options
        Task {
            let outcome = await ChatSession.join(
                member, user: user, room: room, connection: connection, options: options, service: service, hub: hub
            )
            session.eventLoop.execute { session.value.joinFinished(outcome) }
        }
    }

    /// A text message from the client.
    func received(_ text: String) {
        let post: Post
        if options.speaksV2 {
            switch PostEnvelope.parse(text, maximumTextBytes: service.configuration.maximumMessageBytes) {
            case .success(let envelope):
                post = Post(id: envelope.id, text: envelope.text)
            case .failure(let refusal):
                refuse(refusal)
                socket?.messageHandled()
                return
            }
        } else {
            post = Post(id: nil, text: text)
        }
        switch phase {
        case .joining:
            outbox.append(post)
        case .live:
            outbox.append(post)
            pump()
        case .failed, .left:
            socket?.messageHandled()  // the socket is closing: nothing more is posted
        }
    }

    /// A binary message: the chat speaks text only.
    func receivedBinary() {
        socket?.messageHandled()
        if options.speaksV2 {
            refuse(PostRefusal(id: nil, code: .badEnvelope, message: "posts are text frames"))
        } else {
            socket?.close(.unacceptableData, reason: "this chat accepts text messages only")
        }
    }

    /// A chat.v2 message over the connection's rate: refused, not posted.
    func receivedOverRate(_ message: WebSocketProtocolHandler.Message) {
        var id: String?
        if case .text(let text) = message {
            switch PostEnvelope.parse(text, maximumTextBytes: .max) {
            case .success(let envelope): id = envelope.id.rawValue
            case .failure(let refusal): id = refusal.id
            }
        }
        refuse(PostRefusal(id: id, code: .rateLimited, message: "more posts per second than allowed; send it again later"))
    }

    private func refuse(_ refusal: PostRefusal) {
        socket?.send(.text(ServerEnvelope.error(refusal)))
    }

    /// The socket closed; leave once what the client sent is published.
    func channelClosed() {
        socketClosed = true
        finishIfDone()
    }

    private static func join(
        _ member: NIOLoopBound<RoomMember>,
        user: UserName,
        room: RoomID,
        connection: ConnectionID,
        options: JoinOptions,
        service: ChatService,
        hub: RoomHub
    ) async -> JoinOutcome {
        do {
            try await service.enter(user, room: room, connection: connection)
        } catch {
            return .failed(entered: false, ticket: nil, error: error)
        }
        let ticket: RoomHub.Ticket
        do {
            ticket = try await hub.join(member)
        } catch {
            return .failed(entered: true, ticket: nil, error: error)
        }
        do {
            let started = ContinuousClock.now
            let playback = await JoinPlayback.make(for: options, room: room, service: service)
            let took = ContinuousClock.now - started
            hub.counters.recordJoinHistory(nanoseconds: took.components.seconds * 1_000_000_000 + took.components.attoseconds / 1_000_000_000)
            try await hub.completeJoin(
                of: member, ticket: ticket, history: playback.messages, through: playback.through, notice: playback.notice
            )
            return .joined(ticket)
        } catch {
            return .failed(entered: true, ticket: ticket, error: error)
        }
    }

    private func joinFinished(_ outcome: JoinOutcome) {
        switch outcome {
        case .joined(let ticket):
            self.entered = true
            self.ticket = ticket
            phase = .live
            logger.debug("joined", metadata: ["connection": "\(member.connection)", "room": "\(member.room)", "user": "\(member.user)"])
            pump()
        case .failed(let entered, let ticket, let error):
            self.entered = entered
            self.ticket = ticket
            phase = .failed
            logger.error(
                "join failed", metadata: ["connection": "\(member.connection)", "room": "\(member.room)", "user": "\(member.user)", "error": "\(error)"]
            )
            dropOutbox()
            socket?.close(.unexpectedServerError, reason: "could not join the room; try again")
            finishIfDone()
        }
    }

    /// Publishes the next message if none is in flight: one at a time keeps the client's order.
    private func pump() {
        guard case .live = phase, !publishing, let post = nextPost() else {
            return finishIfDone()
        }
        publishing = true
        let session = NIOLoopBound(self, eventLoop: eventLoop)
        let service = service
        let user = member.user
        let room = member.room
        let logger = logger
        let counters = hub.counters
        let connection = member.connection
        eventLoop.makeFutureWithTask {
            await ChatSession.publish(post, by: user, in: room, connection: connection, service: service, counters: counters, logger: logger)
        }.whenSuccess { outcome in
            let session = session.value
            session.publishing = false
            session.socket?.messageHandled()
            session.answer(post, with: outcome)
            session.pump()
        }
    }

    /// Tells the client how its post went: chat.v2 clients by an ack or an error envelope;
    /// seed clients, who cannot parse either, only by a 1013 close when nothing can be posted.
    private func answer(_ post: Post, with outcome: PublishOutcome) {
        guard let id = post.id else {
            if case .unavailable = outcome {
                dropOutbox()
                socket?.close(CloseCode.tryAgainLater, reason: "messages cannot be delivered right now; reconnect later")
            }
            return
        }
        switch outcome {
        case .posted(let receipt):
            socket?.send(.text(ServerEnvelope.ack(id: id.rawValue, seq: receipt.message.seq, epoch: ServerEnvelope.epoch(of: receipt.message))))
        case .refused(let reason):
            refuse(PostRefusal(id: id.rawValue, code: .invalidMessage, message: reason))
        case .unavailable:
            refuse(PostRefusal(id: id.rawValue, code: .unavailable, message: "the post could not be confirmed; send it again with the same id"))
        }
    }

    private static func publish(
        _ post: Post, by user: UserName, in room: RoomID, connection: ConnectionID, service: ChatService, counters: TransportCounters,
        logger: Logger
    ) async -> PublishOutcome {
        do {
            let receipt = try await service.post(post.text, by: user, in: room, postID: post.id)
            if !receipt.isRepeat { counters.countPublished() }
            return .posted(receipt)
        } catch .invalidMessage(let reason) {
            logger.debug("message refused", metadata: ["connection": "\(connection)", "reason": "\(reason)"])
            return .refused(reason)
        } catch {
            logger.error("publish failed", metadata: ["connection": "\(connection)", "room": "\(room)", "error": "\(error)"])
            return .unavailable
        }
    }

    private func dropOutbox() {
        while nextPost() != nil { socket?.messageHandled() }
    }

    /// The oldest waiting post; the outbox's storage goes with its last post.
    private func nextPost() -> Post? {
        guard !outbox.isEmpty else { return nil }
        let post = outbox.removeFirst()
        if outbox.isEmpty { outbox = [] }
        return post
    }

    private func finishIfDone() {
        guard socketClosed, !publishing, outbox.isEmpty else { return }
        switch phase {
        case .joining, .left:
            return
        case .live, .failed:
            phase = .left
        }
        let member = NIOLoopBound(self.member, eventLoop: eventLoop)
        let ticket = ticket
        let entered = entered
        let service = service
        let hub = hub
        let user = self.member.user
        let room = self.member.room
        let connection = self.member.connection
        let logger = logger
        Task {
            if let ticket { await hub.leave(member, ticket: ticket) }
            guard entered else { return }
            do {
                try await service.leave(user, room: room, connection: connection)
            } catch {
                logger.error("leave failed", metadata: ["connection": "\(connection)", "room": "\(room)", "user": "\(user)", "error": "\(error)"])
            }
        }
    }
}

/// The socket's events, straight to the session (no closure per event and connection).
extension ChatSession: WebSocketReceiver {
    func socketReceived(_ message: WebSocketProtocolHandler.Message) {
        switch message {
        case .text(let text): received(text)
        case .binary: receivedBinary()
        }
    }

    func socketReceivedOverRate(_ message: WebSocketProtocolHandler.Message) {
        receivedOverRate(message)
    }

    func socketSentCloseFrame() {
        member.stopWriting()
    }

    func socketEnded() {
        connections?.remove(member.connection)
        channelClosed()
    }

    var connection: ConnectionID? { member.connection }

    func socketAttached(to context: ChannelHandlerContext) {
        member.attach(to: context)
    }

    func socketDetached() {
        member.detach()
    }

    func socketWillWrite() {
        member.writeOwedBeforeOwnWrite()
    }

    func socketWritabilityChanged(_ writable: Bool) {
        member.writabilityChanged(writable)
    }
}
