-- A checkpoint's cursor holds transaction ids, which mean something only on the cluster that
-- issued them (and its physical standbys, which share its system identifier). Each checkpoint
-- records that cluster; a runner refuses a checkpoint from another one (restored from a dump,
-- copied by logical replication, or upgraded) until `reanchorCheckpoints()` re-anchors it.
ALTER TABLE mire_subscriptions ADD COLUMN cluster_id bigint;

COMMENT ON COLUMN mire_subscriptions.cluster_id IS
    'system_identifier (pg_control_system()) of the cluster whose transaction ids the cursor holds; NULL before the first checkpoint';

-- The checkpoints already written belong to this cluster, unless the log was moved here (a row
-- whose xmin is not its own transaction id was copied, or its id was never issued here): those
-- stay unnamed, and runners refuse them until re-anchored.
UPDATE mire_subscriptions
SET cluster_id = (SELECT system_identifier FROM pg_control_system())
WHERE NOT (cursor_xid = '0' AND cursor_position = 0 AND delivered_ahead = '{}')
  AND NOT EXISTS (
      SELECT 1 FROM mire_events e
      WHERE e.xmin::text::bigint <> (e.transaction_id::text::numeric % 4294967296)::bigint
         OR e.transaction_id >= pg_snapshot_xmax(pg_current_snapshot()));

