import ChatCore
import Foundation
import NIOCore

@testable import ChatTransport

/// JSON request bodies: `POST /v1/users`'s body through ``JSONBody`` (the decoding the
/// route uses), the name rules behind it, and the JSON the API answers with.
///
/// Input: the request body. Bodies over the server's default limit (16 KiB) are refused with
/// 413 before decoding, so they are skipped here too.
///
/// Checks: a body is either decoded or refused with the route's 400; every answer, the 400s
/// included, is JSON that decodes back to what was meant: `{"name": …}` for a created user,
/// `{"message": …}` for an error, even when the message quotes what the client sent.
enum JSONBodiesFuzzer {
    static let maximumBodyBytes = ChatServerConfiguration().maximumRequestBodyBytes

    struct ErrorBody: Decodable, Equatable { let message: String }
    struct CreatedBody: Decodable, Equatable { let name: UserName }

    static func run(_ input: UnsafeRawBufferPointer) {
        guard input.count <= maximumBodyBytes else { return }
        let body = ByteBuffer(bytes: input)
        let request: ChatAPI.CreateUser
        do {
            request = try JSONBody.decode(ChatAPI.CreateUser.self, from: body, example: #"{"name": "John"}"#)
        } catch {
            precondition(error.status == .badRequest)
            checkErrorBody(error)
            return
        }
        do {
            let name = try UserName(validating: request.name)
            precondition(name.rawValue == request.name)
            let json = try! JSONEncoder().encode(ChatAPI.UserCreated(name: name, token: nil))
            let decoded = try? JSONDecoder().decode(CreatedBody.self, from: json)
            precondition(decoded == CreatedBody(name: name), "\(name.rawValue.debugDescription) does not survive the answer's JSON")
        } catch {
            checkErrorBody(APIError(error))
        }
    }

    private static func checkErrorBody(_ error: APIError) {
        let body = error.jsonBody
        let decoded = try? JSONDecoder().decode(ErrorBody.self, from: Data(body.readableBytesView))
        precondition(decoded == ErrorBody(message: error.message), "error body \(String(buffer: body).debugDescription) for \(error.message.debugDescription)")
    }
}
