/* SPDX-License-Identifier: MIT */
/*
 * Declarative key tables, shared by every JSON-with-comments loader (the config, its rule files
 * and device profiles). A loader describes each JSON object as a table of struct fw_cfg_key rows:
 * the key's name, its type, whether it is required, where its value goes, its bounds and its
 * default. fw_cfg_apply_keys checks an object against its table and stores
 * the values; fw_cfg_key_defaults stores the defaults. One machinery means one set of messages:
 * a profile error reads like a config error, and a bound and its default cannot drift apart.
 *
 * Errors are collected, never printed here: each names the file and the JSON path
 * ("forestwatch.json: $.limits.max_readings: must be an integer 1..1024, got 0"). Pure: no I/O.
 */
#ifndef FORESTWATCH_CFG_KEYS_H
#define FORESTWATCH_CFG_KEYS_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

#define FW_CONFIG_MAX_ERRORS 200
#define FW_CONFIG_MAX_ID 64 /* names of brokers, zones, nodes, routes, rules */

/* The errors of one load, in the order found. */
struct fw_cfg_errors {
    char **msgs;
    size_t n;
    size_t dropped; /* errors past FW_CONFIG_MAX_ERRORS, counted but not kept */
};

/*
 * Append `msg` (owned, from malloc) to `errs`, counting it as dropped past FW_CONFIG_MAX_ERRORS.
 */
void fw_cfg_errors_add(struct fw_cfg_errors *errs, char *msg);

/** Release the messages held by `errs` and reset it to empty. */
void fw_cfg_errors_clear(struct fw_cfg_errors *errs);

/**
 * A short rendering of JSON value `v` (NULL: "nothing") for the "got ..." of a message: a string
 * quoted and cut at 40 bytes, a number as %.15g, else its kind. At most size - 1 bytes.
 */
void fw_cfg_describe(const struct cJSON *v, char *buf, size_t size);

/** The NULL-terminated `names` as a message lists them: "a", "b", "c" (cut at size - 1 bytes). */
void fw_cfg_enum_list(const char *const *names, char *buf, size_t size);

/**
 * Check member `m` of JSON object `obj` against a table of keys whose entries are `stride` bytes
 * apart, each beginning with its name (const char *), the last with a NULL name. Returns the
 * index of m's entry, or -1 with `why` (`size` bytes) saying what is wrong: "duplicate key",
 * "unknown key (did you mean "name"?)" for a name at most two edits away, or "unknown key".
 */
int fw_cfg_key_find(const struct cJSON *obj, const struct cJSON *m, const void *keys, size_t stride,
                    char *why, size_t size);

/* ------------------------------------------------------------------------------------------ */
/* The checking context: where a loader is, and where its errors go                           */
/* ------------------------------------------------------------------------------------------ */

/* How a loader writes paths and matches enum names: each loader keeps its own rules. */
enum {
    FW_CFG_EXACT_ENUMS = 1 << 0, /* enum names match with their case (profiles); else any case */
    FW_CFG_PLAIN_PATHS = 1 << 1, /* every key is written .key (profiles); else ["k y"] if odd */
};

struct fw_cfg_files; /* the config loader's texts, for the lines of late errors */

struct fw_cfg_ctx {
    const char *file; /* display name of the file being read */
    struct fw_cfg_errors *errs;
    char path[512]; /* JSON path of the value being checked, "$..." */
    size_t pathlen;
    struct fw_cfg_files *files;
    unsigned flags; /* FW_CFG_EXACT_ENUMS, FW_CFG_PLAIN_PATHS */
};

/* A context at the root "$" of `file`. */
#define FW_CFG_CTX(file_, errs_)                                                                   \
    {                                                                                              \
        .file = (file_), .errs = (errs_), .path = "$", .pathlen = 1                                \
    }

