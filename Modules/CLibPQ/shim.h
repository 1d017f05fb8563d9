#ifndef MIRE_CLIBPQ_SHIM_H
#define MIRE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
/* The event loop that reads replies of statements sent without blocking (PGEventLoop). */
#include <sys/epoll.h>
#endif
