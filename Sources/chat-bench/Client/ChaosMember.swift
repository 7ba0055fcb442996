import Foundation
import NIOCore

/// A room's position of a message: `(epoch, seq)` (docs/protocol.md).
struct ChaosPosition: Hashable, Codable, Sendable {
    var epoch: String
    var seq: Int64
}

/// One member of a `chaos` run on the opt-in protocol, across as many sockets as it takes.
///
/// Posts `{"type":"post","id":…}` with ids `USER-N` and the text `chaos USER-N` (so every
/// member can tell whose post a message is), keeps every post until its `ack`, and sends it
/// again with the same id after an `unavailable` or `rate_limited` error, after `resendAfter`
/// without an answer, and after every reconnect (a bounded number per tick, the rest on the
/// next ticks). A dropped socket is followed by a join to the
/// next server (with backoff) with `since`/`epoch` of the last message received. Counts every
/// message it receives by position and by post id, so repeats show. Lives on one event loop.
final class ChaosMember {
    struct Settings: Sendable {
        var rate: Double
        var resendAfter: TimeAmount
        /// After an `unavailable` or `rate_limited` error.
        var retryAfter: TimeAmount = .seconds(1)
        var resendsPerTick = 4
        static let resendTick = TimeAmount.milliseconds(250)
        var backoff: ClosedRange<TimeAmount> = .milliseconds(100)...(.seconds(2))
    }

    let roomID: Int
    let user: String
    private let token: String?
    private let endpoints: [ServerEndpoint]
    private var endpointIndex: Int
    private let settings: Settings
    let loop: any EventLoop

    // Posting: numbers not acknowledged yet, with when they were last sent.
    private var posting: RepeatedTask?
    private var resending: RepeatedTask?
    private var nextNumber = 0
    private var pending: [Int: NIODeadline] = [:]
    private(set) var acked: [String: ChaosPosition] = [:]
    private var figures = ChaosMemberFigures()

    // Receiving.
    private var positions: Set<ChaosPosition> = []
    private(set) var receivedIDs: Set<String> = []
    private var last: ChaosPosition?
    /// While a resume's replay is played: the epoch of its `since`, to tell a replay across a reset.
    private var replayingFrom: String?
    private var replayCrossedEpochs = false

    // The socket.
    private var channel: (any Channel)?
    private var connecting = false
    private var closing = false
    private var everJoined = false
    private var backoff: TimeAmount

    init(roomID: Int, user: String, token: String?, endpoints: [ServerEndpoint], firstEndpoint: Int, settings: Settings, loop: any EventLoop) {
        self.roomID = roomID
        self.user = user
        self.token = token
        self.endpoints = endpoints
        endpointIndex = firstEndpoint % endpoints.count
        self.settings = settings
        self.loop = loop
        backoff = settings.backoff.lowerBound
    }

    var isConnected: Bool { channel != nil }
    var snapshot: ChaosMemberFigures {
        var figures = figures
        figures.unacknowledged = pending.count
        figures.acknowledged = acked.count
        figures.connected = channel != nil
        figures.epochs = Set(positions.map(\.epoch))
        figures.roomID = roomID
        return figures
    }

    // MARK: the socket

    /// Joins (again): with `since`/`epoch` of the last message received once it has one.
    func connect() {
        guard !closing, channel == nil, !connecting else { return }
        connecting = true
        var query = token.map { "access_token=\($0)" } ?? "user=\(user)"
        if everJoined {
            query += "&since=\(last?.seq ?? 0)" + (last.map { "&epoch=\($0.epoch)" } ?? "")
        }
        replayingFrom = everJoined ? last?.epoch : nil
        replayCrossedEpochs = false
        let path = "/v1/chatrooms/\(roomID)/join?\(query)"
        let endpoint = endpoints[endpointIndex]
        let bound = NIOLoopBound(self, eventLoop: loop)
        let loop = loop
        Task {
            do {
                let channel = try await ChaosSocket.open(endpoint: endpoint, path: path, member: bound)
                loop.execute { bound.value.attached(channel) }
            } catch {
                loop.execute { bound.value.joinFailed("\(endpoint.baseURL): \(error)") }
            }
        }
    }

    private func attached(_ channel: any Channel) {
        connecting = false
        guard !closing else { return channel.close(promise: nil) }
        self.channel = channel
        backoff = settings.backoff.lowerBound
        if everJoined { figures.reconnects += 1 }
        everJoined = true
        let bound = NIOLoopBound(self, eventLoop: loop)
        channel.closeFuture.whenComplete { _ in bound.value.lost(channel) }
        for number in pending.keys.sorted().prefix(settings.resendsPerTick * 2) { send(number, again: true) }
    }

    private func joinFailed(_ reason: String) {
        connecting = false
        figures.failedJoins += 1
        figures.lastJoinError = reason
        retryLater()
    }

    private func lost(_ lostChannel: any Channel) {
        guard let channel, channel === lostChannel else { return }
        self.channel = nil
        guard !closing else { return }
        figures.drops += 1
        retryLater()
    }

    /// The next server, after the backoff (doubled each time up to its top, reset by a join).
    private func retryLater() {
        guard !closing else { return }
        endpointIndex = (endpointIndex + 1) % endpoints.count
        let delay = backoff
        backoff = min(backoff * 2, settings.backoff.upperBound)
        let bound = NIOLoopBound(self, eventLoop: loop)
        loop.scheduleTask(in: delay) { bound.value.connect() }
    }

