import ChatCore
import Foundation

/// A `chat.v2` client's post: `{"type":"post","id":"c1","text":"hi"}`.
///
/// The id is the client's own name for the post: it comes back in the post's ack or error,
/// and a post sent again with the same id (after a lost ack) is published once.
struct PostEnvelope: Equatable, Sendable {
    let id: PostID
    let text: String

    /// The post in `frame`, or the error envelope that refuses it (its id when one could be read).
    static func parse(_ frame: String, maximumTextBytes: Int) -> Result<PostEnvelope, PostRefusal> {
        // Read field by field, so that a post with one bad field is refused with its id.
        guard let object = try? JSONSerialization.jsonObject(with: Data(frame.utf8)) as? [String: Any] else {
            return .failure(PostRefusal(id: nil, code: .badEnvelope, message: #"expected a JSON object {"type":"post","id":"…","text":"…"}"#))
        }
        guard let id = object["id"] as? String else {
            return .failure(PostRefusal(id: nil, code: .badEnvelope, message: "a post needs an id (a string)"))
        }
        let postID: PostID
        do {
            postID = try PostID(validating: id)
        } catch {
            return .failure(PostRefusal(id: id, code: .badEnvelope, message: error.message))
        }
        guard object["type"] as? String == "post" else {
            return .failure(PostRefusal(id: id, code: .badEnvelope, message: #"unknown type: clients send only "post""#))
        }
        guard let text = object["text"] as? String else {
            return .failure(PostRefusal(id: id, code: .badEnvelope, message: "a post needs a text (a string)"))
        }
        guard !text.isEmpty else {
            return .failure(PostRefusal(id: id, code: .invalidMessage, message: "message must not be empty"))
        }
        guard text.utf8.count <= maximumTextBytes else {
            return .failure(PostRefusal(id: id, code: .tooLong, message: "message exceeds \(maximumTextBytes) bytes"))
        }
        return .success(PostEnvelope(id: postID, text: text))
    }
}

/// Why a post was not published: sent as `{"type":"error","id":…,"code":…,"message":…}`.
/// Only the post failed; the socket stays open.
struct PostRefusal: Error, Equatable, Sendable {
    enum Code: String, Sendable {
        /// Not a post envelope (not JSON, no id, an unknown type, a bare text frame).
        case badEnvelope = "bad_envelope"
        /// Refused as a message (empty).
        case invalidMessage = "invalid_message"
        /// The text is longer than the server accepts.
        case tooLong = "too_long"
        /// More posts per second than the connection may send; send it again later.
        case rateLimited = "rate_limited"
        /// The backend could not take it (or did not answer in time); it may have been
        /// published: send it again with the same id, which is never published twice.
        case unavailable
    }

    /// The post's id; nil when the frame had none that could be read.
    let id: String?
    let code: Code
    let message: String
}
