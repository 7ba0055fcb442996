// Debian's libhiredis-dev installs its headers under /usr/include/hiredis/.
// Only the reply reader and the command formatter are used; networking is SwiftNIO's.
#include <hiredis/hiredis.h>
