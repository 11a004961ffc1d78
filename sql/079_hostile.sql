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
CREATE ROLE regress_hostile_reader IN ROLE brickcat_reader;

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
DROP ROLE regress_hostile_reader;