/** Add "file: path: message" to the context's errors. */
void fw_cfg_err(struct fw_cfg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Append ".key" (or ["key"] for a key that is not a plain name) to the path; returns the mark
 * to pop back to. */
size_t fw_cfg_path_key(struct fw_cfg_ctx *c, const char *key);

/** Append "[i]" to the path; returns the mark to pop back to. */
size_t fw_cfg_path_index(struct fw_cfg_ctx *c, int i);

/** Cut the path back to `mark`. */
void fw_cfg_path_pop(struct fw_cfg_ctx *c, size_t mark);

/* ------------------------------------------------------------------------------------------ */
/* Key tables                                                                                  */
/* ------------------------------------------------------------------------------------------ */

enum fw_cfg_type {
    FW_CFG_STR,    /* char *, length bounds lo..hi */
    FW_CFG_TEXT,   /* char[hi + 1] inside the struct (a value type's), length bounds lo..hi */
    FW_CFG_ID,     /* char *, a name: letters, digits, '_', '-', '.', at most FW_CONFIG_MAX_ID */
    FW_CFG_INT,    /* int in lo..hi */
    FW_CFG_MS,     /* int64_t milliseconds in lo..hi */
    FW_CFG_SIZE,   /* size_t in lo..hi */
    FW_CFG_NUM,    /* double in lo..hi */
    FW_CFG_NUMN,   /* double in lo..hi, or null: not set (NaN) */
    FW_CFG_DUR,    /* int64_t milliseconds from a duration string ("30s", "5m", "1h30m"), lo..hi */
    FW_CFG_BOOL,   /* bool */
    FW_CFG_ENUM,   /* int: index in names[] */
    FW_CFG_CUSTOM, /* parse(ctx, value, base) */
};

struct fw_cfg_key {
    const char *name;
    enum fw_cfg_type type;
    int required;
    size_t off; /* where the value goes, from the base the table is applied to */
    double lo, hi;
    const char *const *names; /* FW_CFG_ENUM: the names, NULL-terminated */
    void (*parse)(struct fw_cfg_ctx *c, const struct cJSON *v, void *base);
    /* The default, written as in the file ("16384", "\"forestwatch.db\"", "\"5m\""), stored by
     * fw_cfg_key_defaults; NULL: none (the field keeps what its struct was given). */
    const char *def;
};

#define FW_CFG_FIELD(type, member) offsetof(type, member)

/**
 * Check the object `obj` against `keys` (ended by a row with a NULL name): every member must be
 * a known key, appear once, and pass its check; every required key must be present. Values are
 * stored into `base`.
 */
void fw_cfg_apply_keys(struct fw_cfg_ctx *c, const struct cJSON *obj, const struct fw_cfg_key *keys,
                       void *base);

/**
 * Store the default of every row of `keys` that has one into `base`. A default outside its own
 * bounds is a programmer error (FW_ASSERT).
 */
void fw_cfg_key_defaults(const struct fw_cfg_key *keys, void *base);

/* ------------------------------------------------------------------------------------------ */
/* Shapes shared by several sections                                                          */
/* ------------------------------------------------------------------------------------------ */

/** 1 when `s` is a valid name: 1..FW_CONFIG_MAX_ID letters, digits, '_', '-' or '.'. */
int fw_cfg_valid_id(const char *s);

/** "1h30m", "7d", "0s": the inverse of fw_duration_parse, for messages. */
void fw_cfg_format_duration(int64_t ms, char *buf, size_t size);

/**
 * Walk an object used as a map of named entries (zones, nodes, ...): report duplicate names and
 * names `name_ok` refuses (with the text `bad_name`), and call `each` for the others with the
 * path at the entry.
 */
void fw_cfg_for_each_named_by(struct fw_cfg_ctx *c, const struct cJSON *obj, const char *what,
                              int (*name_ok)(const char *), const char *bad_name,
                              void (*each)(struct fw_cfg_ctx *, const struct cJSON *, void *),
                              void *arg);

/** The same, with names checked by fw_cfg_valid_id. */
void fw_cfg_for_each_named(struct fw_cfg_ctx *c, const struct cJSON *obj, const char *what,
                           void (*each)(struct fw_cfg_ctx *, const struct cJSON *, void *),
                           void *arg);

/**
 * An array of strings (of names, when `ids`) as a NULL-terminated list (free with
 * fw_cfg_free_string_list); bad entries are reported and left out. *n_out: the entries kept.
 */
char **fw_cfg_string_list(struct fw_cfg_ctx *c, const struct cJSON *v, size_t *n_out, int ids);

void fw_cfg_free_string_list(char **list, size_t n);

#endif
