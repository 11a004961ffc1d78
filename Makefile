# brickcat: PGXS build.  Sources, install-script pieces and tests are picked up
# by wildcard so that each module owns its own files.

EXTENSION    = brickcat
MODULE_big   = brickcat
OBJS         = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
# The current version's script (sql/brickcat--$(BC_VERSION).sql) is assembled
# from sql/install; earlier versions' scripts are kept as they shipped, with
# the update scripts.
BC_VERSION  := $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" brickcat.control)
DATA_built   = sql/brickcat--$(BC_VERSION).sql
DATA         = $(filter-out $(DATA_built),$(wildcard sql/brickcat--*.sql))
PGFILEDESC   = "brickcat - LEGO catalog and BrickLink prices, cache-first"

PG_CONFIG   ?= pg_config

PG_CPPFLAGS += -I$(srcdir)/src -DBC_EXTENSION_VERSION='"$(BC_VERSION)"'
PG_CFLAGS   += -Wall -Wextra -Werror -Wno-unused-parameter \
               -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK  += -lcurl -ljson-c

# The test build (test/run-tests sets BRICKCAT_ASSERT=1) turns on Assert().
ifdef BRICKCAT_ASSERT
PG_CPPFLAGS += -DUSE_ASSERT_CHECKING
endif

# pg_regress: every sql/NNN_*.sql is a test, run in name order.
REGRESS      = $(sort $(basename $(notdir $(wildcard $(srcdir)/sql/[0-9]*.sql))))
REGRESS_OPTS = --temp-instance=./tmp_check --temp-config=$(srcdir)/test/brickcat.conf

# Isolation specs live in test/specs, their outputs in test/expected.
ISOLATION      = $(sort $(basename $(notdir $(wildcard $(srcdir)/test/specs/*.spec))))
ISOLATION_OPTS = --inputdir=$(srcdir)/test --outputdir=output_iso \
                 --temp-instance=./tmp_check_iso --temp-config=$(srcdir)/test/brickcat.conf

TAP_TESTS    = 1
PROVE_TESTS  = $(sort $(wildcard test/t/*.pl))
PROVE_FLAGS  = -I $(srcdir)/test/perl

EXTRA_CLEAN  = src/.build-flavour tmp_check tmp_check_iso output_iso results regression.diffs regression.out

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks header dependencies only when the server was configured with
# --enable-depend (Debian's is not): rebuild every object when a header changes.
# Switching BRICKCAT_ASSERT on or off rebuilds them too: src/.build-flavour
# is rewritten (so newer than every object) only when the flavour changes.
BC_FLAVOUR := $(if $(BRICKCAT_ASSERT),assert,plain)
$(shell [ "$$(cat src/.build-flavour 2>/dev/null)" = "$(BC_FLAVOUR)" ] || echo $(BC_FLAVOUR) > src/.build-flavour)
$(OBJS): $(wildcard src/*.h) src/.build-flavour brickcat.control

# The install script is assembled from the pieces in sql/install, in name order.
$(DATA_built): $(sort $(wildcard $(srcdir)/sql/install/*.sql))
	cat $^ > $@

# PGXS's installcheck runs the isolation specs only when ISOLATION is set; the
# unit harness and the simulator self-test run alongside.
.PHONY: unitcheck simcheck
unitcheck:
	$(MAKE) -C test/unit check PG_CONFIG=$(PG_CONFIG)
simcheck:
	python3 test/simulator/test_sim.py
