import CFuzzerDriver
import Foundation

/// libFuzzer target: a Redis payload (see RedisPayloadFuzzer).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    RedisPayloadFuzzer.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// Hands the command line to libFuzzer, which calls `fuzzOneInput` for every input.
@main enum FuzzerEntryPoint {
    static func main() {
        exit(chat_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, fuzzOneInput))
    }
}
