/*
 * bcryptprimitives.dll shim for Wine 8.0.
 *
 * Why: Rust's std on Windows (1.78+) fills its random state (HashMap keys)
 * from bcryptprimitives.dll!ProcessPrng, so every Rust-built .exe and .dll
 * imports it. Wine 8.0 (Debian 12) ships no such DLL, and the loader then
 * refuses to start the program at all. This DLL provides that one export
 * on top of bcrypt's system RNG, which Wine does implement.
 *
 * Built and copied into the Wine prefix's system32 by .ci/wine-env.sh:
 *   x86_64-w64-mingw32-gcc -shared -O2 -s -o bcryptprimitives.dll \
 *       tests/c/processprng.c -lbcrypt
 */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE pbData, SIZE_T cbData)
{
    /* BCryptGenRandom takes a ULONG length: feed larger requests in pieces. */
    while (cbData > 0) {
        ULONG n = cbData > 0x10000000 ? 0x10000000 : (ULONG)cbData;
        BCryptGenRandom(NULL, pbData, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
        pbData += n;
        cbData -= n;
    }
    /* Like the real one: documented to always return TRUE. */
    return TRUE;
}
