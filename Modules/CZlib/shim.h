#ifndef MIRE_CZLIB_SHIM_H
#define MIRE_CZLIB_SHIM_H
#include <zlib.h>

// zlib's init functions are macros, which Swift cannot import; wrap them.
static inline int mire_deflateInit2(z_streamp strm, int level) {
    return deflateInit2(strm, level, Z_DEFLATED, MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
}

static inline int mire_inflateInit2(z_streamp strm) {
    return inflateInit2(strm, MAX_WBITS);
}
#endif
