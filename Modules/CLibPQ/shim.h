#ifndef MIRE_CLIBPQ_SHIM_H
#define MIRE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
