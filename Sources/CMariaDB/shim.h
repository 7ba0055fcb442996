// The MariaDB Connector/C client API as Debian's libmariadb-dev installs it
// (/usr/include/mariadb/mysql.h; its own includes are relative, so no -I is needed).
#ifndef CMARIADB_SHIM_H
#define CMARIADB_SHIM_H

#include <mariadb/mysql.h>

#endif
