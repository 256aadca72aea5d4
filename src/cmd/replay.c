/* streamflow replay: stream the rows of CSV or JSON-lines files (plain or
 * .gz) into a Kafka topic, one record per row (or --records-per-message N
 * rows, one per line), value = the row as it is in the file (or a CSV row
 * as a JSON object, --format json), key = FILE:LINE (of a message's first
 * row), as fast as possible or at --rate rows per second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/kafka_opt.h"
#include "cmd/opt.h"
#include "kafka/kafka.h"
#include "model/model.h"
#include "score/record.h"
#include "table/csv.h"
#include "table/schema.h"
#include "table/table.h"
#include "util/lines.h"
#include "util/utf8.h"
#include "util/util.h"

enum { OPT_RATE = SF_OPT_LONG, OPT_LIMIT, OPT_LOOP, OPT_SCHEMA, OPT_MODEL, OPT_FORMAT, OPT_PER_MESSAGE };

static const sf_option_t options[] = {
        {"topic", 't', "TOPIC", "topic to write to (default " SF_TOPIC_CONNECTIONS ")"},
        {"rate", OPT_RATE, "N", "records per second (default: as fast as possible)"},
        {"limit", OPT_LIMIT, "N", "stop after N records (default: every row)"},
        {"loop", OPT_LOOP, NULL, "start the files again at their end (until --limit or Ctrl-C)"},
        {"schema", OPT_SCHEMA, "FILE",
         "the files' schema (schema.json): its header row is not sent, and --format json names the "
         "columns (default: CSV without a header, as NSL-KDD)"},
        {"model", OPT_MODEL, "FILE", "take the schema from a model file instead"},
        {"format", OPT_FORMAT, "FORMAT",
         "send rows as in the file (auto, the default), as CSV (csv) or as JSON objects (json; needs "
         "--schema or --model)"},
        {"records-per-message", OPT_PER_MESSAGE, "N",
         "N rows per Kafka message, one per line (default 1; at most 10000); the last message of a "
         "file may hold fewer; --rate and --limit still count rows"},
        {"quiet", 'q', NULL, "no progress line and no totals"},
        {0}};

static const sf_cmd_spec_t spec = {
        "replay",
        "FILE...",
        "Streams the rows of CSV or JSON-lines files (plain or gzip; JSON when the first non-blank\n"
        "byte is '{') into a Kafka topic: one record per row, the value being the row as it is in the\n"
        "file (a CSV record spanning lines stays one record) or, with --format json, a CSV row as a\n"
        "JSON object named by the schema's columns; the key is FILE:LINE. With --records-per-message N\n"
        "a message holds N rows, one per line, and its key is its first row's FILE:LINE (read them\n"
        "with 'score --records-per-message many'). A progress line is shown on a\n"
        "terminal and the totals at the end; the exit status is 1 if any record was not delivered\n"
        "(or a line could not be read).",
        {options, sf_kafka_options, NULL}};

/* Records go to librdkafka in batches of up to this many (one call, one
 * topic lock, one clock read each); under --rate a batch is sent as soon as
 * the next record is not due yet, so pacing adds no delay. */
#define REPLAY_BATCH 256
/* Bytes of keys and values a batch holds; a bigger record gets a buffer of
 * its own size. */
#define REPLAY_BATCH_BYTES (256 * 1024)
/* With --loop, the rows of the first pass are kept in memory (decoded once,
 * not inflated again each pass) when they take at most this many bytes. */
#define REPLAY_CACHE_MAX (256u * 1024 * 1024)

/* One row kept for the later passes of --loop. */
typedef struct cached_row {
        size_t off; /* in cache.data */
        uint32_t len;
        int file; /* index in argv */
        uint64_t lineno;
} cached_row_t;

