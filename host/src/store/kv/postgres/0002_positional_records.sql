-- Record format 3 (host/src/store/codec.rs): the values of the hot trees are positional
-- MessagePack, which releases that know only migration 1 cannot read. This migration changes
-- no table: its row in baton_migrations is what makes those releases refuse the database
-- ("schema version 2, newer than this release knows"), as a sled store's format does.
select 1;
