// The module is its header, whose functions are static inline; a C target needs one source file.
#include "CChatPrefetch.h"
