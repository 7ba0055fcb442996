import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket

@testable import ChatTransport

/// The whole inbound WebSocket path that runs without a socket: the real
/// ``WebSocketProtocolHandler`` (frame parsing, message assembly, UTF-8, permessage-deflate
/// inflating with its limit, control frames, the close handshake, rate limit, timers) on an
/// `EmbeddedChannel`, the way ``ChatServerChannel`` installs it after the upgrade.
///
/// Input: byte 0 picks the connection's settings: bits 0-1 the negotiated deflate (0 none,
/// 1 the shared inflater, 2-3 an inflater of the connection's own), bits 2-4 that inflater's
/// window minus 8, bit 5 a rate limit of 3 messages per second. Byte 1 is the size of the
/// reads the bytes arrive in (0: one read). The rest is what the client sent.
///
/// Besides crashes and sanitizer reports it checks what the handler promises: no message over
/// the size limit, none after the server's close frame, at most one close frame, a close
/// frame that fits a control frame with a code a server may send, every write whole frames, and
/// `onClosed` exactly once.
enum InboundFramesFuzzer {
    static let maximumMessageBytes = 512

    static func run(_ input: UnsafeRawBufferPointer) {
        guard input.count >= 2 else { return }
        let mode = input[0]
        let readSize = Int(input[1])
        let wire = input.dropFirst(2)
        let deflate: NegotiatedDeflate? =
            switch mode & 0x03 {
            case 0: nil
            case 1: NegotiatedDeflate(clientNoContextTakeover: true)
            default: NegotiatedDeflate(clientMaxWindowBits: 8 + (mode >> 2) & 0x07, clientNoContextTakeover: false)
            }
        let limits = WebSocketLimits(
            maximumMessageBytes: maximumMessageBytes,
            maximumFragments: 8,
            maximumPendingMessages: 2,
            closeTimeout: .seconds(1),
            pingInterval: .seconds(1),
            idleTimeout: .seconds(3),
            maximumMessagesPerSecond: mode & 0x20 != 0 ? 3 : nil
        )

        let channel = EmbeddedChannel()
        let observed = Observed()
        let handler = WebSocketProtocolHandler(
            limits: limits,
            deflate: deflate,
            compressors: FrameCompressors(settings: PerMessageDeflateSettings(minimumCompressedPayloadBytes: 16)),
            counters: TransportCounters(),
            logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }),
            onMessage: { message in observed.received(message) },
            onClosed: { observed.closed += 1 }
        )
        do {
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        } catch {
            fatalError("pipeline setup failed: \(error)")
        }

        var offset = wire.startIndex
        while offset < wire.endIndex, channel.isActive {
            let end = readSize == 0 ? wire.endIndex : min(wire.endIndex, offset + readSize)
            do {
                try channel.writeInbound(ByteBuffer(bytes: wire[offset..<end]))
            } catch {
                break  // the channel closed under the write: the rest is never read
            }
            offset = end
            observed.checkSent(channel)
            // The session handles one message per read, so reading resumes now and then.
            if observed.pending > 0 {
                observed.pending -= 1
                handler.messageHandled()
            }
        }
        // Let the ping, idle and close timers run out.
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        observed.checkSent(channel)
        _ = try? channel.finish(acceptAlreadyClosed: true)
        precondition(observed.closed == 1, "onClosed called \(observed.closed) times")
    }

    /// What the handler did, and the checks on it.
    final class Observed {
        var closed = 0
        var pending = 0
        var closeFramesSent = 0

        func received(_ message: WebSocketProtocolHandler.Message) {
            precondition(closeFramesSent == 0, "a message was handed on after the server's close frame")
            switch message {
            case .text(let text):
                precondition(text.utf8.count <= maximumMessageBytes, "text message of \(text.utf8.count) bytes")
            case .binary(let data):
                precondition(data.readableBytes <= maximumMessageBytes, "binary message of \(data.readableBytes) bytes")
            }
            pending += 1
        }

        func checkSent(_ channel: EmbeddedChannel) {
            while var bytes = try? channel.readOutbound(as: ByteBuffer.self) {
                let frame: WebSocketFrame
                do {
                    guard let whole = try WebSocketFrameWire.frame(from: &bytes, maximumFrameBytes: .max), bytes.readableBytes == 0 else {
                        preconditionFailure("a write that is not one whole frame")
                    }
                    frame = whole
                } catch {
                    preconditionFailure("a server frame that does not parse: \(error)")
                }
                precondition(frame.fin && !frame.rsv2 && !frame.rsv3 && frame.maskKey == nil, "malformed server frame \(frame)")
                switch frame.opcode {
                case .connectionClose:
                    closeFramesSent += 1
                    precondition(closeFramesSent == 1, "a second close frame")
                    precondition(frame.data.readableBytes <= 125, "close frame of \(frame.data.readableBytes) bytes")
                    var payload = frame.data
                    let code = payload.readInteger(as: UInt16.self)
                    precondition(code.map { CloseCode.isValidFromPeer($0) || $0 == 1013 } ?? false, "close code \(String(describing: code))")
                    precondition(String(validating: payload.readableBytesView, as: UTF8.self) != nil, "close reason is not UTF-8")
                case .pong, .ping:
                    precondition(closeFramesSent == 0, "a \(frame.opcode) after the close frame")
                    precondition(frame.data.readableBytes <= 125, "control frame of \(frame.data.readableBytes) bytes")
                default:
                    preconditionFailure("unexpected \(frame.opcode) frame")
                }
            }
        }
    }
}
