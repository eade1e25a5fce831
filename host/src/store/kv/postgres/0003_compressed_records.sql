-- Store format 5 (host/src/store/kv/mod.rs). Record format 4 (host/src/store/codec.rs): the
-- running state's records (instances, tasks, jobs, subscriptions) may be LZ4-compressed
-- positional MessagePack, which releases that know only migrations 1-2 cannot read; this row
-- in baton_migrations makes them refuse the database. And the external tasks' by-instance
-- index is retired (the instance record names its tasks): its rows go.
delete from kv
where tree = (select id from kv_trees where name = 'external_tasks_by_instance');
