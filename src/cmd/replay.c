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
#include "data/lines.h"
#include "kafka/kafka.h"
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

typedef struct replay {
        uint64_t sent, bad_lines;
        double t0, last_progress;
        int progress; /* stderr is a terminal */
} replay_t;

static void progress(replay_t *r, sf_producer_t *prod, int final) {
        double now = sf_now_s();
        if (!final && now - r->last_progress < 0.5) return;
        r->last_progress = now;
        double dt = now - r->t0;
        sf_producer_stats_t st = sf_producer_stats(prod);
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
        sf_lines_t *lr = NULL;
        char *key = NULL;
        size_t key_cap = 0;
        replay_t r = {0};

        if (!kconf) {
                fprintf(stderr, "streamflow replay: out of memory\n");
                return 1;
        }
        sf_opt_init(&p, &spec, argc, argv);
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
        r.progress = !quiet && isatty(STDERR_FILENO);
        r.t0 = r.last_progress = sf_now_s();
        int failed_read = 0;
        while (sf_kafka_running() && (limit < 0 || (long long)r.sent < limit)) {
                uint64_t pass_sent = r.sent;
                for (int f = 1; f <= nfiles && sf_kafka_running(); f++) {
                        lr = sf_lines_open(argv[f], 0, errstr, sizeof(errstr));
                        if (!lr) {
                                fprintf(stderr, "streamflow replay: %s\n", errstr);
                                failed_read = 1;
                                break;
                        }
                        size_t plen = strlen(argv[f]);
                        if (key_cap < plen + 24) {
                                free(key);
                                key_cap = plen + 24;
                                key = malloc(key_cap);
                                if (!key) {
                                        fprintf(stderr, "streamflow replay: out of memory\n");
                                        failed_read = 1;
                                        break;
                                }
                        }
                        for (;;) {
                                if (!sf_kafka_running() || (limit >= 0 && (long long)r.sent >= limit)) break;
                                const char *line;
                                size_t len;
                                uint64_t lineno = 0;
                                sf_lines_status_t st =
                                        sf_lines_next(lr, &line, &len, &lineno, errstr, sizeof(errstr));
                                if (st == SF_LINES_EOF) break;
                                if (st == SF_LINES_BAD) {
                                        fprintf(stderr, "streamflow replay: %s (line not sent)\n", errstr);
                                        r.bad_lines++;
                                        continue;
                                }
                                if (st == SF_LINES_ERROR) {
                                        fprintf(stderr, "streamflow replay: %s\n", errstr);
                                        failed_read = 1;
                                        break;
                                }
                                if (rate > 0) pace(prod, r.t0, r.sent, rate);
                                int klen = snprintf(key, key_cap, "%s:%llu", argv[f],
                                                    (unsigned long long)lineno);
                                if (sf_producer_send(prod, topic, -1, key, (size_t)klen, line, len, NULL,
                                                     NULL, errstr, sizeof(errstr)) != 0) {
                                        fprintf(stderr, "streamflow replay: %s:%llu: %s\n", argv[f],
                                                (unsigned long long)lineno, errstr);
                                        failed_read = 1;
                                        break;
                                }
                                r.sent++;
                                if ((r.sent & 1023) == 0) {
                                        sf_producer_poll(prod, 0);
                                        if (r.progress) progress(&r, prod, 0);
                                }
                        }
                        sf_lines_close(lr);
                        lr = NULL;
                        if (failed_read) break;
                }
                if (failed_read || !loop) break;
                if (r.sent == pass_sent) {
                        fprintf(stderr, "streamflow replay: --loop: the files hold no rows\n");
                        failed_read = 1;
                        break;
                }
        }

        uint64_t undelivered = sf_producer_flush(prod, 30000);
        double dt = sf_now_s() - r.t0;
        sf_producer_stats_t st = sf_producer_stats(prod);
        if (r.progress) progress(&r, prod, 1);
        if (!quiet)
                fprintf(stderr,
                        "replay: %llu records sent to %s, %llu delivered, %llu not delivered, %llu lines "
                        "unreadable, %.2f s, %.0f records/s\n",
                        (unsigned long long)r.sent, topic, (unsigned long long)st.delivered,
                        (unsigned long long)undelivered, (unsigned long long)r.bad_lines, dt,
                        dt > 0 ? st.delivered / dt : 0.0);
        rc = (undelivered || failed_read || r.bad_lines || sf_producer_fatal(prod)) ? 1 : 0;
out:
        sf_lines_close(lr);
        free(key);
        sf_producer_destroy(prod);
        sf_kafka_conf_destroy(kconf);
        return rc;
}