typedef struct replay {
        const char *topic;
        char **files; /* argv: files[1..nfiles] */
        double rate;
        sf_producer_t *prod;
        uint64_t sent, bad_lines;
        double t0, last_progress;
        int progress; /* stderr is a terminal */
        /* the batch being filled */
        rd_kafka_message_t msgs[REPLAY_BATCH];
        int msg_file[REPLAY_BATCH];
        uint64_t msg_line[REPLAY_BATCH];
        int n;
        char *buf; /* buf_cap bytes, REPLAY_BATCH_BYTES or more */
        size_t used, buf_cap;
        uint64_t taken;   /* rows taken from the files (in messages, or in the group) */
        uint64_t emitted; /* rows in the messages handed to emit: the next one's number for --rate */
        /* --records-per-message: the rows of the message being put together */
        int per_message;
        char *group;
        size_t group_len, group_cap;
        int group_rows, group_file;
        uint64_t group_line;
        /* --schema / --model: the columns, for the header and --format json */
        const sf_schema_t *schema;
        sf_score_decoder_t dec;
        sf_score_format_t format;
        sf_csv_field_t *fields; /* (n_cols + 1) */
        char *scratch, *json;   /* an unquoted record; its JSON */
        size_t scratch_cap, json_cap;
        int header_pending; /* the next CSV record is the header row */
        /* --loop: the first pass's rows */
        int caching; /* still filling the cache */
        char *cache;
        size_t cache_len, cache_cap;
        cached_row_t *rows;
        size_t nrows, rows_cap;
} replay_t;

static void progress(replay_t *r, int final) {
        double now = sf_now_s();
        if (!final && now - r->last_progress < 0.5) return;
        r->last_progress = now;
        double dt = now - r->t0;
        sf_producer_stats_t st = sf_producer_stats(r->prod);
        fprintf(stderr, "\rreplay: %llu records sent, %llu delivered, %.0f records/s   ",
                (unsigned long long)r->sent, (unsigned long long)st.delivered, dt > 0 ? r->sent / dt : 0.0);
        if (final) fputc('\n', stderr);
}

/* Waits until record number `i` is due at `rate` records/s, serving delivery
 * reports meanwhile. */
static void pace(sf_producer_t *prod, double t0, uint64_t i, double rate) {
        for (;;) {
                double ahead = t0 + (double)i / rate - sf_now_s();
                if (ahead <= 0 || !sf_kafka_running()) return;
                if (ahead > 0.002) {
                        sf_producer_poll(prod, (int)(ahead * 1000 > 100 ? 100 : ahead * 1000));
                } else {
                        struct timespec ts = {0, (long)(ahead * 1e9)};
                        nanosleep(&ts, NULL);
                }
        }
}

/* Sends the batch. Returns 0, or 1 after reporting the record not sent. */
static int flush_batch(replay_t *r) {
        if (r->n == 0) return 0;
        char errstr[512];
        int queued = 0;
        int rc = sf_producer_send_batch(r->prod, r->topic, r->msgs, r->n, &queued, errstr, sizeof(errstr));
        r->sent += (uint64_t)queued;
        if (rc != 0)
                fprintf(stderr, "streamflow replay: %s:%llu: %s\n", r->files[r->msg_file[queued]],
                        (unsigned long long)r->msg_line[queued], errstr);
        uint64_t before = r->sent - (uint64_t)queued;
        if (before / 1024 != r->sent / 1024) {
                sf_producer_poll(r->prod, 0);
                if (r->progress) progress(r, 0);
        }
        r->n = 0;
        r->used = 0;
        return rc != 0;
}

static void cache_drop(replay_t *r) {
        free(r->cache);
        free(r->rows);
        r->cache = NULL;
        r->rows = NULL;
        r->cache_len = r->cache_cap = r->nrows = r->rows_cap = 0;
        r->caching = 0;
}

/* Keeps a row of the first pass for the next ones; past REPLAY_CACHE_MAX
 * the cache is dropped and every pass reads the files again. */
