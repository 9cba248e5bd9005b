-- Run once on the coordinator by docker-compose's `citus-setup` (profile `citus`),
-- when the coordinator and both workers are healthy; running it again changes nothing.
-- psql -v password=… : the nodes reach each other as the owner, with its password.
\set ON_ERROR_STOP on

CREATE EXTENSION IF NOT EXISTS citus;

INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo)
SELECT 0, current_user, 'password=' || :'password'
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_authinfo WHERE nodeid = 0 AND rolename = current_user);

SELECT citus_set_coordinator_host('coordinator', 5432);
SELECT citus_add_node('worker1', 5432);
SELECT citus_add_node('worker2', 5432);

-- Created on the coordinator, propagated by Citus to every node it knows.
CREATE EXTENSION IF NOT EXISTS postgis;

SELECT nodename, nodeport, noderole FROM pg_dist_node ORDER BY nodeid;
