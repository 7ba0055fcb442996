import ChatCore
import Logging
import NIOCore
import NIOWebSocket

/// The life of one joined connection, driven from its event loop: enter the room, join the
/// fan-out gap-free, publish what the client sends (in order, one at a time), and leave once the
/// socket has closed and everything it sent is published.
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

    /// What the asynchronous part of a join achieved, so a failure undoes exactly that.
    private enum JoinOutcome: Sendable {
        case joined(RoomHub.Ticket)
        case failed(entered: Bool, ticket: RoomHub.Ticket?, error: any Error)
    }

    let eventLoop: any EventLoop
    private let service: ChatService
    private let hub: RoomHub
    private let member: RoomMember
    private let logger: Logger
    weak var socket: WebSocketProtocolHandler?

    private var phase = Phase.joining
    private var entered = false
    private var ticket: RoomHub.Ticket?
    /// Messages the client sent that are not published yet; bounded by the socket's read pausing.
    private var outbox = CircularBuffer<String>()
    private var publishing = false
    private var socketClosed = false

    init(service: ChatService, hub: RoomHub, member: RoomMember, eventLoop: any EventLoop, logger: Logger) {
        self.service = service
        self.hub = hub
        self.member = member
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
        Task {
            let outcome = await ChatSession.join(member, user: user, room: room, connection: connection, service: service, hub: hub)
            session.eventLoop.execute { session.value.joinFinished(outcome) }
        }
    }

    /// A text message from the client.
    func received(_ text: String) {
        switch phase {
        case .joining:
            outbox.append(text)
        case .live:
            outbox.append(text)
            pump()
        case .failed, .left:
            socket?.messageHandled()  // the socket is closing: nothing more is posted
        }
    }

    /// A binary message: the seed's chat speaks text only.
    func receivedBinary() {
        socket?.messageHandled()
        socket?.close(.unacceptableData, reason: "this chat accepts text messages only")
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
            let history = await service.history(of: room)
            try await hub.completeJoin(of: member, ticket: ticket, history: history)
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
            logger.debug("joined", metadata: ["room": "\(member.room)", "user": "\(member.user)"])
            pump()
        case .failed(let entered, let ticket, let error):
            self.entered = entered
            self.ticket = ticket
            phase = .failed
            logger.error("join failed", metadata: ["room": "\(member.room)", "user": "\(member.user)", "error": "\(error)"])
            dropOutbox()
            socket?.close(.unexpectedServerError, reason: "could not join the room; try again")
            finishIfDone()
        }
    }

    /// Publishes the next message if none is in flight: one at a time keeps the client's order.
    private func pump() {
        guard case .live = phase, !publishing, let text = outbox.popFirst() else {
            return finishIfDone()
        }
        publishing = true
        let session = NIOLoopBound(self, eventLoop: eventLoop)
        let service = service
        let user = member.user
        let room = member.room
        let logger = logger
        eventLoop.makeFutureWithTask {
            await ChatSession.publish(text, by: user, in: room, service: service, logger: logger)
        }.whenSuccess { delivered in
            let session = session.value
            session.publishing = false
            session.socket?.messageHandled()
            if !delivered {
                session.dropOutbox()
                session.socket?.close(CloseCode.tryAgainLater, reason: "messages cannot be delivered right now; reconnect later")
            }
            session.pump()
        }
    }

    /// Returns whether the service is still able to deliver (a refused empty message counts as able).
    private static func publish(_ text: String, by user: UserName, in room: RoomID, service: ChatService, logger: Logger) async -> Bool {
        do {
            _ = try await service.post(text, by: user, in: room)
        } catch .invalidMessage(let reason) {
            // Seed clients cannot parse an error frame; an empty message is simply not posted.
            logger.debug("message refused", metadata: ["reason": "\(reason)"])
        } catch {
            logger.error("publish failed", metadata: ["room": "\(room)", "error": "\(error)"])
            return false
        }
        return true
    }

    private func dropOutbox() {
        while outbox.popFirst() != nil { socket?.messageHandled() }
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
                logger.error("leave failed", metadata: ["room": "\(room)", "user": "\(user)", "error": "\(error)"])
            }
        }
    }
}
