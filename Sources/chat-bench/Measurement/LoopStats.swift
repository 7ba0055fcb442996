import CompressNIO
import Histogram
import NIOCore

/// What the connections of one event loop have seen. Touched only on that loop (it sits in a
/// `NIOLoopBound`), so the hot path takes no lock; merged once at the end.
final class LoopStats {
    /// Everything counted so far; merged over the loops at the end (``Snapshot/add(_:)``).
    var figures = Snapshot()

    /// Messages sent before this instant (monotonic ns) are the warm-up's: seen and checked for
    /// order, but neither counted as published nor as delivered, nor timed. 0: none.
    var countFrom: UInt64 = 0

    /// Join probes that came back to their member (``MemberHandler/JoinProbe``): a plain count,
    /// cheap to poll while members join, unlike merging the figures' histograms.
    var probesEchoed = 0

    /// Publishers of this loop that sent their last message (reached their stop time or count).
    var publishersDone = 0

    /// One inflater for every compressed frame of this loop: the server resets its context per
    /// message (`server_no_context_takeover`), so members need none of their own.
    private var inflater: ZlibDecompressor?

    init() {}

    static func microsecondHistogram() -> Histogram<UInt64> {
        Histogram(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    }

    /// A permessage-deflate payload inflated (RFC 7692 §7.2.2: append 00 00 ff ff), or nil if corrupt.
    func inflate(_ payload: ByteBuffer) -> ByteBuffer? {
        do {
            if inflater == nil { inflater = try ZlibDecompressor(algorithm: .deflate, windowSize: 15) }
            guard let inflater else { return nil }
            defer { try? inflater.reset() }
            var input = ByteBuffer()
            input.reserveCapacity(payload.readableBytes + 4)
            input.writeImmutableBuffer(payload)
            input.writeInteger(UInt32(0x0000_FFFF))
            var output = ByteBuffer()
            output.reserveCapacity(max(256, payload.readableBytes * 4))
            while true {
                let before = (input.readerIndex, output.writerIndex)
                do {
                    try inflater.inflate(from: &input, to: &output)
                } catch let error as CompressNIOError where error == .bufferOverflow {
                    // Output full: grow it and go on.
                } catch let error as CompressNIOError where error == .inputBufferOverflow {
                    return output
                }
                if input.readableBytes == 0 && output.writableBytes > 0 { return output }
                if output.writableBytes == 0 {
                    output.reserveCapacity(output.capacity * 2)
                } else if before == (input.readerIndex, output.writerIndex) {
                    return output
                }
            }
        } catch {
            return nil
        }
    }

    struct Snapshot: Sendable {
        /// Messages of this run received, over all members.
        var received: UInt64 = 0
        /// Messages whose room `seq` was below the previous one the same member saw.
        var outOfOrder: UInt64 = 0
        /// Messages whose room `seq` equalled the previous one the same member saw: a duplicate.
        var repeated: UInt64 = 0
        /// Messages of the warm-up (sent before `LoopStats.countFrom`) received.
        var warmupReceived: UInt64 = 0
        /// Text frames that were not a message of this run (no `t=` or no `seq`), or did not inflate.
        var unparsed: UInt64 = 0
        /// Text frames that came compressed (RSV1, permessage-deflate).
        var compressedFrames: UInt64 = 0
        /// Connections the server closed (a close frame from it), and sockets that failed.
        var closedByServer: UInt64 = 0
        var socketErrors: UInt64 = 0
        /// Messages written by publishers, per room index.
        var published: [Int: UInt64] = [:]
        /// When the last message of this run arrived (monotonic nanoseconds).
        var lastReceivedAt: UInt64 = 0
        /// Delivery latency in microseconds.
        var latency = LoopStats.microsecondHistogram()
        /// Join storm: members that saw the room's last history message, and how long it took them.
        var historiesComplete: UInt64 = 0
        var joinLatency = LoopStats.microsecondHistogram()
        /// Join probes echoed back to their member, from before its TCP connect: the room's first
        /// member on its server (the server subscribes to the room) and the later ones.
        var firstJoinLatency = LoopStats.microsecondHistogram()
        var laterJoinLatency = LoopStats.microsecondHistogram()

        var totalPublished: UInt64 { published.values.reduce(0, +) }

        mutating func add(_ other: Snapshot) {
            received += other.received
            outOfOrder += other.outOfOrder
            repeated += other.repeated
            warmupReceived += other.warmupReceived
            unparsed += other.unparsed
            compressedFrames += other.compressedFrames
            closedByServer += other.closedByServer
            socketErrors += other.socketErrors
            published.merge(other.published, uniquingKeysWith: +)
            lastReceivedAt = Swift.max(lastReceivedAt, other.lastReceivedAt)
            latency.add(other.latency)
            historiesComplete += other.historiesComplete
            joinLatency.add(other.joinLatency)
            firstJoinLatency.add(other.firstJoinLatency)
            laterJoinLatency.add(other.laterJoinLatency)
        }
    }
}
