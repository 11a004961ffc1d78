-- pg_cron schedule of the sweep, the reference lists and pruning.
-- Without pg_cron in this database: a clear error with a hint.
SELECT * FROM brickcat.schedule_sweeps();
\echo :LAST_ERROR_SQLSTATE
SELECT brickcat.unschedule_sweeps();

-- With pg_cron (test/brickcat.conf preloads it for this database).
CREATE EXTENSION pg_cron;
SELECT job_name, job_schedule, command, jobid IS NOT NULL AS scheduled
  FROM brickcat.schedule_sweeps();
SELECT jobname, schedule, command, database = current_database() AS here,
       username = current_user AS as_caller, active
  FROM cron.job ORDER BY jobname;
-- Again with another schedule: the jobs are updated, not duplicated.
SELECT job_name, job_schedule FROM brickcat.schedule_sweeps('*/5 * * * *');
SELECT jobname, schedule FROM cron.job ORDER BY jobname;
-- Bad schedules.
SELECT * FROM brickcat.schedule_sweeps('every now and then');
SELECT * FROM brickcat.schedule_sweeps(NULL);
SELECT * FROM brickcat.schedule_sweeps('*/15 * * * *', '');
SELECT count(*) AS jobs FROM cron.job;
-- Removed, and removing again is not an error.
SELECT brickcat.unschedule_sweeps();
SELECT brickcat.unschedule_sweeps();
SELECT count(*) AS jobs FROM cron.job;
-- Other jobs are left alone.
SELECT cron.schedule('other-job', '0 0 * * *', 'SELECT 1') IS NOT NULL AS other;
SELECT brickcat.unschedule_sweeps();
SELECT jobname FROM cron.job;
SELECT cron.unschedule('other-job');
DROP EXTENSION pg_cron;
