import ChatCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An HTTP error with the JSON body every API error has: `{"message": "…"}`.
struct APIError: Error {
    let status: HTTPResponse.Status
    let message: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    /// The status a domain error maps to.
    init(_ error: ChatError) {
        switch error {
        case .invalidUserName, .invalidPassword, .invalidRoomID, .invalidMessage: self.init(.badRequest, error.message)
        case .unauthenticated: self.init(.unauthorized, error.message, headers: [.wwwAuthenticate: "Bearer"])
        case .forbidden: self.init(.forbidden, error.message)
        case .rateLimited: self.init(.tooManyRequests, error.message, headers: [.retryAfter: "60"])
        case .userNameTaken: self.init(.conflict, error.message)
        case .unknownUser, .unknownRoom: self.init(.notFound, error.message)
        case .backendUnavailable: self.init(.serviceUnavailable, error.message)
        case .storageFull: self.init(.init(code: 507, reasonPhrase: "Insufficient Storage"), error.message)
        }
    }

    /// `{"message": "…"}`.
    var jsonBody: ByteBuffer {
        struct Body: Encodable { let message: String }
        let data = (try? JSONEncoder().encode(Body(message: message))) ?? Data(#"{"message":"error"}"#.utf8)
        return ByteBuffer(bytes: data)
    }

    /// The response headers: the error's own plus the JSON content type.
    var responseHeaders: HTTPFields {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return headers
    }

    var response: Response {
        Response(status: status, headers: responseHeaders, body: .init(byteBuffer: jsonBody))
    }
}
