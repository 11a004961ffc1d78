-- Hostile arguments for every brickcat SQL function and setting: NULL, empty,
-- 1 MB strings, control characters, ../, %2F, Unicode, SQL-looking text,
-- negative and huge values, bad intervals, bad settings.  Each case is either a
-- clear ERROR with the right SQLSTATE or a correct answer, never a crash.
--
-- Table-driven: add one row per case.  "sql" is an expression (its value, as
-- text, is the outcome) or a statement (SET, INSERT...: outcome "done");
-- "expect" is the expected value or "ERROR <sqlstate>".  Every case runs in
-- its own subtransaction that is always rolled back, as "as_role" if given.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
-- The worker retries leftover jobs against a closed port during the run and
-- each attempt is a debit: without the burst limit, this session's quota cases
-- do not depend on when those attempts happen.
SET brickcat.max_calls_per_second = 0;
CREATE ROLE regress_hostile_reader IN ROLE brickcat_reader;
CREATE ROLE regress_hostile_admin IN ROLE brickcat_admin;

-- Fresh cached rows under hostile but valid item numbers: reads of them are
-- answered from the cache, so no case asks the worker for anything.
INSERT INTO brickcat.item (item_type, item_no, name, fetched_at)
SELECT 'PART', no, 'hostile ' || no, now()
  FROM unnest(ARRAY['../3001', '%2F3001', '3001?x=1', 'ünïcødé€', '3001''; DROP TABLE brickcat.item; --',
                    '3001 x', 'a/b']) no;
INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at)
SELECT item_type, item_no, now() FROM brickcat.item WHERE name LIKE 'hostile %';
INSERT INTO brickcat.item_color (item_type, item_no, color_id, quantity)
VALUES ('PART', '../3001', 11, 2);
SELECT brickcat.define_rate_limit('hostile_rl', 'token_bucket', 5, '1 minute');
INSERT INTO brickcat.price_guide (item_type, item_no, color_id, guide_type, condition,
                                  min_price, max_price, avg_price, qty_avg_price,
                                  unit_quantity, total_quantity, fetched_at)
VALUES ('PART', '../3001', 0, 'sold', 'N', 1, 2, 1.5, 1.5, 3, 4, now()),
       ('PART', '../3001', 2147483647, 'stock', 'U', 1, 2, 1.5, 1.5, 3, 4, now());

CREATE TEMP TABLE hostile (
    id       int GENERATED ALWAYS AS IDENTITY,
    sql      text NOT NULL,
    expect   text NOT NULL,
    as_role  name,
    outcome  text,
    message  text
);

