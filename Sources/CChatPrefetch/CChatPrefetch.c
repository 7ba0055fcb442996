// The module is its header: chat_prefetch is static inline. A C target needs one source file.
#include "CChatPrefetch.h"
