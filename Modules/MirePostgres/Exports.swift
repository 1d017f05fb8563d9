// The core types come with the store. The driver (`MirePQ`: pools, connections, queries) does
// not: a file that names its types imports it, so that it can sit beside postgres-nio's.
@_exported public import MireCore
