/* SPDX-License-Identifier: MIT */
/*
 * The config loader, given its files: fw_config_load_io reads the main file, the rule files of
 * rules.d/ (sorted, so that rule order does not depend on the file system) and the device
 * profiles the devices name; resolves the paths the config gives against its folder (or the
 * service's state folder); takes broker passwords from their files or environment variables and
 * checks that TLS files can be read. Every file and variable comes through a struct fw_cfg_io,
 * so this is pure: fw_config_load (config_files.c) passes the file system and the environment,
 * a test passes texts from memory. Each file's text goes to the stages of config_sections.c and
 * config_check.c; the texts are kept to the end, so that late errors get their lines too.
 */
#include "forestwatch/config.h"

#include "config_int.h"

#include "forestwatch/log.h"
#include "forestwatch/profile.h"
#include "forestwatch/reading.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The texts of the files one load read, kept to its end: errors found after a file was parsed
 * (the cross-field checks) are given the lines of their paths too. */
struct loaded_file {
    char *shown, *text;
};
struct fw_cfg_files {
    struct loaded_file *v;
    size_t n;
    const struct fw_cfg_io *io; /* where the files come from */
};

/* Read and parse one file; NULL after reporting the reason as an error of `c`. The text is kept
 * in c->files, for the lines of the errors found later. */
static cJSON *read_json(struct fw_cfg_ctx *c, const char *path, int *rc)
{
    size_t len;
    const struct fw_cfg_io *io = c->files->io;
    char *text = io->read_text(io->arg, path, c->file, FW_CONFIG_MAX_FILE_BYTES, &len, c->errs, rc);
    if (!text)
        return NULL;
    cJSON *root = fw_cfg_parse(text, len, c->file, c->errs);
    if (!root) {
        *rc = -EINVAL;
        free(text);
        return NULL;
    }
    struct fw_cfg_files *f = c->files;
    f->v = fw_xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
    f->v[f->n++] = (struct loaded_file){fw_xstrdup(c->file), text};
    return root;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_rule_files(struct fw_cfg_ctx *c, struct fw_config *cfg, const char *shown_dir,
                            int explicit_dir)
{
    const struct fw_cfg_io *io = c->files->io;
    char **entries = NULL;
    size_t nentries = 0;
    int rc = io->list_dir(io->arg, cfg->rules_dir, &entries, &nentries);
    if (rc < 0) {
        /* The folder is optional unless the config names one. */
        if (explicit_dir || rc != -ENOENT)
            fw_cfg_errors_add(c->errs,
                              fw_xasprintf("%s: $.rules_dir: cannot open folder \"%s\": %s",
                                           cfg->path, shown_dir, strerror(-rc)));
        return;
    }
    char **names = NULL;
    size_t n = 0;
    for (size_t k = 0; k < nentries; k++) {
        const char *name = entries[k];
        size_t l = strlen(name);
        if (name[0] == '.' || l < 6 || strcmp(name + l - 5, ".json") != 0)
            continue;
        if (n >= 1000) {
            fw_cfg_errors_add(c->errs, fw_xasprintf("%s: more than 1000 rule files", shown_dir));
            break;
        }
        names = fw_xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = fw_xstrdup(name);
    }
    fw_cfg_free_string_list(entries, nentries);
    /* Sorted, so rule order and duplicate reports do not depend on the file system. */
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char *full = fw_xasprintf("%s/%s", cfg->rules_dir, names[i]);
        char *shown = fw_xasprintf("%s/%s", shown_dir, names[i]);
        struct fw_cfg_ctx fc = {
            .file = shown, .errs = c->errs, .path = "$", .pathlen = 1, .files = c->files};
        rc = 0;
        cJSON *root = read_json(&fc, full, &rc);
        if (root) {
            fw_config__parse_rule_file(&fc, root, cfg);
            cJSON_Delete(root);
        }
        free(shown);
        free(full);
        free(names[i]);
    }
    free(names);
}

static int cmp_node(const void *a, const void *b)
{
    return strcmp(((const struct fw_cfg_node *)a)->id, ((const struct fw_cfg_node *)b)->id);
}

/*
 * Modbus devices: each names a bus and a profile (a file of the profiles folder, loaded once and
 * validated here, so check-config catches a bad register map), and becomes a station of its
 * zone, so rules see its readings like any node's.
 */
