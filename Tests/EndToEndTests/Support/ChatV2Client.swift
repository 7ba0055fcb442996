import Foundation
import HTTPTypes

/// A frame of the opt-in protocol as a chat.v2 client reads it (every field any envelope has).
struct Envelope: Decodable, Equatable, Sendable {
    let type: String
    var id: String? = nil
    var seq: Int64? = nil
    var epoch: String? = nil
    var code: String? = nil
    var message: String? = nil
    var chatroom: Int64? = nil
    var user: String? = nil
    var timestamp: Int64? = nil
    var event: String? = nil
    var recovered: Bool? = nil
    var from: Int64? = nil
    var to: Int64? = nil
}

/// The chat.v2 side of ``ChatClient``: join asking for the protocol, post envelopes, read envelopes.
extension ChatClient {
    /// Joins asking for chat.v2 with `Sec-WebSocket-Protocol` (or `protocol=2` with `viaQuery`).
    /// With `deflate`, the client offers permessage-deflate too.
    static func joinV2(_ url: String, viaQuery: Bool = false, deflate: Bool = false) async throws -> ChatClient {
        if viaQuery { return try await join(url + "&protocol=2", deflate: deflate) }
        return try await join(url, deflate: deflate, headers: [HTTPField.Name("Sec-WebSocket-Protocol")!: "chat.v2"])
    }

    /// Every frame received, decoded as an envelope (a frame that is not one fails the test).
    func envelopes() throws -> [Envelope] {
        try texts.map { text in
            do {
                return try JSONDecoder().decode(Envelope.self, from: Data(text.utf8))
            } catch {
                throw TestFailure("not a chat.v2 envelope: \(text)")
            }
        }
    }

    /// The `message` envelopes received, in order.
    func messageEnvelopes() throws -> [Envelope] { try envelopes().filter { $0.type == "message" } }

    func post(id: String, text: String) {
        let body = try! JSONSerialization.data(withJSONObject: ["type": "post", "id": id, "text": text])
        send(String(decoding: body, as: UTF8.self))
    }

    /// Waits for the first envelope that `matches`.
    @discardableResult
    func waitForEnvelope(_ what: String, within seconds: Int = 20, _ matches: @escaping (Envelope) -> Bool) async throws -> Envelope {
        try await eventually("expected \(what); got \(texts)", timeout: .seconds(seconds)) {
            try self.envelopes().first(where: matches)
        }
    }

    /// Waits until `count` envelopes that match arrived.
    @discardableResult
    func waitForEnvelopes(_ count: Int, _ what: String, within seconds: Int = 20, _ matches: @escaping (Envelope) -> Bool) async throws -> [Envelope] {
        try await eventually("expected \(count) \(what); got \(texts)", timeout: .seconds(seconds)) {
            let found = try self.envelopes().filter(matches)
            return found.count >= count ? found : nil
        }
    }
}
