/* streamflow replay: stream NSL-KDD CSV rows (plain or .gz) into a Kafka
 * topic, one record per row, value = the row as it is in the file, key =
 * FILE:LINE, as fast as possible or at --rate records per second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/kafka_opt.h"
#include "cmd/opt.h"
#include "kafka/kafka.h"
#include "util/lines.h"
#include "util/util.h"

enum { OPT_RATE = SF_OPT_LONG, OPT_LIMIT, OPT_LOOP };

static const sf_option_t options[] = {
        {"topic", 't', "TOPIC", "topic to write to (default " SF_TOPIC_CONNECTIONS ")"},
        {"rate", OPT_RATE, "N", "records per second (default: as fast as possible)"},
        {"limit", OPT_LIMIT, "N", "stop after N records (default: every row)"},
        {"loop", OPT_LOOP, NULL, "start the files again at their end (until --limit or Ctrl-C)"},
        {"quiet", 'q', NULL, "no progress line and no totals"},
        {0}};

static const sf_cmd_spec_t spec = {
        "replay",
        "FILE...",
        "Streams NSL-KDD rows (plain or gzip CSV) into a Kafka topic: one record per row, the value\n"
        "being the row as it is in the file and the key FILE:LINE. A progress line is shown on a\n"
        "terminal and the totals at the end; the exit status is 1 if any record was not delivered\n"
        "(or a line could not be read).",
        {options, sf_kafka_options, NULL}};

/* Records go to librdkafka in batches of up to this many (one call, one
 * topic lock, one clock read each); under --rate a batch is sent as soon as
 * the next record is not due yet, so pacing adds no delay. */
