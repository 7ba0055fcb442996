import CHiredis
import NIOCore

/// A command on its way to Redis and the promise its reply completes.
struct RedisRequest {
    var arguments: [String]
    /// nil: no reply is matched to this request (SUNSUBSCRIBE, whose answer comes as a push).
    var reply: EventLoopPromise<RESPValue>?
}

/// Speaks RESP on one channel: hiredis formats commands and parses replies; this handler only
/// moves bytes and matches replies to requests.
///
/// Redis answers a connection's commands in the order they were sent, so a FIFO of promises is
/// all pipelining needs. On a subscriber connection, `message` (and `smessage`: sharded Pub/Sub) pushes arrive between replies;
/// they go to `onPush` and everything else still matches the FIFO (SUBSCRIBE, UNSUBSCRIBE and PING
/// each answer once per single-channel command). Shard channels (Redis 7) push `smessage`, and
/// `sunsubscribe` both as the answer to SUNSUBSCRIBE and unasked when the channel's slot moved
/// away: every `sunsubscribe` therefore goes to `onPush`, and SUNSUBSCRIBE is sent without a reply.
final class RedisProtocolHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private let reader: UnsafeMutablePointer<redisReader>
    private var pending = CircularBuffer<EventLoopPromise<RESPValue>>()
    private let onPush: ((RESPValue) -> Void)?

    init(onPush: ((RESPValue) -> Void)?) {
        guard let reader = redisReaderCreate() else { fatalError("hiredis could not allocate a reply reader") }
        self.reader = reader
        self.onPush = onPush
    }

    deinit {
        redisReaderFree(reader)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        var buffer = context.channel.allocator.buffer(capacity: 64)
        guard Self.format(request.arguments, into: &buffer) else {
            let error = RedisError("hiredis could not format \(request.arguments.first ?? "a command")")
            request.reply?.fail(error)
            promise?.fail(error)
            return
        }
        if let reply = request.reply { pending.append(reply) }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let fed = buffer.withUnsafeReadableBytes { bytes in
            redisReaderFeed(reader, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        guard fed == REDIS_OK else { return protocolFailure(context: context) }
        while true {
            var reply: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &reply) == REDIS_OK else { return protocolFailure(context: context) }
            guard let reply else { return }
            let value = RESPValue(
                copying: reply.assumingMemoryBound(to: redisReply.self),
                allocator: context.channel.allocator
            )
            freeReplyObject(reply)
            dispatch(value, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError("connection to Redis closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(RedisError("connection to Redis failed: \(error)"))
        context.close(promise: nil)
    }

    private func dispatch(_ value: RESPValue, context: ChannelHandlerContext) {
        if let onPush, case .array(let parts) = value, let kind = parts.first?.string,
            kind == "message" || kind == "pmessage" || kind == "smessage" || kind == "sunsubscribe"
        {
            onPush(value)
            return
        }
        guard let promise = pending.popFirst() else {
            // A reply nobody asked for: the stream is out of step, so nothing after it can be trusted.
            failAll(RedisError("unexpected reply from Redis"))
            context.close(promise: nil)
            return
        }
        promise.succeed(value)
    }

    private func protocolFailure(context: ChannelHandlerContext) {
        let reason = withUnsafeBytes(of: reader.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        failAll(RedisError("Redis protocol error: \(reason)"))
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        while let promise = pending.popFirst() {
            promise.fail(error)
        }
    }

    /// Formats a command with hiredis into `buffer`; the arguments are laid out in one block so
    /// that a single pointer array can address them all.
    private static func format(_ arguments: [String], into buffer: inout ByteBuffer) -> Bool {
        var storage: [UInt8] = []
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            storage.append(contentsOf: argument.utf8)
            lengths.append(argument.utf8.count)
        }
        storage.append(0)  // never empty, so the base address exists
        return storage.withUnsafeBufferPointer { block in
            let base = UnsafeRawPointer(block.baseAddress!)
            var argv: [UnsafePointer<CChar>?] = []
            argv.reserveCapacity(arguments.count)
            var offset = 0
            for length in lengths {
                argv.append((base + offset).assumingMemoryBound(to: CChar.self))
                offset += length
            }
            var command: UnsafeMutablePointer<CChar>?
            let count = redisFormatCommandArgv(&command, Int32(arguments.count), &argv, lengths)
            guard count > 0, let command else { return false }
            buffer.writeBytes(UnsafeRawBufferPointer(start: command, count: Int(count)))
            redisFreeCommand(command)
            return true
        }
    }
}
