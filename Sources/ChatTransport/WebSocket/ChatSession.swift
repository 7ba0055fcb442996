import ChatCore
import Logging
import NIOCore
import NIOWebSocket

/// The life of one joined connection, as a task: enter the room, join the fan-out gap-free,
/// publish what the client sends (in order), and leave when the socket closes.
struct ChatSession: Sendable {
    let service: ChatService
    let hub: RoomHub
    let member: NIOLoopBound<RoomMember>
    let socket: NIOLoopBound<ChatSocketHandler>
    let inbound: AsyncStream<String>
    let connection: ConnectionID
    let room: RoomID
    let user: UserName
    let logger: Logger

    func run() async {
        var ticket: RoomHub.Ticket?
        var entered = false
        do {
            try await service.enter(user, room: room, connection: connection)
            entered = true
            let joined = try await hub.join(member)
            ticket = joined
            let history = try await service.history(of: room)
            try await hub.completeJoin(of: member, ticket: joined, history: history)
            logger.debug("joined", metadata: ["room": "\(room)", "user": "\(user)", "history": "\(history.count)"])
        } catch {
            logger.error("join failed", metadata: ["room": "\(room)", "user": "\(user)", "error": "\(error)"])
            close(.unexpectedServerError, reason: "could not join the room; try again")
        }

        if ticket != nil {
            // Ends when the channel closes (the socket handler finishes the stream).
            for await text in inbound {
                await publish(text)
                let socket = socket
                socket.eventLoop.execute { socket.value.inboundMessageHandled() }
            }
        }
        if let ticket { await hub.leave(member, ticket: ticket) }
        if entered {
            do {
                try await service.leave(user, room: room, connection: connection)
            } catch {
                logger.error("leave failed", metadata: ["room": "\(room)", "user": "\(user)", "error": "\(error)"])
            }
        }
    }

    private func publish(_ text: String) async {
        do {
            _ = try await service.post(text, by: user, in: room)
        } catch .invalidMessage(let reason) {
            // Seed clients cannot parse an error frame; an empty message is simply not posted.
            logger.debug("message refused", metadata: ["reason": "\(reason)"])
        } catch {
            logger.error("publish failed", metadata: ["room": "\(room)", "error": "\(error)"])
            close(CloseCode.tryAgainLater, reason: "messages cannot be delivered right now; reconnect later")
        }
    }

    private func close(_ code: WebSocketErrorCode, reason: String) {
        let socket = socket
        socket.eventLoop.execute { socket.value.close(code, reason: reason) }
    }
}
