#ifndef CFUZZERDRIVER_H
#define CFUZZERDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's own driver (compiler-rt, FuzzerDriver.cpp): parses libFuzzer's flags from the
/// command line and runs `callback` on every input. Linked in by -sanitize=fuzzer.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

/// Runs libFuzzer with the process's arguments; returns its exit status.
int chat_fuzz_main(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size));

#endif
