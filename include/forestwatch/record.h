/* SPDX-License-Identifier: MIT */
/*
 * Recording of the readings the daemon feeds the engine, so that `forestwatch replay` can run
 * them again through any config (docs/replay.md). Each reading is one JSON line,
 *
 *   {"recv": 1780286400123, "time": "2026-06-01T04:00:00Z", "station": "bs03-smoke-01",
 *    "zone": "bs-03", "metric": "smoke_ppm", "value": 352.5, "source": "mqtt"}
 *
 * where recv is the `now` the core was given; a line {"recv": ..., "tick": true} marks how far
 * the core's clock went without a reading, and lines with "flush", "ack" or "forecast" record
 * the core's other inputs (docs/replay.md), so that a replay drives the core as the daemon did.
 * Files are readings-<UTC yyyymmddThhmmssZ>-<seq>.jsonl in one folder; a file is rotated before it
 * would pass max_file_bytes and the oldest (lowest seq) are deleted beyond max_files.
 *
 * The recorder never reads the clock (the times are passed in) and opens its folder and files
 * lazily, at the first line, so a folder that cannot be written yet (a full disk, a missing
 * mount) is retried at every line instead of disabling recording for good. A failed line is
 * cut off again, so a file never holds half a line. Loop thread only.
 */
#ifndef FORESTWATCH_RECORD_H
#define FORESTWATCH_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/reading.h"

struct fw_meteo_forecast;

#define FW_RECORD_PREFIX "readings-"
#define FW_RECORD_SUFFIX ".jsonl"
#define FW_RECORD_MAX_LINE 1024   /* a recorded line, bytes: ids are capped at 63 bytes */
#define FW_RECORD_MAX_LIST 100000 /* recording files looked at in one folder */

struct fw_record;

/**
 * A recorder writing into `dir` (copied; created with its parents when missing, at the first
 * line). Does no I/O, so it cannot fail. Release with fw_record_free.
 */
struct fw_record *fw_record_new(const char *dir, int64_t max_file_bytes, int max_files);

/** Close the current file and release the recorder. NULL is a no-op. */
void fw_record_free(struct fw_record *rec);

/** Change the rotation limits (after a reload); they apply from the next line on. */
void fw_record_set_limits(struct fw_record *rec, int64_t max_file_bytes, int max_files);

/**
 * Append one reading that the engine is fed at gateway time `recv_ms`. Returns 0, or a negative
 * errno code (-ENOSPC, -EACCES, ...); after a failure the next call tries again. -EINVAL for a
 * reading that cannot be written as JSON (a non-finite value); nothing is written then.
 */
int fw_record_append(struct fw_record *rec, const struct fw_reading *r, int64_t recv_ms);

/** Append a tick line: the engine's clock reached `recv_ms`. Returns as fw_record_append. */
int fw_record_tick(struct fw_record *rec, int64_t recv_ms);

/**
 * Append a flush line: at `recv_ms` the held groups due by then were released (`all`: every held
 * group, as at a reload, at shutdown or after a clock step). Returns as fw_record_append.
 */
int fw_record_flush(struct fw_record *rec, int64_t recv_ms, int all);

/** Append an acknowledgement of alert `id` by `by` made at `at_ms`, handed over at `recv_ms`. */
int fw_record_ack(struct fw_record *rec, int64_t recv_ms, const char *id, const char *by,
                  int64_t at_ms);

/** Append one forecast day of the meteorology feed, handed to the models at `recv_ms`. -EINVAL
 * for a value that cannot be written (not finite); nothing is written then. */
int fw_record_forecast(struct fw_record *rec, int64_t recv_ms, const struct fw_meteo_forecast *f);

/** The folder, as given to fw_record_new; valid while the recorder lives. */
const char *fw_record_dir(const struct fw_record *rec);

/** The file being written, or NULL before the first line; valid until the next call. */
const char *fw_record_path(const struct fw_record *rec);

/**
 * The recording files of `dir` (names as above), oldest first (by seq), at most
 * FW_RECORD_MAX_LIST of them. Returns 0 and in *paths an array of *n full paths (the caller
 * frees each and the array), or a negative errno code from opening the folder.
 */
int fw_record_list(const char *dir, char ***paths, size_t *n);

/**
 * Print `v` as the shortest decimal that reads back as the same double (so a replay gets the
 * very value that was recorded), into `buf` of `size` bytes (32 is always enough).
 */
void fw_record_number(double v, char *buf, size_t size);

#endif
