#include "naksha_prefetch.h"

int naksha_prefetch_available(void) {
#if defined(__GNUC__) || defined(__clang__)
    return 1;
#else
    return 0;
#endif
}
