import Foundation
import NIOCore

/// Decodes JSON request bodies: one place for every route that reads one, and what the
/// fuzzer calls (Sources/Fuzz/FuzzJSONBodies).
enum JSONRequestBody {
    /// `body` as `Body`; malformed or mistyped JSON is a 400 whose message shows `example`.
    static func decode<Body: Decodable>(_ type: Body.Type, from body: ByteBuffer, example: String) throws(APIError) -> Body {
        do {
            return try JSONDecoder().decode(Body.self, from: Data(body.readableBytesView))
        } catch {
            throw APIError(.badRequest, "request body must be a JSON object like \(example)")
        }
    }
}
