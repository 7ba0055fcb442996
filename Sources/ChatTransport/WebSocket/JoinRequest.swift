import ChatCore
import Foundation

/// A parsed `GET /v1/chatrooms/{id}/join?user=John&access_token=…`, shared by the WebSocket upgrade and the
/// HTTP route that explains a refused one, so both judge a request the same way.
///
/// The query is read as RFC 3986 percent-encoding (`encodeURIComponent` in a browser):
/// `%20` is a space and a literal `+` stays a plus, so names like `C++` survive.
///
/// `access_token` is a secret: never log a join's URI or this value (only ``roomSegment``).
struct JoinRequest: Equatable {
    let roomSegment: Substring
    let user: String?
    /// The token of a browser, which cannot set headers on a WebSocket.
    let accessToken: String?
    /// `protocol=2`: the opt-in protocol for clients that cannot set `Sec-WebSocket-Protocol`.
    let protocolVersion: String?
    /// `since=SEQ&epoch=E`: resume after that message (``JoinOptions``).
    let since: String?
    let epoch: String?

    /// `nil` when `uri` is not the join path at all.
    init?(uri: String) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let segments = parts[0].split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count == 5, segments[0].isEmpty, segments[1] == "v1", segments[2] == "chatrooms", segments[4] == "join"
        else { return nil }
        roomSegment = segments[3]
        var user: String?
        var accessToken: String?
        var protocolVersion: String?
        var since: String?
        var epoch: String?
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let value = keyValue.count == 2 ? String(keyValue[1]).removingPercentEncoding ?? "\u{FFFD}invalid" : ""
                switch keyValue[0] {
                case "user" where user == nil: user = value
                case "access_token" where accessToken == nil: accessToken = value
                case "protocol" where protocolVersion == nil: protocolVersion = value
                case "since" where since == nil: since = value
                case "epoch" where epoch == nil: epoch = value
                default: continue
                }
            }
        }
        self.user = user
        self.accessToken = accessToken
        self.protocolVersion = protocolVersion
        self.since = since
        self.epoch = epoch
    }

    func room() throws(ChatError) -> RoomID {
        try RoomID(parsing: roomSegment)
    }
}
