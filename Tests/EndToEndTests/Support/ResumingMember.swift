import Foundation

/// A chat.v2 member as a reconnecting client runs it (docs/protocol.md, "Resume"): every
/// connection it held, in order, and its posts; after a dropped connection it joins again with
/// `since` and `epoch` of the last message it holds, and sends again, with the same ids, the
/// posts it never got an ack for. Used by one test task only.
final class ResumingMember {
    let name: String
    let token: String
    private(set) var connections: [ChatClient] = []
    private var posts: [(id: String, text: String)] = []

    init(name: String, token: String) {
        self.name = name
        self.token = token
    }

    var current: ChatClient { connections[connections.count - 1] }

    /// The messages of all its connections, in the order they arrived.
    func messages() throws -> [Envelope] { try connections.flatMap { try $0.messageEnvelopes() } }

    /// The acks of its posts, over all its connections.
    func acks() throws -> [Envelope] { try connections.flatMap { try $0.envelopes().filter { $0.type == "ack" } } }

    func join(_ url: String) async throws {
        connections.append(try await ChatClient.joinV2(url))
    }

    /// Posts `text` with a fresh id.
    func post(_ text: String) {
        let id = "\(name)-\(posts.count + 1)"
        posts.append((id, text))
        current.post(id: id, text: text)
    }

    /// Joins `url` again after its connection ended, resuming from the last message held, and
    /// sends again what was not acknowledged. Returns the `resumed` frame.
    @discardableResult
    func resume(_ url: String) async throws -> Envelope {
        let last = try messages().last
        let since = last.map { "&since=\($0.seq ?? 0)&epoch=\($0.epoch ?? "")" } ?? "&since=0"
        let acknowledged = Set(try acks().compactMap(\.id))
        connections.append(try await ChatClient.joinV2(url + since))
        let resumed = try await current.waitForEnvelope("\(name)'s resumed frame") { $0.type == "resumed" }
        for post in posts where !acknowledged.contains(post.id) { current.post(id: post.id, text: post.text) }
        return resumed
    }

    /// Waits until every post so far is acknowledged.
    func waitForAcks() async throws {
        let expected = Set(posts.map(\.id))
        _ = try await eventually("\(name): acks of \(expected.sorted())", timeout: .seconds(20)) {
            Set(try acks().compactMap(\.id)).isSuperset(of: expected) ? true : nil
        }
    }

    /// Waits until its connections together received `count` messages.
    func waitForMessages(_ count: Int) async throws {
        var held = 0
        _ = try await eventually("\(name): expected \(count) messages, held \(held)", timeout: .seconds(20)) {
            held = try messages().count
            return held >= count ? true : nil
        }
    }

    func leave() async {
        await current.leave()
    }
}
