// What users of the store need of the layers below: the core types and the driver's handles
// (connections, pools, queries, errors) for projection handlers and custom SQL.
@_exported public import MireCore
@_exported public import MirePQ