static void load_devices(struct fw_cfg_ctx *c, struct fw_config *cfg, const char *dir)
{
    /* `rel` is the folder as written, for messages; profiles_dir becomes the real path. */
    char *rel = fw_xstrdup(cfg->profiles_dir ? cfg->profiles_dir : "profiles");
    char *resolved = rel[0] == '/' ? fw_xstrdup(rel) : fw_xasprintf("%s/%s", dir, rel);
    free(cfg->profiles_dir);
    cfg->profiles_dir = resolved;
    for (size_t i = 0; i < cfg->ndevices; i++) {
        struct fw_cfg_device *dv = &cfg->devices[i];
        size_t mark = fw_cfg_path_key(c, "devices");
        fw_cfg_path_key(c, dv->id);
        const struct fw_cfg_bus *bus = NULL;
        for (size_t b = 0; dv->bus && b < cfg->nbuses; b++)
            if (strcmp(cfg->buses[b].name, dv->bus) == 0)
                bus = &cfg->buses[b];
        if (dv->bus && !bus) {
            size_t m2 = fw_cfg_path_key(c, "bus");
            fw_cfg_err(c, "no bus named \"%s\"", dv->bus);
            fw_cfg_path_pop(c, m2);
        }
        if (bus && bus->kind == FW_BUS_RTU && (dv->unit_id < 1 || dv->unit_id > 247)) {
            size_t m2 = fw_cfg_path_key(c, "unit_id");
            fw_cfg_err(c, "must be 1..247 on an rtu bus, got %d", dv->unit_id);
            fw_cfg_path_pop(c, m2);
        }
        /* Both would answer one request, or one would be read for the other: the pollers
         * refuse to start on such a config, so it must not pass the check. */
        for (size_t j = 0; bus && j < i; j++) {
            const struct fw_cfg_device *o = &cfg->devices[j];
            if (o->bus && strcmp(o->bus, dv->bus) == 0 && o->unit_id == dv->unit_id) {
                size_t m2 = fw_cfg_path_key(c, "unit_id");
                fw_cfg_err(c, "unit %d on bus \"%s\" is device \"%s\" already", dv->unit_id,
                           dv->bus, o->id);
                fw_cfg_path_pop(c, m2);
                break;
            }
        }
        if (dv->zone && !fw_config_zone(cfg, dv->zone)) {
            size_t m2 = fw_cfg_path_key(c, "zone");
            fw_cfg_err(c, "no zone named \"%s\"", dv->zone);
            fw_cfg_path_pop(c, m2);
        }
        for (size_t n = 0; n < cfg->nnodes; n++)
            if (strcmp(cfg->nodes[n].id, dv->id) == 0)
                fw_cfg_err(c, "a node of the same name exists: a device is a station of its own");
        for (size_t k = 0; dv->profile && k < cfg->nprofiles; k++)
            if (strcmp(cfg->profiles[k]->name, dv->profile) == 0)
                dv->profile_ref = cfg->profiles[k];
        if (dv->profile && !dv->profile_ref) {
            char *file = fw_xasprintf("%s/%s.json", cfg->profiles_dir, dv->profile);
            char *shown = fw_xasprintf("%s/%s.json", rel, dv->profile);
            const struct fw_cfg_io *io = c->files->io;
            struct fw_profile *p = NULL;
            size_t len;
            int rc = 0;
            char *text = NULL;
            if (io->missing(io->arg, file)) {
                /* Most likely a misspelt name: say which device asked for it. */
                size_t m2 = fw_cfg_path_key(c, "profile");
                fw_cfg_err(c, "no profile \"%s\": %s does not exist", dv->profile, shown);
                fw_cfg_path_pop(c, m2);
            } else if ((text = io->read_text(io->arg, file, shown, FW_PROFILE_MAX_FILE_BYTES, &len,
                                             c->errs, &rc)) &&
                       fw_profile_parse(text, len, file, shown, &p, c->errs) == 0) {
                cfg->profiles =
                    fw_xrealloc(cfg->profiles, (cfg->nprofiles + 1) * sizeof(*cfg->profiles));
                cfg->profiles[cfg->nprofiles++] = p;
                dv->profile_ref = p;
            }
            free(text);
            free(file);
            free(shown);
        }
        fw_cfg_path_pop(c, mark);
        /* The device as a node: a station of its zone. */
        if (dv->zone && fw_config_zone(cfg, dv->zone)) {
            cfg->nodes = fw_xrealloc(cfg->nodes, (cfg->nnodes + 1) * sizeof(*cfg->nodes));
            cfg->nodes[cfg->nnodes++] = (struct fw_cfg_node){
                .id = fw_xstrdup(dv->id),
                .zone = fw_xstrdup(dv->zone),
                .kind = fw_xasprintf("modbus:%s", dv->profile ? dv->profile : "?"),
            };
        }
    }
    free(rel);
}

