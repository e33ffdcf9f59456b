// libpq, through pkg-config `libpq` (Debian: libpq-dev).
#include <libpq-fe.h>
