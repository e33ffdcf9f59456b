// Hardware CRC-32C (Castagnoli) for NakshaWire: SSE4.2 `crc32` on x86-64, the ARMv8 CRC
// extension on arm64. Callers check `naksha_crc32c_hardware_available()` once and fall back
// to the Swift table implementation when it returns 0.
#ifndef NAKSHA_CRC32C_H
#define NAKSHA_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// 1 if this CPU has a CRC-32C instruction this build can use, else 0.
int naksha_crc32c_hardware_available(void);

/// Folds `length` bytes at `bytes` into the running (pre-inverted) value `crc`, exactly as
/// the table implementation does. Only call when `naksha_crc32c_hardware_available()`.
uint32_t naksha_crc32c_update_hardware(uint32_t crc, const void *bytes, size_t length);

#endif