static void cache_row(replay_t *r, int file, uint64_t lineno, const char *line, size_t len) {
        if (r->cache_len + len > REPLAY_CACHE_MAX) goto drop;
        if (r->cache_len + len > r->cache_cap) {
                size_t cap = r->cache_cap ? r->cache_cap * 2 : 1024 * 1024;
                while (cap < r->cache_len + len) cap *= 2;
                char *c = realloc(r->cache, cap);
                if (!c) goto drop;
                r->cache = c;
                r->cache_cap = cap;
        }
        if (r->nrows == r->rows_cap) {
                size_t cap = r->rows_cap ? r->rows_cap * 2 : 16384;
                cached_row_t *rows = realloc(r->rows, cap * sizeof(*rows));
                if (!rows) goto drop;
                r->rows = rows;
                r->rows_cap = cap;
        }
        memcpy(r->cache + r->cache_len, line, len);
        r->rows[r->nrows++] = (cached_row_t){r->cache_len, (uint32_t)len, file, lineno};
        r->cache_len += len;
        return;
drop:
        cache_drop(r);
}

/* Adds one record (key FILE:LINE) to the batch, sending the batch when it
 * is full or, under --rate, before waiting for the record to be due.
 * Returns 0, or 1 when a record could not be sent. */
static int emit(replay_t *r, int file, uint64_t lineno, const char *line, size_t len, int nrows) {
        const char *path = r->files[file];
        size_t plen = strlen(path), need = plen + 22 + len;
        if (r->n == REPLAY_BATCH || r->used + need > r->buf_cap)
                if (flush_batch(r)) return 1;
        if (need > r->buf_cap) { /* the batch is empty: librdkafka copied its records */
                char *b = realloc(r->buf, need);
                if (!b) {
                        fprintf(stderr,
                                "streamflow replay: %s:%llu: out of memory for a record of %zu bytes\n", path,
                                (unsigned long long)lineno, len);
                        return 1;
                }
                r->buf = b;
                r->buf_cap = need;
        }
        if (r->rate > 0) {
                uint64_t i = r->emitted; /* this record's (first row's) number */
                if (r->n > 0 && r->t0 + (double)i / r->rate > sf_now_s() && flush_batch(r)) return 1;
                pace(r->prod, r->t0, i, r->rate);
        }
        /* key = PATH:LINE, formatted by hand (snprintf was a tenth of the
         * time spent per record) */
        char *key = r->buf + r->used, *o = key;
        memcpy(o, path, plen);
        o += plen;
        *o++ = ':';
        char digits[20];
        int nd = 0;
        uint64_t v = lineno;
        do {
                digits[nd++] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        while (nd) *o++ = digits[--nd];
        char *value = o;
        memcpy(value, line, len);
        r->used += (size_t)(o - key) + len;
        rd_kafka_message_t *m = &r->msgs[r->n];
        memset(m, 0, sizeof(*m));
        m->key = key;
        m->key_len = (size_t)(value - key);
        m->payload = value;
        m->len = len;
        r->msg_file[r->n] = file;
        r->msg_line[r->n] = lineno;
        r->n++;
        r->emitted += (uint64_t)nrows;
        return 0;
}

/* Sends the rows put together for a message. Returns 0, or 1 when it
 * could not be sent. */
static int flush_group(replay_t *r) {
        if (r->group_rows == 0) return 0;
        int rows = r->group_rows;
        r->group_rows = 0;
        return emit(r, r->group_file, r->group_line, r->group, r->group_len, rows);
}

/* Takes one row: a message of its own, or (--records-per-message) a line
 * of the message being put together, sent once it holds its rows; a file's
 * last message may hold fewer. Returns 0, or 1 when a message could not be
 * sent. */
static int emit_row(replay_t *r, int file, uint64_t lineno, const char *line, size_t len) {
        r->taken++;
        if (r->per_message <= 1) return emit(r, file, lineno, line, len, 1);
        if (r->group_rows > 0 && file != r->group_file && flush_group(r)) return 1;
        size_t need = r->group_len * (r->group_rows > 0) + 1 + len;
        if (need > r->group_cap) {
                size_t cap = r->group_cap ? r->group_cap : 4096;
                while (cap < need) cap *= 2;
                char *g = realloc(r->group, cap);
                if (!g) {
                        fprintf(stderr, "streamflow replay: %s:%llu: out of memory\n", r->files[file],
                                (unsigned long long)lineno);
                        return 1;
                }
                r->group = g;
                r->group_cap = cap;
        }
        if (r->group_rows == 0) {
                r->group_len = 0;
                r->group_file = file;
                r->group_line = lineno;
        } else {
                r->group[r->group_len++] = '\n';
        }
        memcpy(r->group + r->group_len, line, len);
        r->group_len += len;
        return ++r->group_rows == r->per_message ? flush_group(r) : 0;
}

static int grow(char **buf, size_t *cap, size_t need) {
        if (need <= *cap) return 0;
        char *b = realloc(*buf, need);
        if (!b) return -1;
        *buf = b;
        *cap = need;
        return 0;
}

/* A CSV record as a JSON object of the schema's columns in *out. Returns
 * 0, 1 when the record is not one of the schema (reported, not sent) or -1
 * when out of memory. */
static int to_json(replay_t *r, int f, uint64_t lineno, const char *text, size_t *len, const char **out) {
        int nf, bad, n_cols = r->schema->n_cols;
        const char *why;
        if (grow(&r->scratch, &r->scratch_cap, *len + 1)) return -1;
        if (sf_csv_split(text, *len, r->fields, n_cols + 1, &nf, r->scratch, &bad, &why) != SF_CSV_OK) {
                fprintf(stderr, "streamflow replay: %s:%llu:%d: %s (record not sent)\n", r->files[f],
                        (unsigned long long)lineno, bad + 1, why);
                return 1;
        }
        if (nf != n_cols) {
                fprintf(stderr,
                        "streamflow replay: %s:%llu: %d fields, the schema has %d (record not sent)\n",
                        r->files[f], (unsigned long long)lineno, nf, n_cols);
                return 1;
        }
        for (int i = 0; i < nf; i++) /* JSON text is UTF-8: nothing is replaced on the way */
                if (sf_utf8_valid_len(r->fields[i].s, r->fields[i].len) != r->fields[i].len) {
                        fprintf(stderr,
                                "streamflow replay: %s:%llu:%d (%s): not valid UTF-8 (record not sent)\n",
                                r->files[f], (unsigned long long)lineno, i + 1, r->schema->cols[i].name);
                        return 1;
                }
        size_t n = sf_score_csv_to_json(&r->dec, r->fields, nf, r->json, r->json_cap);
        if (n >= r->json_cap) {
                if (grow(&r->json, &r->json_cap, n + 1)) return -1;
                n = sf_score_csv_to_json(&r->dec, r->fields, nf, r->json, r->json_cap);
        }
        *out = r->json;
        *len = n;
        return 0;
}

/* The next record of a file: a CSV record (the schema's header skipped,
 * converted with --format json) or a JSON line. Returns 0 with the record,
 * 1 at the end, 2 for a record not sent (reported), 3 on a read error or
 * out of memory (reported). */
static int next_record(replay_t *r, int f, sf_csv_reader_t *csv, int json_lines, const char **text,
                       size_t *len, uint64_t *lineno) {
        char errstr[512];
        for (;;) {
                int st = json_lines ? (int)sf_lines_next(sf_csv_lines(csv), text, len, lineno, errstr,
                                                         sizeof(errstr))
                                    : (int)sf_csv_next_text(csv, text, len, lineno, errstr, sizeof(errstr));
                /* SF_LINES_* and SF_CSV_READ_* share their values */
                if (st == SF_CSV_READ_EOF) return 1;
                if (st == SF_CSV_READ_ERROR || (st == SF_CSV_READ_BAD && r->header_pending && !json_lines)) {
                        /* a header that cannot be read cannot be checked: the file is not sent on */
                        fprintf(stderr, "streamflow replay: %s%s\n", errstr,
                                st == SF_CSV_READ_BAD ? " (the header row; the rest of the file is not sent)"
                                                      : "");
                        return 3;
                }
                if (st == SF_CSV_READ_BAD) {
                        fprintf(stderr, "streamflow replay: %s (record not sent)\n", errstr);
                        return 2;
                }
                if (json_lines) return 0;
                if (r->header_pending) { /* the schema's header row: checked, never sent */
                        r->header_pending = 0;
                        if (sf_table_check_header(r->schema, csv, *text, *len, *lineno, errstr,
                                                  sizeof(errstr)) != 0) {
                                fprintf(stderr, "streamflow replay: %s (the rest of the file is not sent)\n",
                                        errstr);
                                return 3;
                        }
                        continue;
                }
                if (r->format != SF_SCORE_JSON) return 0;
                int c = to_json(r, f, *lineno, *text, len, text);
                if (c < 0) fprintf(stderr, "streamflow replay: out of memory\n");
                return c < 0 ? 3 : c ? 2 : 0;
        }
}

/* Opens files[f] and tells CSV from JSON lines. Returns the reader, or
 * NULL (reported). */
static sf_csv_reader_t *open_input(replay_t *r, int f, int *json_lines) {
        char errstr[512];
        sf_csv_reader_t *csv =
                sf_csv_open(r->files[f], r->schema ? r->schema->n_cols + 1 : 1, errstr, sizeof(errstr));
        int first = csv ? sf_lines_peek(sf_csv_lines(csv), errstr, sizeof(errstr)) : -1;
        if (first < 0) {
                fprintf(stderr, "streamflow replay: %s\n", errstr);
                sf_csv_close(csv);
                return NULL;
        }
        *json_lines = first == '{';
        if (*json_lines && r->format == SF_SCORE_CSV) {
                fprintf(stderr,
                        "streamflow replay: %s: holds JSON records; --format csv only sends CSV files\n",
                        r->files[f]);
                sf_csv_close(csv);
                return NULL;
        }
        return csv;
}

/* Sends the rows of files[f] (keeping them when caching). Returns 0, or 1
 * when the file could not be read or a record not sent. */
static int replay_file(replay_t *r, int f, long long limit) {
        int json_lines, failed = 0;
        sf_csv_reader_t *csv = open_input(r, f, &json_lines);
        if (!csv) return 1;
        r->header_pending = r->schema && r->schema->header;
        for (;;) {
                if (!sf_kafka_running() || (limit >= 0 && (long long)r->taken >= limit)) {
                        r->caching = 0; /* the pass is not whole */
                        break;
                }
                const char *text;
                size_t len;
                uint64_t lineno = 0;
                int st = next_record(r, f, csv, json_lines, &text, &len, &lineno);
                if (st == 1) break;
                if (st == 2) {
                        r->bad_lines++;
                        cache_drop(r); /* each pass reports it again */
                        continue;
                }
                if (st == 3 || emit_row(r, f, lineno, text, len)) {
                        failed = 1;
                        break;
                }
                if (r->caching) cache_row(r, f, lineno, text, len);
        }
        sf_csv_close(csv);
        if (!failed) failed = flush_group(r); /* the file's last message */
        return failed;
}

/* Sends every file, once or (loop) until limit or a signal: the first pass
 * from the files, the next ones from memory when the first pass fit.
 * Returns 0, or 1 when a file could not be read or a record not sent. */
static int replay_all(replay_t *r, int nfiles, long long limit, int loop) {
        int failed = 0, cached = 0;
        while (sf_kafka_running() && (limit < 0 || (long long)r->taken < limit) && !failed) {
                uint64_t pass_rows = r->taken;
                if (cached) {
                        for (size_t i = 0; i < r->nrows && !failed; i++) {
                                if (!sf_kafka_running() || (limit >= 0 && (long long)r->taken >= limit))
                                        break;
                                const cached_row_t *row = &r->rows[i];
                                failed = emit_row(r, row->file, row->lineno, r->cache + row->off, row->len);
                        }
                        if (!failed) failed = flush_group(r);
                } else {
                        for (int f = 1; f <= nfiles && sf_kafka_running() && !failed; f++)
                                failed = replay_file(r, f, limit);
                        /* A whole first pass read and kept: the next ones
                         * come from memory. */
                        if (r->caching && !failed && sf_kafka_running())
                                cached = 1;
                        else
                                cache_drop(r);
                        r->caching = 0;
                }
                if (!failed) failed = flush_batch(r);
                if (failed || !loop) break;
                if (r->taken == pass_rows) {
                        fprintf(stderr, "streamflow replay: --loop: the files hold no rows\n");
                        failed = 1;
                        break;
                }
        }
        if (!failed) failed = flush_batch(r);
        return failed;
}

/* The columns of --schema FILE or --model FILE (*schema or *model, the
 * caller destroys them). Returns 0, or -1 (reported). */
static int load_columns(replay_t *r, const char *schema_path, const char *model_path, sf_schema_t **schema,
                        sf_model_t **model) {
        char errstr[1024];
        if (schema_path)
                *schema = sf_schema_load(schema_path, errstr, sizeof(errstr));
        else
                *model = sf_model_load(model_path, errstr, sizeof(errstr));
        if (!*schema && !*model) {
                fprintf(stderr, "streamflow replay: %s\n", errstr);
                return -1;
        }
        r->schema = *schema ? *schema : sf_model_schema(*model);
        if (sf_score_decoder_init(&r->dec, r->schema, NULL, SF_SCORE_CSV) != 0 ||
            !(r->fields = calloc((size_t)r->schema->n_cols + 1, sizeof(*r->fields)))) {
                fprintf(stderr, "streamflow replay: out of memory\n");
                return -1;
        }
        return 0;
}

/* The command line, read by parse_args. */
typedef struct replay_opts {
        sf_kafka_conf_t *kconf;
        const char *topic, *schema_path, *model_path;
        double rate;
        long long limit, per_message;
        int loop, quiet;
        sf_score_format_t format;
        int nfiles; /* argv[1..nfiles] */
} replay_opts_t;

/* Applies one of the command's own options to o. Returns 0, or 2 after a
 * usage error (printed). */
static int parse_option(replay_opts_t *o, int c, const char *arg) {
        switch (c) {
        case 't':
                o->topic = arg;
                break;
        case OPT_RATE:
                return sf_opt_double(&spec, "--rate", arg, 0.001, 1e9, &o->rate) != 0 ? 2 : 0;
        case OPT_LIMIT:
                return sf_opt_long(&spec, "--limit", arg, 0, INT64_MAX, &o->limit) != 0 ? 2 : 0;
        case OPT_LOOP:
                o->loop = 1;
                break;
        case OPT_PER_MESSAGE:
                return sf_opt_long(&spec, "--records-per-message", arg, 1, SF_SCORE_MAX_RECORDS_PER_MESSAGE,
                                   &o->per_message) != 0
                               ? 2
                               : 0;
        case OPT_SCHEMA:
                o->schema_path = arg;
                break;
        case OPT_MODEL:
                o->model_path = arg;
                break;
        case OPT_FORMAT:
                if (sf_score_format_parse(arg, &o->format) != 0) {
                        sf_opt_usage(&spec, "--format: '%s' is not csv, json or auto", arg);
                        return 2;
                }
                break;
        case 'q':
                o->quiet = 1;
                break;
        }
        return 0;
}

/* Checks that the options go together. Returns 0, or SF_OPT_USAGE after a
 * usage error. */
static int check_options(const replay_opts_t *o) {
        if (o->nfiles == 0)
                return sf_opt_usage(&spec,
                                    "no input file (give one or more CSV or JSON-lines files, plain or .gz)");
        if (!*o->topic) return sf_opt_usage(&spec, "-t needs a topic name");
        if ((o->schema_path && o->model_path) ||
            (o->format == SF_SCORE_JSON && !o->schema_path && !o->model_path))
                return sf_opt_usage(&spec, o->schema_path && o->model_path
                                                   ? "give --schema or --model, not both"
                                                   : "--format json needs --schema or --model "
                                                     "to name the columns");
        return 0;
}

/* Reads the command line into o (STREAMFLOW_<OPTION> variables too).
 * Returns -1 when the command goes on, or the exit code (after --help or
 * `-X list`, or an error that was printed). */
static int parse_args(replay_opts_t *o, int argc, char **argv) {
        sf_optparser_t p;
        const char *arg;
        int c, rc;
        sf_opt_init(&p, &spec, argc, argv);
        p.env = 1;
        while ((c = sf_cmd_kafka_next(&p, o->kconf, &arg)) >= 0)
                if ((rc = parse_option(o, c, arg)) != 0) return rc;
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        o->nfiles = p.nops;
        return check_options(o) != 0 ? 2 : -1;
}

/* Checks every file first: a typo in the last one should not surface after
 * the first million records went out. Returns 0, or -1 (reported). */
static int check_files(char **argv, int nfiles) {
        for (int f = 1; f <= nfiles; f++) {
                if (access(argv[f], R_OK) != 0) {
                        fprintf(stderr, "streamflow replay: %s: cannot read the file\n", argv[f]);
                        return -1;
                }
        }
        return 0;
}

/* Creates the producer and the batch buffer in r. Returns 0, or -1
 * (reported). */
static int start_replay(replay_t *r, const replay_opts_t *o, char **argv) {
        char errstr[512];
        sf_kafka_install_signals();
        r->prod = sf_producer_new(o->kconf, NULL, NULL, errstr, sizeof(errstr));
        if (!r->prod) {
                fprintf(stderr, "streamflow replay: %s\n", errstr);
                return -1;
        }
        r->topic = o->topic;
        r->files = argv;
        r->rate = o->rate;
        r->buf = malloc(REPLAY_BATCH_BYTES);
        r->buf_cap = REPLAY_BATCH_BYTES;
        if (!r->buf) {
                fprintf(stderr, "streamflow replay: out of memory\n");
                return -1;
        }
        r->caching = o->loop;
        r->per_message = (int)o->per_message;
        r->progress = !o->quiet && isatty(STDERR_FILENO);
        return 0;
}

/* Replays the files, flushes and prints the totals. Returns the exit code. */
static int run(replay_t *r, const replay_opts_t *o) {
        r->t0 = r->last_progress = sf_now_s();
        int failed = replay_all(r, o->nfiles, o->limit, o->loop);

        uint64_t undelivered = sf_producer_flush(r->prod, 30000);
        double dt = sf_now_s() - r->t0;
        sf_producer_stats_t st = sf_producer_stats(r->prod);
        if (r->progress) progress(r, 1);
        char rows[64] = "";
        if (r->per_message > 1)
                snprintf(rows, sizeof(rows), " (%llu rows, up to %d per record)",
                         (unsigned long long)r->emitted, r->per_message);
        if (!o->quiet)
                fprintf(stderr,
                        "replay: %llu records%s sent to %s, %llu delivered, %llu not delivered, %llu lines "
                        "unreadable, %.2f s, %.0f records/s\n",
                        (unsigned long long)r->sent, rows, o->topic, (unsigned long long)st.delivered,
                        (unsigned long long)undelivered, (unsigned long long)r->bad_lines, dt,
                        dt > 0 ? st.delivered / dt : 0.0);
        return (undelivered || failed || r->bad_lines || sf_producer_fatal(r->prod)) ? 1 : 0;
}

static void replay_free(replay_t *r) {
        free(r->buf);
        free(r->cache);
        free(r->rows);
        free(r->fields);
        free(r->scratch);
        free(r->json);
        free(r->group);
        sf_score_decoder_free(&r->dec);
}

int cmd_replay(int argc, char **argv) {
        replay_opts_t o = {.topic = SF_TOPIC_CONNECTIONS, .limit = -1, .per_message = 1};
        replay_t r = {0};
        sf_schema_t *schema = NULL;
        sf_model_t *model = NULL;
        int rc = 1;

        if (!(o.kconf = sf_kafka_conf_new())) {
                fprintf(stderr, "streamflow replay: out of memory\n");
                return 1;
        }
        if ((rc = parse_args(&o, argc, argv)) >= 0) goto out;
        rc = 1;
        r.format = o.format;
        if ((o.schema_path || o.model_path) &&
            load_columns(&r, o.schema_path, o.model_path, &schema, &model) != 0)
                goto out;
        if (check_files(argv, o.nfiles) != 0 || start_replay(&r, &o, argv) != 0) goto out;
        rc = run(&r, &o);
out:
        replay_free(&r);
        sf_schema_destroy(schema);
        sf_model_destroy(model);
        sf_producer_destroy(r.prod);
        sf_kafka_conf_destroy(o.kconf);
        return rc;
}