/*
 * The national rating's tables: the file `cn_rating_tables` names (resolved against the config's
 * folder), or the built-in transcription; copied into every zone's rating parameters, so the
 * model never reads a file. Its errors name the file and its JSON paths, as the config's do.
 */
static void load_cn_tables(struct fw_cfg_ctx *c, struct fw_config *cfg, const char *dir)
{
    fw_cnr_tables_default(&cfg->cn_tables);
    if (cfg->cn_tables_file) {
        char *shown = fw_xstrdup(cfg->cn_tables_file);
        char *file = shown[0] == '/' ? fw_xstrdup(shown) : fw_xasprintf("%s/%s", dir, shown);
        const struct fw_cfg_io *io = c->files->io;
        size_t len;
        int rc = 0;
        char *text =
            io->read_text(io->arg, file, shown, FW_CONFIG_MAX_FILE_BYTES, &len, c->errs, &rc);
        if (text) {
            fw_cnr_tables_parse(text, len, shown, &cfg->cn_tables, c->errs);
            struct fw_cfg_files *f = c->files;
            f->v = fw_xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
            f->v[f->n++] = (struct loaded_file){shown, text};
        } else {
            free(shown);
        }
        free(cfg->cn_tables_file);
        cfg->cn_tables_file = file;
    }
    for (size_t i = 0; i < cfg->nzones; i++)
        if (cfg->zones[i].cn)
            cfg->zones[i].cn->tables = cfg->cn_tables;
}

/* ------------------------------------------------------------------------------------------ */
/* Broker credentials and TLS files                                                            */
/* ------------------------------------------------------------------------------------------ */

#define FW_CONFIG_MAX_PASSWORD 1024

/* A path from the config, resolved against the config's folder `dir`. */
static char *resolve_path(const char *dir, const char *written)
{
    return written[0] == '/' ? fw_xstrdup(written) : fw_xasprintf("%s/%s", dir, written);
}

/*
 * `key` of the object at the current path names a file: resolve it (in place) and check that it
 * can be read. Messages name the file as resolved, or as written when the config itself was
 * named without a folder (`bare`).
 */
static void check_config_file(struct fw_cfg_ctx *c, const char *key, char **file, const char *dir,
                              int bare)
{
    if (!*file)
        return;
    char *written = *file;
    *file = resolve_path(dir, written);
    size_t mark = fw_cfg_path_key(c, key);
    const struct fw_cfg_io *io = c->files->io;
    io->check_file(io->arg, c, *file, bare ? written : *file);
    fw_cfg_path_pop(c, mark);
    free(written);
}

/*
 * The password is the first line of the file, without its line ending. Messages name the file
 * but never quote what it holds.
 */
static char *read_password_file(struct fw_cfg_ctx *c, const char *file, const char *shown)
{
    const struct fw_cfg_io *io = c->files->io;
    char buf[FW_CONFIG_MAX_PASSWORD + 2];
    size_t n = 0;
    if (io->read_head(io->arg, c, file, shown, buf, sizeof(buf), &n) < 0) {
        explicit_bzero(buf, sizeof(buf));
        return NULL;
    }
    buf[n] = '\0';
    char *secret = NULL;
    size_t len = 0;
    while (len < n && buf[len] != '\n')
        len++;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    if (len == 0)
        fw_cfg_err(c, "\"%s\" holds no password: its first line must be the password", shown);
    else if (len > FW_CONFIG_MAX_PASSWORD)
        fw_cfg_err(c, "the first line of \"%s\" is longer than %d bytes", shown,
                   FW_CONFIG_MAX_PASSWORD);
    else if (memchr(buf, '\0', len))
        fw_cfg_err(c, "the first line of \"%s\" contains a NUL byte", shown);
    else
        secret = fw_xasprintf("%.*s", (int)len, buf);
    explicit_bzero(buf, sizeof(buf));
    return secret;
}

