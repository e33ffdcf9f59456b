// Software prefetch for NakshaVector's graph walks. Swift has no prefetch intrinsic, and a
// plain load (`_ = pointer.pointee`) is not one: it occupies a load slot and blocks
// retirement until the line arrives. `__builtin_prefetch` compiles to `prefetcht0` on x86-64
// and `prfm pldl1keep` on arm64: a hint that never faults (any address is allowed) and
// retires at once, so the misses of many neighbours overlap with the distance kernels.
//
// The functions are `static inline` in the header so the Swift compiler imports and
// inlines them; the .c file only exists because a target needs a source file.
#ifndef NAKSHA_PREFETCH_H
#define NAKSHA_PREFETCH_H

#include <stddef.h>

/// Asks for the cache line holding `address` to be brought into all cache levels (read).
static inline __attribute__((always_inline)) void naksha_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// Prefetches every 64-byte line of `[address, address + byteCount)`.
static inline __attribute__((always_inline)) void naksha_prefetch_range(const void *address, size_t byteCount) {
    const char *p = (const char *)address;
    for (size_t offset = 0; offset < byteCount; offset += 64) {
        __builtin_prefetch(p + offset, 0, 3);
    }
}

/// 1 when this build turns `naksha_prefetch` into an instruction (GCC/Clang), else 0.
int naksha_prefetch_available(void);

#endif
