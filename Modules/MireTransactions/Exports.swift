// MireTransactions adds the read-before-write escape hatch; importing it brings the store along.
@_exported public import MirePostgres
