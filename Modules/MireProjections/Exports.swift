// MireProjections builds projections on the event store; importing it brings the store along.
@_exported public import MirePostgres
