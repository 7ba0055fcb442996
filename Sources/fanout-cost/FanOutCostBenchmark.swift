import ChatCore
import ChatTransport
import CompressNIO
import Foundation
import Metrics
import NIOCore
import NIOEmbedded

/// Measures the server-side CPU cost of broadcasting chat messages to the members of one
/// room on one event loop, through the real fan-out (encode, compress, frame, per-member
/// write, coalesced flush), with the socket replaced by a sink: what is left is our code's
/// cost, without the kernel's.
///
/// Its own target's code, not the library's: the sockets are NIOEmbedded's channels, which the
/// ChatTransport library does not depend on. It drives the fan-out's `package` API
/// (``LoopRoomHub``, ``RoomMember``, ``OutboundChatFrame``), which no public API exposes.
enum FanOutCostBenchmark {
    enum Mode: String, CaseIterable, Sendable {
        /// No compression: one plain frame per message.
        case plain
        /// permessage-deflate as a per-socket design does it: every recipient's own deflater
        /// (context takeover) compresses every message again.
        case perConnection = "per-connection"
        /// permessage-deflate as chatd does it: compressed once, the same bytes to everyone.
        case oneEncode = "one-encode"
    }

    struct Result: Sendable {
        let mode: Mode
        let members: Int
        let messages: Int
        let cpuSeconds: Double
        let bytesPerDelivery: Double

        var microsecondsPerBroadcast: Double { cpuSeconds * 1e6 / Double(messages) }
        var nanosecondsPerDelivery: Double { cpuSeconds * 1e9 / Double(messages * members) }
    }

    /// `metrics` records the fan-out's metrics as chatd does (nil: swift-metrics' no-op factory).
    static func run(
        mode: Mode, members memberCount: Int, messages: Int, perFlush: Int = 1, textBytes: Int, metrics: (any MetricsFactory)? = nil
    ) throws -> Result {
        let loop = EmbeddedEventLoop()
        let counters = TransportCounters(factory: metrics ?? NOOPMetricsHandler.instance)
        // With the outbound budget chatd runs with (its default), so its accounting is measured too.
        let hub = LoopRoomHub(
            eventLoop: loop, slowConsumers: SlowConsumerPolicy(maximumQueuedBytes: 1 << 30, grace: .seconds(60)), counters: counters,
            budget: OutboundBudget(limit: AbuseLimits().outboundMemoryBudget, counters: counters)
        )
        let compressors = mode == .oneEncode ? FrameCompressors(settings: PerMessageDeflateSettings(), metrics: counters.factory) : nil
        let room = RoomID(1)
        var members: [RoomMember] = []
        var sinks: [ByteSink] = []
        var channels: [EmbeddedChannel] = []
        for number in 0..<memberCount {
            let channel = EmbeddedChannel(loop: loop)
            let sink = ByteSink()
            let member = RoomMember(
                connection: ConnectionID(server: ServerID(rawValue: "bench"), number: UInt64(number)),
                room: room,
                user: UserName(trusted: "member\(number)"),
                holdLimit: 10,
                outboundWindowBits: mode == .plain ? nil : 15
            )
            try channel.pipeline.syncOperations.addHandler(sink)
            try channel.pipeline.syncOperations.addHandler(StandaloneMemberSocket(member))
            _ = try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            hub.add(member)
            hub.completeJoin(of: member, history: [], allocator: ByteBufferAllocator())
            members.append(member)
            sinks.append(sink)
            channels.append(channel)
        }
        loop.run()
        let deflaters = try mode == .perConnection
            ? (0..<memberCount).map { _ in try ZlibCompressor(algorithm: .deflate, configuration: ZlibConfiguration(windowSize: 15)) }
            : []
        var words = ChatText(seed: 42)
        let allocator = ByteBufferAllocator()
        let before = sinks.reduce(0) { $0 + $1.bytes }
        let start = cpuTime()
        for seq in 1...messages {
            let message = ChatMessage(room: room, user: UserName(trusted: "publisher"), text: words.line(bytes: textBytes), timestamp: 0, seq: Int64(seq))
            switch mode {
            case .plain, .oneEncode:
                // As the Redis subscriber hands it on: the payload's bytes, parsed, not decoded.
                let encoded = EncodedChatMessage(parsing: EncodedChatMessage(message, allocator: allocator).bytes)!
                hub.deliver(OutboundChatFrame(encoded, compressors: compressors, allocator: allocator), room: room)
                if seq % max(1, perFlush) == 0 || seq == messages { loop.run() }  // the window's coalesced flush
            case .perConnection:
                let payload = ChatFrameEncoder.payload(ofFrame: ChatFrameEncoder.textFrame(for: message, allocator: allocator))
                for (index, member) in members.enumerated() {
                    member.writeFrame(try compressedFrame(payload, with: deflaters[index], allocator: allocator))
                    member.flush()
                }
            }
        }
        let cpuSeconds = cpuTime() - start
        let bytes = sinks.reduce(0) { $0 + $1.bytes } - before
        for channel in channels { _ = try? channel.finish() }
        return Result(
            mode: mode,
            members: memberCount,
            messages: messages,
            cpuSeconds: cpuSeconds,
            bytesPerDelivery: Double(bytes) / Double(messages * memberCount)
        )
    }

    /// A per-socket deflater's frame: compressed with the context kept (as `ws` does by default).
    private static func compressedFrame(_ payload: ByteBuffer, with deflater: ZlibCompressor, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        var input = payload
        var frame = allocator.buffer(capacity: ChatFrameEncoder.headerReserve + deflater.maxSize(from: payload))
        frame.moveWriterIndex(forwardBy: ChatFrameEncoder.headerReserve)
        frame.moveReaderIndex(forwardBy: ChatFrameEncoder.headerReserve)
        try deflater.deflate(from: &input, to: &frame, flush: .sync)
        frame.moveWriterIndex(to: frame.writerIndex - 4)
        ChatFrameEncoder.prependFrameHeader(to: &frame, firstByte: 0xC1)
        return frame
    }

    /// User plus system CPU seconds of this process so far.
    private static func cpuTime() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

/// Chat-like lines: common words in a pseudo-random order, so that each message differs as
/// real ones do (identical messages would flatter a deflater that keeps its context).
private struct ChatText {
    private static let words = (
        "the be to of and a in that have I it for not on with he as you do at this but his by from they we say her she "
            + "or an will my one all would there their what so up out if about who get which go me when make can like time "
            + "no just him know take people into year your good some could them see other than then now look only come its "
            + "over think also back after use two how our work first well way even new want because any these give day most us "
            + "chat room hello thanks see later lunch meeting deploy server fixed bug release tomorrow great idea"
    ).split(separator: " ")
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func line(bytes: Int) -> String {
        var line = ""
        while line.utf8.count < bytes {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            if !line.isEmpty { line += " " }
            line += Self.words[Int((state >> 33) % UInt64(Self.words.count))]
        }
        return line
    }
}

/// Stands in for the socket: counts and drops what is written.
private final class ByteSink: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var bytes = 0

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        bytes += unwrapOutboundIn(data).readableBytes
        promise?.succeed()
    }

    func flush(context: ChannelHandlerContext) {}
}
