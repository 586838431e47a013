"""Pure planning: snapshots and ledger in, a plan of changes out. No I/O here."""
