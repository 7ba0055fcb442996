import Foundation

/// The figures of a `chaos` run (docs/reliability.md, "The chaos drill", says what each means).
/// The ones that must be 0 after any fault: `acknowledged_missing_at_members`,
/// `duplicate_positions`, `duplicate_post_ids`, `ack_conflicts`.
struct ChaosReport: BenchReport {
    let urls: [String]
    let roomIDs: [Int]
    let membersPerRoom: Int
    let ratePerMember: Double
    let postingSeconds: Double
    let settleSeconds: Double
    let settled: Bool
    let postsSent: Int
    let postsAcknowledged: Int
    let postsUnacknowledged: Int
    let postsRefused: Int
    let postFrames: Int
    let resends: Int
    let errors: [String: Int]
    let acknowledgedMissingAtMembers: Int
    let duplicatePositions: Int
    let duplicatePostIDs: Int
    let ackConflicts: Int
    let unparsedFrames: Int
    let foreignMessages: Int
    let drops: Int
    let reconnects: Int
    let failedJoins: Int
    let resumesRecovered: Int
    let resumesNotRecovered: Int
    let resumesAcrossEpochs: Int
    /// Per room id: the epochs its members saw.
    let epochs: [String: [String]]
    let epochsSeen: Int

    enum CodingKeys: String, CodingKey {
        case urls, roomIDs = "room_ids", membersPerRoom = "members_per_room", ratePerMember = "rate_per_member"
        case postingSeconds = "posting_seconds", settleSeconds = "settle_seconds", settled
        case postsSent = "posts_sent", postsAcknowledged = "posts_acknowledged", postsUnacknowledged = "posts_unacknowledged"
        case postsRefused = "posts_refused", postFrames = "post_frames", resends, errors
        case acknowledgedMissingAtMembers = "acknowledged_missing_at_members", duplicatePositions = "duplicate_positions"
        case duplicatePostIDs = "duplicate_post_ids", ackConflicts = "ack_conflicts", unparsedFrames = "unparsed_frames"
        case foreignMessages = "foreign_messages", drops, reconnects, failedJoins = "failed_joins"
        case resumesRecovered = "resumes_recovered", resumesNotRecovered = "resumes_not_recovered", resumesAcrossEpochs = "resumes_across_epochs", epochs, epochsSeen = "epochs_seen"
    }

    init(urls: [String], roomIDs: [Int], membersPerRoom: Int, rate: Double, postingSeconds: Double, settleSeconds: Double, outcome: ChaosOutcome, figures: [ChaosMemberFigures]) {
        func sum(_ field: (ChaosMemberFigures) -> Int) -> Int { figures.reduce(0) { $0 + field($1) } }
        self.urls = urls
        self.roomIDs = roomIDs
        self.membersPerRoom = membersPerRoom
        ratePerMember = rate
        self.postingSeconds = postingSeconds
        self.settleSeconds = settleSeconds
        settled = outcome.settled
        postsSent = sum(\.postsSent)
        postsAcknowledged = outcome.acknowledged
        postsUnacknowledged = outcome.unacknowledged
        postsRefused = sum(\.refused)
        postFrames = sum(\.postFrames)
        resends = sum(\.resends)
        errors = figures.reduce(into: [:]) { total, member in total.merge(member.errors, uniquingKeysWith: +) }
        acknowledgedMissingAtMembers = outcome.missingAtMembers
        duplicatePositions = sum(\.duplicatePositions)
        duplicatePostIDs = sum(\.duplicatePostIDs)
        ackConflicts = sum(\.ackConflicts)
        unparsedFrames = sum(\.unparsed)
        foreignMessages = sum(\.foreignMessages)
        drops = sum(\.drops)
        reconnects = sum(\.reconnects)
        failedJoins = sum(\.failedJoins)
        resumesRecovered = sum(\.resumesRecovered)
        resumesNotRecovered = sum(\.resumesNotRecovered)
        resumesAcrossEpochs = sum(\.resumesAcrossEpochs)
        let byRoom = figures.reduce(into: [Int: Set<String>]()) { rooms, member in rooms[member.roomID, default: []].formUnion(member.epochs) }
        epochs = Dictionary(uniqueKeysWithValues: byRoom.map { (String($0.key), $0.value.sorted()) })
        epochsSeen = byRoom.values.reduce(0) { $0 + $1.count }
    }

    var summary: String {
        """
        chaos on \(urls.joined(separator: " ")): \(roomIDs.count) rooms x \(membersPerRoom) members, \(format(ratePerMember)) posts/s each, \(format(postingSeconds)) s posting, \(format(settleSeconds)) s settling\(settled ? "" : " (NOT settled)")
          posts          \(postsSent) sent, \(postsAcknowledged) acknowledged, \(postsUnacknowledged) unacknowledged, \(postsRefused) refused; \(postFrames) frames, \(resends) re-sent
          errors         \(errors.isEmpty ? "none" : errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
          must be 0      missing at members \(acknowledgedMissingAtMembers), duplicate positions \(duplicatePositions), duplicate post ids \(duplicatePostIDs), ack conflicts \(ackConflicts)
          sockets        \(drops) dropped, \(reconnects) reconnects, \(failedJoins) failed joins; resumes recovered \(resumesRecovered) (\(resumesAcrossEpochs) across a reset), not recovered \(resumesNotRecovered)
          epochs seen    \(epochsSeen)
        """
    }
}

/// The line `chaos` prints on stderr while it runs: running totals over every member.
struct ChaosStatus: Encodable {
    let sent, acknowledged, unacknowledged, resends, drops, reconnects, connected, errors, unavailable, epochs: Int

    init(_ figures: [ChaosMemberFigures]) {
        func sum(_ field: (ChaosMemberFigures) -> Int) -> Int { figures.reduce(0) { $0 + field($1) } }
        sent = sum(\.postsSent)
        acknowledged = sum(\.acknowledged)
        unacknowledged = sum(\.unacknowledged)
        resends = sum(\.resends)
        drops = sum(\.drops)
        reconnects = sum(\.reconnects)
        connected = figures.filter(\.connected).count
        errors = sum { $0.errors.values.reduce(0, +) }
        unavailable = sum { $0.errors["unavailable"] ?? 0 }
        epochs = Set(figures.flatMap { member in member.epochs.map { "\(member.roomID):\($0)" } }).count
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
