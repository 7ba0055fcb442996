#ifndef CCHATPREFETCH_H
#define CCHATPREFETCH_H

#include <stdint.h>

// Cache-line prefetches for the fan-out's member walks (ChatTransport's LoopRoomHub and
// RoomMember, which say why). Hints only: no address is read, and none can fault.

/// The object at `address`, its first three cache lines (a RoomMember is 168 bytes).
static inline void chat_prefetch_object(uintptr_t address) {
    __builtin_prefetch((const void *)address, 0, 3);
    __builtin_prefetch((const void *)(address + 64), 0, 3);
    __builtin_prefetch((const void *)(address + 128), 0, 3);
}

/// The two cache lines at `address`.
static inline void chat_prefetch_pair(uintptr_t address) {
    __builtin_prefetch((const void *)address, 0, 3);
    __builtin_prefetch((const void *)(address + 64), 0, 3);
}

/// The 20 cache lines from 8 before `address` to 12 after it: a channel object and the NIO
/// objects allocated with it. The extent was chosen by measurement (docs/performance.md).
static inline void chat_prefetch_around(uintptr_t address) {
    for (int line = -8; line < 12; line++) {
        __builtin_prefetch((const void *)(address + (intptr_t)line * 64), 0, 3);
    }
}

#endif