/*
 * Per broker: resolve the TLS files and check that they can be read, and fetch the password from
 * its file or its environment variable. Done at load so that check-config, a start and a reload
 * all fail on a missing file rather than the link failing later, broker by broker.
 */
static void load_broker_secrets(struct fw_cfg_ctx *c, struct fw_config *cfg, const char *dir,
                                int bare)
{
    for (size_t i = 0; i < cfg->nbrokers; i++) {
        struct fw_cfg_broker *b = &cfg->brokers[i];
        size_t mark = fw_cfg_path_key(c, "brokers");
        fw_cfg_path_key(c, b->name);
        if (b->tls.ca_file) {
            size_t m2 = fw_cfg_path_key(c, "tls");
            check_config_file(c, "ca_file", &b->tls.ca_file, dir, bare);
            check_config_file(c, "cert_file", &b->tls.cert_file, dir, bare);
            check_config_file(c, "key_file", &b->tls.key_file, dir, bare);
            fw_cfg_path_pop(c, m2);
        }
        if (b->password_file && !b->password_env) {
            size_t m2 = fw_cfg_path_key(c, "password_file");
            char *written = b->password_file;
            b->password_file = resolve_path(dir, written);
            b->password =
                read_password_file(c, b->password_file, bare ? written : b->password_file);
            free(written);
            fw_cfg_path_pop(c, m2);
        }
        if (b->password_env && !b->password_file) {
            size_t m2 = fw_cfg_path_key(c, "password_env");
            const struct fw_cfg_io *io = c->files->io;
            const char *v = io->getenv(io->arg, b->password_env);
            if (!v)
                fw_cfg_err(c, "environment variable \"%s\" is not set", b->password_env);
            else if (!*v)
                fw_cfg_err(c, "environment variable \"%s\" is empty", b->password_env);
            else if (strlen(v) > FW_CONFIG_MAX_PASSWORD)
                fw_cfg_err(c, "environment variable \"%s\" is longer than %d bytes",
                           b->password_env, FW_CONFIG_MAX_PASSWORD);
            else
                b->password = fw_xstrdup(v);
            fw_cfg_path_pop(c, m2);
        }
        fw_cfg_path_pop(c, mark);
    }
}

int fw_config_load_io(const char *path, const struct fw_cfg_io *io, struct fw_config **out,
                      struct fw_cfg_errors *errs)
{
    struct fw_config *cfg = fw_xcalloc(1, sizeof(*cfg));
    struct fw_cfg_files files = {.io = io};
    struct fw_cfg_ctx c = {.file = path, .errs = errs, .path = "$", .pathlen = 1, .files = &files};
    int rc = 0;
    size_t errs_before = errs->n + errs->dropped, first_err = errs->n;
    *out = NULL;

    cfg->path = fw_xstrdup(path);
    cfg->metrics = fw_metric_set_new();
    /* Names resolve against this file's declarations, not the running config's. */
    const struct fw_metric_set *outer = fw_metric_scope(cfg->metrics);
    cfg->log_level = FW_LOG_INFO;
    fw_config__defaults(cfg);

    cJSON *root = read_json(&c, path, &rc);
    if (!root)
        goto fail;
    fw_config__parse_main(&c, root, cfg);
    int explicit_dir = cfg->rules_dir != NULL;
    cJSON_Delete(root);

