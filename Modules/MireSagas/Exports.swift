// MireSagas builds process managers on projections and transactions; importing it brings the
// store and the projection runner along.
@_exported public import MireProjections
@_exported public import MireTransactions