INSERT INTO hostile (sql, expect, as_role) VALUES
-- brickcat.freshness(fetched_at, as_of); as_of NULL means now
($$brickcat.freshness(NULL::timestamptz)$$,                      'missing', NULL),
($$brickcat.freshness(NULL, NULL)$$,                             'missing', NULL),
($$brickcat.freshness('2000-01-01', NULL)$$,                     'expired', NULL),
($$brickcat.freshness(''::timestamptz)$$,                        'ERROR 22007', NULL),
($$brickcat.freshness(repeat('9', 1048576)::timestamptz)$$,      'ERROR 22007', NULL),
($$brickcat.freshness(repeat('x', 1048576)::timestamptz)$$,      'ERROR 22007', NULL),
($$brickcat.freshness(E'2026-01-01\x01\x1b[2J'::timestamptz)$$, 'ERROR 22007', NULL),
($$brickcat.freshness('../../etc/passwd'::timestamptz)$$,        'ERROR 22007', NULL),
($$brickcat.freshness('2026%2F01%2F01'::timestamptz)$$,          'ERROR 22007', NULL),
($$brickcat.freshness('２０２６-０１-０１'::timestamptz)$$,        'ERROR 22007', NULL),
($$brickcat.freshness('2026-01-01''); DROP TABLE brickcat.item; --'::timestamptz)$$, 'ERROR 22007', NULL),
-- One untyped argument is read as a cast to the type brickcat.freshness, whose
-- name the function shares (PostgreSQL's function-style cast): a literal
-- timestamp is rejected as an enum label and NULL stays NULL.
($$brickcat.freshness('2026-01-01')$$,                           'ERROR 22P02', NULL),
($$brickcat.freshness(NULL)$$,                                   '<null>', NULL),
($$brickcat.freshness('infinity', '-infinity')$$,                'fresh', NULL),
($$brickcat.freshness('-infinity', 'infinity')$$,                'expired', NULL),
($$brickcat.freshness('4714-11-24 00:00:00+00 BC', '294276-12-31 23:59:59+00')$$, 'expired', NULL),
($$brickcat.freshness('294277-01-01'::timestamptz)$$,                         'ERROR 22008', NULL),
($$brickcat.freshness(now() - interval '31 days')$$,             'stale', 'regress_hostile_reader'),
-- brickcat.next_refresh_at(fetched_at)
($$brickcat.next_refresh_at(NULL) = now()$$,                     'true', NULL),
($$brickcat.next_refresh_at('infinity')$$,                       'infinity', NULL),
($$brickcat.next_refresh_at('-infinity')$$,                      '-infinity', NULL),
($$brickcat.next_refresh_at('294276-12-31 23:59:59+00')$$,       'infinity', NULL),
($$brickcat.next_refresh_at('4714-11-24 00:00:00+00 BC')$$,      '4714-12-24 00:00:00+00 BC', NULL),
($$brickcat.next_refresh_at(E'\x7f')$$,                          'ERROR 22007', NULL),
-- brickcat.now(), brickcat.status(), brickcat.current_tenants()
($$brickcat.now() = now()$$,                                     'true', 'regress_hostile_reader'),
($$(brickcat.status()).preloaded$$,                              'true', 'regress_hostile_reader'),
($$brickcat.current_tenants()$$,                                 '{}', 'regress_hostile_reader'),
-- owner-only and trigger functions
($$brickcat.apply_access_rules()$$,                              'ERROR 42501', 'regress_hostile_reader'),
($$brickcat.tenant_item_touch()$$,                               'ERROR 0A000', NULL),
-- enum input
($$'bogus'::brickcat.freshness$$,                                'ERROR 22P02', NULL),
($$''::brickcat.decoration$$,                                    'ERROR 22P02', NULL),
-- tenant overlays: constraints and row-level security
($$INSERT INTO brickcat.tenant_item (tenant, item_type, item_no) VALUES ('', 'PART', '3001')$$, 'ERROR 23514', NULL),
($$INSERT INTO brickcat.tenant_item (tenant, item_type, item_no) VALUES ('t', '../PART', '3001')$$, 'ERROR 23514', NULL),
($$INSERT INTO brickcat.tenant_item (tenant, item_type, item_no) VALUES ('t', 'PART', repeat('9', 1048576))$$, 'ERROR 23514', NULL),
($$INSERT INTO brickcat.tenant_item (tenant, item_type, item_no) VALUES ('t', 'PART', NULL)$$, 'ERROR 23502', NULL),
($$INSERT INTO brickcat.tenant_item (tenant, item_type, item_no, attributes) VALUES ('t', 'PART', '3001', '[1]')$$, 'ERROR 23514', NULL),
($$INSERT INTO brickcat.tenant_item (tenant, item_type, item_no, tags) VALUES ('t', 'PART', '3001', '{a,NULL}')$$, 'ERROR 23514', NULL),
($$INSERT INTO brickcat.tenant_item (tenant, item_type, item_no, notes) VALUES ('t', 'PART', E'3001\x01', repeat('€', 1048576))$$, 'done', NULL),
($$INSERT INTO brickcat.tenant_item (tenant, item_type, item_no) VALUES ('t', 'PART', '3001')$$, 'ERROR 42501', 'regress_hostile_reader'),
($$INSERT INTO brickcat.tenant_member (tenant, role_name) VALUES ('t', 'regress_hostile_reader')$$, 'ERROR 42501', 'regress_hostile_reader'),
($$INSERT INTO brickcat.tenant_member (tenant, role_name) VALUES ('t', NULL)$$, 'ERROR 23502', NULL),
($$(SELECT count(*) FROM brickcat.my_items)$$,                   '0', 'regress_hostile_reader'),
-- read API: bad arguments raise 22023 (22004 for NULLs, 54000 for huge
-- batches) with a hint; hostile but valid numbers are answered from the cache
($$(brickcat.get_item(NULL)).source$$,                           'ERROR 22004', NULL),
($$(brickcat.get_item('')).source$$,                             'ERROR 22023', NULL),
($$(brickcat.get_item(repeat('9', 1048576))).source$$,           'ERROR 22023', NULL),
($$(brickcat.get_item(E'3001\x01')).source$$,                    'ERROR 22023', NULL),
($$(brickcat.get_item(E'3001\x7f')).source$$,                    'ERROR 22023', NULL),
($$(brickcat.get_item(' 3001')).source$$,                        'ERROR 22023', NULL),
($$(brickcat.get_item('3001 ')).source$$,                        'ERROR 22023', NULL),
($$(brickcat.get_item('..')).source$$,                           'ERROR 22023', NULL),
($$(brickcat.get_item('.')).source$$,                            'ERROR 22023', NULL),
($$(brickcat.get_item('3001', '../PART')).source$$,              'ERROR 22023', NULL),
($$(brickcat.get_item('3001', NULL)).source$$,                   'ERROR 22004', NULL),
($$(brickcat.get_item('3001', 'PART''; DROP TABLE brickcat.item; --')).source$$, 'ERROR 22023', NULL),
($$(brickcat.get_item('3001', wait => '-1 ms')).source$$,        'ERROR 22023', NULL),
($$(brickcat.get_item('3001', wait => '1000000 years')).source$$, 'ERROR 22023', NULL),
($$(brickcat.get_item('3001', wait => 'infinity')).source$$,     'ERROR 22007', NULL),
($$(brickcat.get_item('../3001', wait => '0')).item_no || '/' || (brickcat.get_item('../3001', wait => '0')).source$$, '../3001/cache', NULL),
($$(brickcat.get_item('%2F3001', wait => '0')).item_no$$,        '%2F3001', 'regress_hostile_reader'),
($$(brickcat.get_item('3001?x=1', wait => '0')).source$$,        'cache', 'regress_hostile_reader'),
($$(brickcat.get_item('ünïcødé€', 'part', '0')).name$$,          'hostile ünïcødé€', 'regress_hostile_reader'),
($$(brickcat.get_item('3001''; DROP TABLE brickcat.item; --', wait => '0')).source$$, 'cache', NULL),
($$(brickcat.part('a/b')).name$$,                                'hostile a/b', 'regress_hostile_reader'),
($$(brickcat.part(NULL)).source$$,                               'ERROR 22004', NULL),
($$(brickcat.get_price('../3001', 0, 'sold', 'N', wait => '0')).avg_price$$, '1.5000', 'regress_hostile_reader'),
($$(brickcat.get_price('../3001', 2147483647, 'STOCK', 'u', wait => '0')).source$$, 'cache', NULL),
($$(brickcat.get_price('3001', -1)).source$$,                    'ERROR 22023', NULL),
($$(brickcat.get_price('3001', -2147483648)).source$$,           'ERROR 22023', NULL),
($$(brickcat.get_price('3001', 0, 'sold; DROP')).source$$,       'ERROR 22023', NULL),
($$(brickcat.get_price('3001', 0, '')).source$$,                 'ERROR 22023', NULL),
($$(brickcat.get_price('3001', 0, NULL)).source$$,               'ERROR 22004', NULL),
($$(brickcat.get_price('3001', 0, 'sold', 'Ü')).source$$,        'ERROR 22023', NULL),
($$(brickcat.get_price('3001', 0, 'sold', repeat('N', 1048576))).source$$, 'ERROR 22023', NULL),
($$(brickcat.get_price('3001', 0, 'sold', 'N', 'PART', '-1 day')).source$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.get_known_colors('../3001', wait => '0'))$$, '1', 'regress_hostile_reader'),
($$(SELECT count(*) FROM brickcat.get_known_colors(E'\x1b[2J'))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.get_known_colors('3001', 'GEAR/../PART'))$$, 'ERROR 22023', NULL),
($$(SELECT string_agg(item_no || ':' || source, ',') FROM brickcat.get_items(ARRAY['../3001', '%2F3001', '3001 x'], wait => '0'))$$, '../3001:cache,%2F3001:cache,3001 x:cache', 'regress_hostile_reader'),
($$(SELECT count(*) FROM brickcat.get_items('{}'))$$,            '0', NULL),
($$(SELECT count(*) FROM brickcat.get_items(NULL))$$,            'ERROR 22004', NULL),
($$(SELECT count(*) FROM brickcat.get_items(ARRAY['3001', NULL]))$$, 'ERROR 22004', NULL),
($$(SELECT count(*) FROM brickcat.get_items(ARRAY['..']))$$,     'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.get_items(ARRAY['3001', '3003 ']))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.get_items(array_fill('x'::text, ARRAY[1000000])))$$, 'ERROR 54000', NULL),
($$(SELECT count(*) FROM brickcat.get_items('[5:6]={../3001,a/b}'::text[], wait => '0'))$$, '2', NULL),
($$(SELECT string_agg(source, ',') FROM brickcat.get_prices(ARRAY['../3001'], 0, wait => '0'))$$, 'cache', 'regress_hostile_reader'),
($$(SELECT count(*) FROM brickcat.get_prices(ARRAY['3001'], -7))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.get_prices(ARRAY['3001', '3002'], ARRAY[0]))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.get_prices(ARRAY['3001'], ARRAY[-1]))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.get_prices(ARRAY['3001'], NULL::int[]))$$, 'ERROR 22004', NULL),
($$(SELECT count(*) FROM brickcat.validate_freshness(ARRAY['../3001', 'ünïcødé€']))$$, '6', NULL),
($$(SELECT count(*) FROM brickcat.validate_freshness(ARRAY[E'\n']))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.validate_freshness(NULL))$$,   'ERROR 22004', NULL),
($$(SELECT count(*) FROM brickcat.validate_freshness(ARRAY['3001'], ''))$$, 'ERROR 22023', NULL),
-- request_refresh: 22023 with a hint for every bad argument; admins only
($$(SELECT count(*) FROM brickcat.request_refresh(NULL))$$,      'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh(''))$$,        'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh('..'))$$,      'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh(' 3001'))$$,   'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh(repeat('€', 1048576)))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh(E'30\r\n01'))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh('3001', 'PART/../SET'))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh('3001', NULL))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh('3001', what => '{}'))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh('3001', what => NULL))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh('3001', what => '{NULL}'))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh('3001', what => '{../item}'))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh('3001', what => '{price:-1:sold:N}'))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh('3001', what => '{price:99999999999:sold:N}'))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh('3001', what => '{price:0:sales:N}'))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh('3001', what => '{price:0:sold:X}'))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh('3001', what => '{price:0:sold:N:extra}'))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh('3001', priority => 'urgent'))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh('3001', priority => NULL))$$, 'ERROR 22023', NULL),
($$(SELECT string_agg(target, ',' ORDER BY target) FROM brickcat.request_refresh('../3001?x=1', 'part', '{item,price:2147483647:STOCK:u}'))$$, 'item:PART:../3001?x=1,price:PART:../3001?x=1:2147483647:stock:U', NULL),
($$(SELECT count(*) FROM brickcat.request_refresh(NULL, what => '{color_list,category_list}'))$$, '2', 'regress_hostile_admin'),
($$(SELECT count(*) FROM brickcat.request_refresh('3001'))$$,    'ERROR 42501', 'regress_hostile_reader'),
-- rate limits
($$brickcat.define_rate_limit(NULL, 'token_bucket', 1, '1 s')$$, 'ERROR 22023', NULL),
($$brickcat.define_rate_limit('', 'token_bucket', 1, '1 s')$$,   'ERROR 22023', NULL),
($$brickcat.define_rate_limit(repeat('n', 1048576), 'token_bucket', 1, '1 s')$$, 'ERROR 22023', NULL),
($$brickcat.define_rate_limit(E'n\x01', 'token_bucket', 1, '1 s')$$, '', NULL),
($$brickcat.define_rate_limit('../x''; DROP TABLE brickcat.item; --', 'token_bucket', 1, '1 s')$$, '', NULL),
($$brickcat.define_rate_limit('x', 'leaky', 1, '1 s')$$,         'ERROR 22023', NULL),
($$brickcat.define_rate_limit('x', 'token_bucket', 0, '1 s')$$,  'ERROR 22023', NULL),
($$brickcat.define_rate_limit('x', 'token_bucket', -1, '1 s')$$, 'ERROR 22023', NULL),
($$brickcat.define_rate_limit('x', 'token_bucket', 1, '-1 s')$$, 'ERROR 22023', NULL),
($$brickcat.define_rate_limit('x', 'token_bucket', 1, '0')$$,    'ERROR 22023', NULL),
($$brickcat.define_rate_limit('x', 'token_bucket', 1, 'infinity')$$, 'ERROR 22007', NULL),
($$brickcat.define_rate_limit('x', 'token_bucket', 1, '1000000 years')$$, 'ERROR 22023', NULL),
($$brickcat.define_rate_limit('x', 'fixed_window', 1, '1 s', shards => 0)$$, 'ERROR 22023', NULL),
($$brickcat.define_rate_limit('x', 'fixed_window', 1, '1 s', shards => 100000)$$, 'ERROR 22023', NULL),
($$brickcat.define_rate_limit('x', 'token_bucket', 1, '1 s')$$, 'ERROR 42501', 'regress_hostile_reader'),
($$(SELECT ok FROM brickcat.rate_limit('no such limit'))$$,     'ERROR 42704', NULL),
($$(SELECT ok FROM brickcat.rate_limit(NULL))$$,                'ERROR 22004', NULL),
($$(SELECT ok FROM brickcat.rate_limit(repeat('x', 1048576), repeat('k', 1048576)))$$, 'ERROR 42704', NULL),
($$(SELECT ok FROM brickcat.rate_limit('hostile_rl', E'\x01../%2F€'))$$, 'true', NULL),
($$(SELECT ok FROM brickcat.rate_limit('hostile_rl', 'k', 0))$$, 'ERROR 22023', NULL),
($$(SELECT ok FROM brickcat.rate_limit('hostile_rl', 'k', -2147483648))$$, 'ERROR 22023', NULL),
($$(SELECT ok FROM brickcat.rate_limit('hostile_rl', 'k', 2147483647))$$, 'ERROR 22023', NULL),
($$(SELECT ok FROM brickcat.rate_limit('hostile_rl', NULL))$$,  'ERROR 22004', NULL),
($$(brickcat.rate_limit_status('no such limit')).kind$$,        'ERROR 42704', NULL),
($$(brickcat.rate_limit_status('hostile_rl', repeat('€', 1048576))).available$$, '5', NULL),
($$brickcat.reset_rate_limit('no such limit')$$,                'ERROR 42704', NULL),
($$brickcat.reset_rate_limit(NULL)$$,                           'ERROR 42704', NULL),
($$brickcat.reset_rate_limit('hostile_rl', E'\x01')$$,          '0', NULL),
($$brickcat.drop_rate_limit(E'../\x01')$$,                      'false', NULL),
-- the BrickLink quota: superuser-only spending and pausing
($$(brickcat.quota_try_acquire('background', 0)).ok$$,          'ERROR 22023', NULL),
($$(brickcat.quota_try_acquire('background', -1)).ok$$,         'ERROR 22023', NULL),
($$(brickcat.quota_try_acquire('background', 2147483647)).ok$$, 'false', NULL),
($$(brickcat.quota_try_acquire(NULL)).ok$$,                     'ERROR 22004', NULL),
($$(brickcat.quota_try_acquire('urgent')).ok$$,                 'ERROR 22P02', NULL),
($$(brickcat.quota_try_acquire('interactive', 1, repeat('t', 1048576))).ok$$, 'true', NULL),
($$(brickcat.quota_try_acquire()).ok$$,                         'ERROR 42501', 'regress_hostile_reader'),
($$brickcat.quota_note_throttle(NULL)$$,                        '<null>', NULL),
-- (a future time would pause the worker: shared state no rollback undoes)
($$brickcat.quota_note_throttle('-infinity')$$,                 '', NULL),
($$brickcat.quota_note_throttle('4714-11-24 00:00:00+00 BC')$$, '', NULL),
($$brickcat.quota_note_throttle(now())$$,                       'ERROR 42501', 'regress_hostile_reader'),
($$(brickcat.quota_status()).quota$$,                           '5000', NULL),
($$(SELECT quota FROM brickcat.quota)$$,                         '5000', 'regress_hostile_admin'),
($$SET brickcat.daily_quota = -1$$,                             'ERROR 22023', NULL),
($$SET brickcat.daily_quota = 99999999999$$,                    'ERROR 22023', NULL),
($$SET brickcat.max_calls_per_second = 'fast'$$,                'ERROR 22023', NULL),
($$SET brickcat.background_share = 1.5$$,                       'ERROR 22023', NULL),
($$SET brickcat.background_share = 'NaN'$$,                     'ERROR 22023', NULL),
($$SET brickcat.daily_quota = 100000$$,                         'ERROR 42501', 'regress_hostile_reader'),
-- catalog import: server files only for superusers and pg_read_server_files
($$(SELECT count(*) FROM brickcat.import_catalog(NULL))$$,      'ERROR 22004', NULL),
($$(SELECT count(*) FROM brickcat.import_catalog(''))$$,        'ERROR 58P01', NULL),
($$(SELECT count(*) FROM brickcat.import_catalog('../../../../etc/passwd'))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.import_catalog('/'))$$,       'ERROR 42809', NULL),
($$(SELECT count(*) FROM brickcat.import_catalog('/nonexistent/%2F../x.xml'))$$, 'ERROR 58P01', NULL),
($$(SELECT count(*) FROM brickcat.import_catalog(repeat('/', 1048576)))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.import_catalog(E'/tmp/x\x01.xml'))$$, 'ERROR 58P01', NULL),
($$(SELECT count(*) FROM brickcat.import_catalog('/etc/passwd', 'bogus'))$$, 'ERROR 22023', NULL),
($$(SELECT count(*) FROM brickcat.import_catalog('/etc/passwd'))$$, 'ERROR 42501', 'regress_hostile_admin'),
($$(SELECT count(*) FROM brickcat.import_catalog('/etc/passwd'))$$, 'ERROR 42501', 'regress_hostile_reader'),
($$(SELECT count(*) FROM brickcat.import_staged('bogus'))$$,    'ERROR 02000', NULL),
($$(SELECT count(*) FROM brickcat.import_staged(fetched_at => 'infinity'))$$, 'ERROR 02000', NULL),
($$(SELECT count(*) FROM brickcat.import_staged())$$,           'ERROR 42501', 'regress_hostile_reader'),
-- interval settings
($$SET brickcat.stale_after = 'garbage'$$,                       'ERROR 22023', NULL),
($$SET brickcat.stale_after = ''$$,                              'ERROR 22023', NULL),
($$SET brickcat.stale_after = '-1 day'$$,                        'ERROR 22023', NULL),
($$SET brickcat.stale_after = '0'$$,                             'ERROR 22023', NULL),
($$SET brickcat.stale_after = '1000000 years'$$,                 'ERROR 22023', NULL),
($$SET brickcat.stale_after = '9223372036854775807 days'$$,      'ERROR 22023', NULL),
($$SET brickcat.stale_after = '90 days'$$,                       'ERROR 22023', NULL),
($$SET brickcat.stale_after = '30 days''; DROP TABLE brickcat.item; --'$$, 'ERROR 22023', NULL),
($$SET brickcat.stale_after = '../30 days'$$,                    'ERROR 22023', NULL),
($$SET brickcat.stale_after = E'30 days\x01'$$,                  'ERROR 22023', NULL),
($$set_config('brickcat.stale_after', repeat('1', 1048576), false)$$, 'ERROR 22023', NULL),
($$set_config('brickcat.stale_after', 'P7D', false)$$,           'P7D', 'regress_hostile_reader'),
($$set_config('brickcat.stale_after', '7 days', false) || brickcat.freshness(now() - interval '8 days')$$, '7 daysstale', NULL),
($$set_config('brickcat.expire_after', '1 second', false)$$,     'ERROR 22023', NULL),
($$set_config('brickcat.expire_after', '１ day', false)$$,        'ERROR 22023', NULL),
($$set_config('brickcat.stale_after', NULL, false)$$,            '30 days', NULL),
($$SET brickcat.clock_offset = 'garbage'$$,                      'ERROR 22023', NULL),
($$SET brickcat.clock_offset = '-100000 days'$$,                 'ERROR 22023', NULL),
($$SET brickcat.clock_offset = '1 day'$$,                        'ERROR 42501', 'regress_hostile_reader'),
($$set_config('brickcat.clock_offset', '-1 day', false) || (brickcat.now() < now())$$, '-1 daytrue', NULL),
-- other settings
($$SET brickcat.database = 'template1'$$,                        'ERROR 55P02', NULL),
($$SET brickcat.max_pending_requests = -1$$,                     'ERROR 55P02', NULL),
($$SET brickcat.no_such_setting = 1$$,                           'ERROR 42602', NULL),
($$SET brickcat."../x" = 1$$,                                    'ERROR 42602', NULL);

