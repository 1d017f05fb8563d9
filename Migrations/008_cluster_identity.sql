-- A checkpoint's cursor holds transaction ids, which mean something only on the cluster that
-- issued them (and its physical standbys, which share its system identifier). Each checkpoint
-- records that cluster; a runner refuses a checkpoint from another one (restored from a dump,
-- copied by logical replication, or upgraded) until `reanchorCheckpoints()` re-anchors it.
ALTER TABLE mire_subscriptions ADD COLUMN cluster_id bigint;

COMMENT ON COLUMN mire_subscriptions.cluster_id IS
    'system_identifier (pg_control_system()) of the cluster whose transaction ids the cursor holds; NULL before the first checkpoint';