#define REPLAY_BATCH 256
/* Bytes of keys and values a batch holds: any one line (SF_KDD_MAX_LINE)
 * and its key always fit. */
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
        char *buf; /* REPLAY_BATCH_BYTES */
        size_t used;
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
static int emit(replay_t *r, int file, uint64_t lineno, const char *line, size_t len) {
        const char *path = r->files[file];
        size_t plen = strlen(path);
        if (r->n == REPLAY_BATCH || r->used + plen + 22 + len > REPLAY_BATCH_BYTES)
                if (flush_batch(r)) return 1;
        if (r->rate > 0) {
                uint64_t i = r->sent + (uint64_t)r->n; /* this record's number */
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
        return 0;
}

/* Sends the rows of files[f] (keeping them when caching). Returns 0, or 1
 * when the file could not be read or a record not sent. */
static int replay_file(replay_t *r, int f, long long limit) {
        char errstr[512];
        sf_lines_t *lr = sf_lines_open(r->files[f], 0, errstr, sizeof(errstr));
        if (!lr) {
                fprintf(stderr, "streamflow replay: %s\n", errstr);
                return 1;
        }
        int failed = 0;
        for (;;) {
                if (!sf_kafka_running() || (limit >= 0 && (long long)(r->sent + (uint64_t)r->n) >= limit)) {
                        r->caching = 0; /* the pass is not whole */
                        break;
                }
                const char *line;
                size_t len;
                uint64_t lineno = 0;
                sf_lines_status_t st = sf_lines_next(lr, &line, &len, &lineno, errstr, sizeof(errstr));
                if (st == SF_LINES_EOF) break;
                if (st == SF_LINES_BAD) {
                        fprintf(stderr, "streamflow replay: %s (line not sent)\n", errstr);
                        r->bad_lines++;
                        cache_drop(r); /* each pass reports it again */
                        continue;
                }
                if (st == SF_LINES_ERROR) {
                        fprintf(stderr, "streamflow replay: %s\n", errstr);
                        failed = 1;
                        break;
                }
                if (r->caching) cache_row(r, f, lineno, line, len);
                if (emit(r, f, lineno, line, len)) {
                        failed = 1;
                        break;
                }
        }
        sf_lines_close(lr);
        return failed;
}

int cmd_replay(int argc, char **argv) {
        sf_optparser_t p;
        const char *arg;
        int c, rc = 1;
        char errstr[512];
        const char *topic = SF_TOPIC_CONNECTIONS;
        double rate = 0;
        long long limit = -1;
        int loop = 0, quiet = 0;
        sf_kafka_conf_t *kconf = sf_kafka_conf_new();
        sf_producer_t *prod = NULL;
        replay_t r = {0};

        if (!kconf) {
                fprintf(stderr, "streamflow replay: out of memory\n");
                return 1;
        }
        sf_opt_init(&p, &spec, argc, argv);
        p.env = 1;
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                if (sf_kafka_is_opt(c)) {
                        int kr = sf_cmd_kafka_opt(&spec, kconf, c, arg);
                        if (kr == SF_OPT_EXIT) {
                                rc = 0;
                                goto out;
                        }
                        if (kr == SF_OPT_USAGE) {
                                rc = 2;
                                goto out;
                        }
                        continue;
                }
                switch (c) {
                case 't':
                        topic = arg;
                        break;
                case OPT_RATE:
                        if (sf_opt_double(&spec, "--rate", arg, 0.001, 1e9, &rate) != 0) {
                                rc = 2;
                                goto out;
                        }
                        break;
                case OPT_LIMIT:
                        if (sf_opt_long(&spec, "--limit", arg, 0, INT64_MAX, &limit) != 0) {
                                rc = 2;
                                goto out;
                        }
                        break;
                case OPT_LOOP:
                        loop = 1;
                        break;
                case 'q':
                        quiet = 1;
                        break;
                }
        }
        if (c == SF_OPT_EXIT) {
                rc = 0;
                goto out;
        }
        if (c == SF_OPT_USAGE) {
                rc = 2;
                goto out;
        }
        if (p.nops == 0) {
                sf_opt_usage(&spec, "no input file (give one or more NSL-KDD CSV files, plain or .gz)");
                rc = 2;
                goto out;
        }
        if (!*topic) {
                sf_opt_usage(&spec, "-t needs a topic name");
                rc = 2;
                goto out;
        }
        int nfiles = p.nops;
        /* Check every file first: a typo in the last one should not surface
         * after the first million records went out. */
        for (int f = 1; f <= nfiles; f++) {
                if (access(argv[f], R_OK) != 0) {
                        fprintf(stderr, "streamflow replay: %s: cannot read the file\n", argv[f]);
                        goto out;
                }
        }

        sf_kafka_install_signals();
        prod = sf_producer_new(kconf, NULL, NULL, errstr, sizeof(errstr));
        if (!prod) {
                fprintf(stderr, "streamflow replay: %s\n", errstr);
                goto out;
        }
        r.topic = topic;
        r.files = argv;
        r.rate = rate;
        r.prod = prod;
        r.buf = malloc(REPLAY_BATCH_BYTES);
        if (!r.buf) {
                fprintf(stderr, "streamflow replay: out of memory\n");
                goto out;
        }
        r.caching = loop;
        r.progress = !quiet && isatty(STDERR_FILENO);
        r.t0 = r.last_progress = sf_now_s();
        int failed = 0, cached = 0;
        while (sf_kafka_running() && (limit < 0 || (long long)r.sent < limit) && !failed) {
                uint64_t pass_sent = r.sent;
                if (cached) {
                        for (size_t i = 0; i < r.nrows && !failed; i++) {
                                if (!sf_kafka_running() ||
                                    (limit >= 0 && (long long)(r.sent + (uint64_t)r.n) >= limit))
                                        break;
                                const cached_row_t *row = &r.rows[i];
                                failed = emit(&r, row->file, row->lineno, r.cache + row->off, row->len);
                        }
                } else {
                        for (int f = 1; f <= nfiles && sf_kafka_running() && !failed; f++)
                                failed = replay_file(&r, f, limit);
                        /* A whole first pass read and kept: the next ones
                         * come from memory. */
                        if (r.caching && !failed && sf_kafka_running())
                                cached = 1;
                        else
                                cache_drop(&r);
                        r.caching = 0;
                }
                if (!failed) failed = flush_batch(&r);
                if (failed || !loop) break;
                if (r.sent == pass_sent) {
                        fprintf(stderr, "streamflow replay: --loop: the files hold no rows\n");
                        failed = 1;
                        break;
                }
        }
        if (!failed) failed = flush_batch(&r);

        uint64_t undelivered = sf_producer_flush(prod, 30000);
        double dt = sf_now_s() - r.t0;
        sf_producer_stats_t st = sf_producer_stats(prod);
        if (r.progress) progress(&r, 1);
        if (!quiet)
                fprintf(stderr,
                        "replay: %llu records sent to %s, %llu delivered, %llu not delivered, %llu lines "
                        "unreadable, %.2f s, %.0f records/s\n",
                        (unsigned long long)r.sent, topic, (unsigned long long)st.delivered,
                        (unsigned long long)undelivered, (unsigned long long)r.bad_lines, dt,
                        dt > 0 ? st.delivered / dt : 0.0);
        rc = (undelivered || failed || r.bad_lines || sf_producer_fatal(prod)) ? 1 : 0;
out:
        free(r.buf);
        free(r.cache);
        free(r.rows);
        sf_producer_destroy(prod);
        sf_kafka_conf_destroy(kconf);
        return rc;
}