DO $$
DECLARE
    c record;
    v_outcome text;
    v_message text;
BEGIN
    FOR c IN SELECT * FROM hostile ORDER BY id LOOP
        v_message := NULL;
        BEGIN
            IF c.as_role IS NOT NULL THEN
                EXECUTE format('SET LOCAL ROLE %I', c.as_role);
            END IF;
            IF c.sql ~* '^\s*(SET|RESET|INSERT|UPDATE|DELETE)\s' THEN
                EXECUTE c.sql;
                v_outcome := 'done';
            ELSE
                EXECUTE format('SELECT (%s)::text', c.sql) INTO v_outcome;
            END IF;
            -- Undo whatever the case did (settings, rows, role).
            RAISE EXCEPTION USING ERRCODE = 'ZZ999';
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE <> 'ZZ999' THEN
                v_outcome := 'ERROR ' || SQLSTATE;
                v_message := SQLERRM;
            END IF;
        END;
        UPDATE hostile SET outcome = coalesce(v_outcome, '<null>'), message = v_message
         WHERE id = c.id;
    END LOOP;
END
$$;

-- Every case with its outcome; pass is false where the outcome differs.
SELECT id, left(sql, 58) AS call, outcome, outcome = expect AS pass, left(message, 60) AS message
  FROM hostile ORDER BY id;
SELECT count(*) AS cases, count(*) FILTER (WHERE outcome = expect) AS passed FROM hostile;

-- The session still works and nothing leaked out of the cases.
SHOW brickcat.stale_after;
SELECT count(*) AS overlay_rows FROM brickcat.tenant_item;
SELECT brickcat.drop_rate_limit('hostile_rl');
DELETE FROM brickcat.price_guide WHERE item_no = '../3001';
DELETE FROM brickcat.item_color WHERE item_no = '../3001';
DELETE FROM brickcat.item_color_set s USING brickcat.item i
 WHERE i.item_type = s.item_type AND i.item_no = s.item_no AND i.name LIKE 'hostile %';
DELETE FROM brickcat.item WHERE name LIKE 'hostile %';
-- No case left a job behind (each ran in a rolled-back subtransaction).
SELECT count(*) AS hostile_jobs FROM brickcat.fetch_queue
 WHERE item_no IN ('../3001', '%2F3001', '3001?x=1', 'ünïcødé€', '3001''; DROP TABLE brickcat.item; --',
                   '3001 x', 'a/b', '../3001?x=1');
DROP ROLE regress_hostile_reader;
DROP ROLE regress_hostile_admin;
