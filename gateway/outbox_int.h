/* SPDX-License-Identifier: MIT */
/*
 * Outbox internals for tests and the benchmark only: the SQLite handle (to fill the database up
 * with PRAGMA max_page_count, or to look at it), and a switch that overrides the module's choice
 * of PRAGMA synchronous so that the benchmark can show what the fsync on commit costs.
 */
#ifndef FORESTWATCH_OUTBOX_INT_H
#define FORESTWATCH_OUTBOX_INT_H

#include <sqlite3.h>

#include "forestwatch/outbox.h"

/** The outbox's connection. Valid until fw_outbox_close. */
sqlite3 *fw_outbox__db(struct fw_outbox *ob);

/**
 * Use PRAGMA synchronous `level` (0 OFF, 1 NORMAL, 2 FULL) for every transaction from now on,
 * or -1 to go back to the module's policy (FULL for what must survive a power cut, NORMAL for
 * the rest; docs/outbox.md).
 */
void fw_outbox__force_sync(struct fw_outbox *ob, int level);

#endif