    /* rules.d is resolved against the main file's folder, as written (for messages) and real. */
    const char *slash = strrchr(path, '/');
    char *dir = slash ? fw_xasprintf("%.*s", (int)(slash - path), path) : fw_xstrdup(".");
    const char *rel = cfg->rules_dir ? cfg->rules_dir : "rules.d";
    char *resolved = rel[0] == '/' ? fw_xstrdup(rel) : fw_xasprintf("%s/%s", dir, rel);
    char *shown = rel[0] == '/' || !slash ? fw_xstrdup(rel) : fw_xstrdup(resolved);
    free(cfg->rules_dir);
    cfg->rules_dir = resolved;
    load_rule_files(&c, cfg, shown, explicit_dir);
    free(shown);
    /*
     * The outbox lives beside the config unless told otherwise: durable by default. Under a
     * service manager that gives the service a state directory (systemd's StateDirectory=,
     * which sets STATE_DIRECTORY), written files go there instead: /etc stays read-only.
     */
    const char *state_dir = io->getenv(io->arg, "STATE_DIRECTORY");
    if (state_dir && (state_dir[0] != '/' || strchr(state_dir, ':')))
        state_dir = NULL; /* one absolute folder only */
    const char *wdir = state_dir ? state_dir : dir;
    if (cfg->store.path[0] != '/') {
        char *db = fw_xasprintf("%s/%s", wdir, cfg->store.path);
        free(cfg->store.path);
        cfg->store.path = db;
    }
    if (cfg->record.dir && cfg->record.dir[0] != '/') {
        char *rec = fw_xasprintf("%s/%s", wdir, cfg->record.dir);
        free(cfg->record.dir);
        cfg->record.dir = rec;
    }

    load_devices(&c, cfg, dir);
    load_cn_tables(&c, cfg, dir);
    load_broker_secrets(&c, cfg, dir, slash == NULL);
    free(dir);

    /* Defaults that depend on other keys. */
    /* The members of a group share the config's gateway id but not their connections nor their
     * status: each has its own (docs/ha.md). */
    const char *member = cfg->ha.group ? cfg->ha.member : NULL;
    if (cfg->gateway_id && !cfg->status_topic)
        cfg->status_topic = member
                                ? fw_xasprintf("forestwatch/%s/%s/status", cfg->gateway_id, member)
                                : fw_xasprintf("forestwatch/%s/status", cfg->gateway_id);
    if (cfg->gateway_id && cfg->ha.group && !cfg->ha.topic_prefix)
        cfg->ha.topic_prefix = fw_xasprintf("forestwatch/%s/ha/%s", cfg->gateway_id, cfg->ha.group);
    if (cfg->ha.topic_prefix && !fw_config__topic_ok(cfg->ha.topic_prefix, 0))
        fw_cfg_errors_add(errs, fw_xasprintf("%s: $.ha.topic_prefix: invalid MQTT topic \"%s\"",
                                             path, cfg->ha.topic_prefix));
    if (cfg->ha.group && cfg->ha.dead_after_ms <= cfg->ha.heartbeat_ms)
        fw_cfg_errors_add(errs, fw_xasprintf("%s: $.ha.dead_after_ms: %lld must be longer than "
                                             "heartbeat_ms (%lld)",
                                             path, (long long)cfg->ha.dead_after_ms,
                                             (long long)cfg->ha.heartbeat_ms));
    if (cfg->status_topic && !fw_config__topic_ok(cfg->status_topic, 0))
        fw_cfg_errors_add(errs,
                          fw_xasprintf("%s: $.gateway.status_topic: invalid MQTT topic \"%s\"",
                                       path, cfg->status_topic));
    for (size_t i = 0; i < cfg->nbrokers; i++)
        if (!cfg->brokers[i].client_id && cfg->gateway_id)
            cfg->brokers[i].client_id =
                member ? fw_xasprintf("forestwatch-%s-%s-%s", cfg->gateway_id, cfg->brokers[i].name,
                                      member)
                       : fw_xasprintf("forestwatch-%s-%s", cfg->gateway_id, cfg->brokers[i].name);

    fw_config__check_refs(cfg, errs);
    for (size_t i = 0; i < files.n; i++) {
        fw_cfg_errors_locate(errs, first_err, files.v[i].shown, files.v[i].text);
        free(files.v[i].shown);
        free(files.v[i].text);
    }
    free(files.v);
    if (errs->n + errs->dropped > errs_before) {
        rc = -EINVAL;
        goto fail;
    }
    if (cfg->nnodes)
        qsort(cfg->nodes, cfg->nnodes, sizeof(*cfg->nodes), cmp_node);
    /* Sorting moved the nodes; resolve their zones again. */
    for (size_t i = 0; i < cfg->nnodes; i++)
        cfg->nodes[i].zone_ref = fw_config_zone(cfg, cfg->nodes[i].zone);
    fw_metric_scope(outer);
    *out = cfg;
    return 0;
fail:
    fw_metric_scope(outer);
    fw_config_free(cfg);
    return rc ? rc : -EINVAL;
}
