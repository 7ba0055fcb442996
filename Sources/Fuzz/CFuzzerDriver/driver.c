#include "CFuzzerDriver.h"

// A harness's `main` is Swift's (SwiftPM renames every executable's entry point), so it hands
// over to libFuzzer here instead of relying on libFuzzer's `main`.
int chat_fuzz_main(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size)) {
    return LLVMFuzzerRunDriver(&argc, &argv, callback);
}
