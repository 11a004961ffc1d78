-- What test/quickstart shows once the cluster is up.
\pset footer off
\echo '== brickcat status'
SELECT preloaded, worker_running, worker_database, on_demand_fetching FROM brickcat.status;
\echo '== freshness: data fetched 30 days ago is stale'
SELECT brickcat.freshness(now() - interval '30 days') AS freshness;