    /// Closes for good (close handshake), posting stopped.
    func close() {
        stopPosting()
        resending?.cancel()
        closing = true
        if let channel { ChaosSocket.close(channel, timeout: .seconds(2)) }
    }

    // MARK: posting

    func startPosting() {
        guard settings.rate > 0 else { return }
        let interval = TimeAmount.nanoseconds(Int64(1e9 / settings.rate))
        let bound = NIOLoopBound(self, eventLoop: loop)
        posting = loop.scheduleRepeatedTask(initialDelay: .nanoseconds(Int64.random(in: 0...interval.nanoseconds)), delay: interval) { _ in
            bound.value.post()
        }
        resending = loop.scheduleRepeatedTask(initialDelay: Settings.resendTick, delay: Settings.resendTick) { _ in
            bound.value.resendDue()
        }
    }

    /// No new posts; the ones not acknowledged yet are still sent again until ``close()``.
    func stopPosting() {
        posting?.cancel()
        posting = nil
    }

    private func post() {
        nextNumber += 1
        figures.postsSent += 1
        pending[nextNumber] = .now()
        if channel != nil { send(nextNumber, again: false) }
    }

    /// Posts left without an answer (the answer or the post lost with a socket or a backend),
    /// at most `resendsPerTick` a tick, oldest first, so a backlog stays below the server's
    /// post rate.
    private func resendDue() {
        guard channel != nil, !pending.isEmpty else { return }
        let stale = NIODeadline.now() - settings.resendAfter
        let due = pending.filter { $0.value < stale }.keys.sorted().prefix(settings.resendsPerTick)
        for number in due { send(number, again: true) }
    }

    private func postID(_ number: Int) -> String { "\(user)-\(number)" }

    private func number(of id: String) -> Int? {
        guard id.hasPrefix(user + "-") else { return nil }
        return Int(id.dropFirst(user.count + 1))
    }

    private func send(_ number: Int, again: Bool) {
        guard let channel, pending[number] != nil else { return }
        pending[number] = .now()
        figures.postFrames += 1
        if again { figures.resends += 1 }
        let id = postID(number)
        ChaosSocket.sendText(#"{"type":"post","id":"\#(id)","text":"chaos \#(id)"}"#, on: channel)
    }

    // MARK: receiving

    func unparsedFrame() { figures.unparsed += 1 }

    func received(_ text: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], let type = object["type"] as? String else {
            return unparsedFrame()
        }
        switch type {
        case "message":
            guard let seq = (object["seq"] as? NSNumber)?.int64Value, let epoch = object["epoch"] as? String, let text = object["message"] as? String else {
                return unparsedFrame()
            }
            message(at: ChaosPosition(epoch: epoch, seq: seq), text: text)
        case "ack":
            guard let id = object["id"] as? String, let seq = (object["seq"] as? NSNumber)?.int64Value, let epoch = object["epoch"] as? String else {
                return unparsedFrame()
            }
            ack(id, at: ChaosPosition(epoch: epoch, seq: seq))
        case "error":
            error(id: object["id"] as? String, code: object["code"] as? String ?? "?")
        case "resumed":
            if object["recovered"] as? Bool == true { figures.resumesRecovered += 1 } else { figures.resumesNotRecovered += 1 }
            if replayCrossedEpochs { figures.resumesAcrossEpochs += 1 }
            replayingFrom = nil
        default:
            break  // presence
        }
    }

    private func message(at position: ChaosPosition, text: String) {
        guard positions.insert(position).inserted else {
            figures.duplicatePositions += 1
            return
        }
        last = position
        if let replayingFrom, replayingFrom != position.epoch { replayCrossedEpochs = true }
        guard text.hasPrefix("chaos ") else {
            figures.foreignMessages += 1
            return
        }
        if !receivedIDs.insert(String(text.dropFirst(6))).inserted { figures.duplicatePostIDs += 1 }
    }

    private func ack(_ id: String, at position: ChaosPosition) {
        guard let number = number(of: id) else { return }
        pending[number] = nil
        if let first = acked[id] {
            if first != position { figures.ackConflicts += 1 }
        } else {
            acked[id] = position
        }
    }

    private func error(id: String?, code: String) {
        figures.errors[code, default: 0] += 1
        guard let id, let number = number(of: id), pending[number] != nil else { return }
        switch code {
        case "unavailable", "rate_limited":
            // Due again after `retryAfter`: the next tick sends it, with the others due.
            pending[number] = .now() - settings.resendAfter + settings.retryAfter
        default:
            pending[number] = nil  // refused for good: not this drill's business to send it again
            figures.refused += 1
        }
    }
}

/// A member's counts, copied off its event loop.
struct ChaosMemberFigures: Sendable {
    var roomID = 0
    var postsSent = 0
    var acknowledged = 0
    var unacknowledged = 0
    var refused = 0
    var postFrames = 0
    var resends = 0
    var errors: [String: Int] = [:]
    var duplicatePositions = 0
    var duplicatePostIDs = 0
    var ackConflicts = 0
    var foreignMessages = 0
    var unparsed = 0
    var drops = 0
    var reconnects = 0
    var failedJoins = 0
    var lastJoinError: String?
    var resumesRecovered = 0
    var resumesNotRecovered = 0
    /// Resumes whose replay went on into another epoch than their `since`'s (a reset meanwhile).
    var resumesAcrossEpochs = 0
    var connected = false
    var epochs: Set<String> = []
}
