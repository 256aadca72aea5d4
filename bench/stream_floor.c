/* The Kafka floor of the streaming benchmark: what `streamflow score` would
 * reach if scoring cost nothing. It consumes records with the scorer's own
 * client settings (sf_scorer_conf_defaults) and, for each, produces one
 * message of a prediction's size and kind with the input's key and a model_id
 * header, storing each input offset once its output is acknowledged (as the
 * scorer does). No parsing, no model, no JSON: what is left is librdkafka,
 * the broker and the kernel, which any scorer on this stack pays, in C or
 * in Python.
 *
 *   stream_floor BROKERS TOPIC OUTPUT GROUP N END_FILE
 *
 * Stops after N records; then writes {"time_ms":T,...} to END_FILE, T being
 * the wall clock (ms) when the last output was acknowledged, the line
 * bench/bench_stream.sh reads from the scorer's --stats-json. Run by
 * bench/bench_stream.sh, not by bench/run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kafka.h"
#include "score/offsets.h"
#include "score/scorer.h"
#include "util/util.h"

/* Predictions as the scorer writes them, with a label: their size and how
 * well they compress is what matters here (the outputs are compressed,
 * compression.type=lz4 in sf_scorer_conf_defaults). One text sent again and
 * again would compress to almost nothing and make the floor too easy to
 * reach; POOL texts with their own probabilities and offsets, made before
 * the clock starts and sent in turn, compress as the scorer's do (POOL *
 * ~280 bytes is far more than LZ4's 64 kB window). */
#define POOL 4096
static char pool[POOL][384];
static int pool_len[POOL];

static void make_pool(void) {
        static const char *const classes[] = {"normal", "DoS", "Probe", "R2L", "U2R"};
        uint64_t x = 0x9e3779b97f4a7c15ULL;
        for (int i = 0; i < POOL; i++) {
                double p[5], sum = 0;
                int best = 0;
                for (int k = 0; k < 5; k++) {
                        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
                        double u = (double)(x >> 11) / 9007199254740992.0;
                        p[k] = u * u * u * u;
                        sum += p[k];
                }
                for (int k = 0; k < 5; k++) {
                        p[k] /= sum;
                        if (p[k] > p[best]) best = k;
                }
                pool_len[i] = snprintf(
                        pool[i], sizeof(pool[i]),
                        "{\"class\":\"%s\",\"class_index\":%d,\"confidence\":%.6f,\"probabilities\":{"
                        "\"normal\":%.6f,"
                        "\"DoS\":%.6f,\"Probe\":%.6f,\"R2L\":%.6f,\"U2R\":%.6f},\"topic\":\"connections\","
                        "\"partition\":%d,\"offset\":%d,\"label\":\"%s\",\"label_index\":%d,\"label_value\":"
                        "\"%s\"}",
                        classes[best], best, p[best], p[0], p[1], p[2], p[3], p[4], i % 12, 1000 + i * 7,
                        classes[best], best, best == 1 ? "neptune" : classes[best]);
        }
}

typedef struct {
        sf_score_offsets_t *offsets;
        uint64_t delivered, failed;
} floor_t;

static void on_delivery(void *ctx, const rd_kafka_message_t *msg, void *opaque) {
        floor_t *f = ctx;
        if (msg->err) {
                f->failed++;
                return;
        }
        f->delivered++;
        uint64_t v = (uint64_t)(uintptr_t)opaque; /* partition << 48 | offset, as the scorer packs it */
        sf_score_offsets_ack(f->offsets, (int32_t)(v >> 48), (int64_t)(v & ((1ull << 48) - 1)));
}

static void store(floor_t *f, sf_consumer_t *c, const char *topic) {
        for (int32_t p = 0; p < sf_score_offsets_npartitions(f->offsets); p++) {
                int64_t pos = sf_score_offsets_commit_pos(f->offsets, p);
                char err[256];
                if (pos >= 0 && sf_consumer_store_offset(c, topic, p, pos, err, sizeof(err)) == 0)
                        sf_score_offsets_committed(f->offsets, p, pos);
        }
}

int main(int argc, char **argv) {
        if (argc != 7 || atol(argv[5]) <= 0) {
                fprintf(stderr, "usage: stream_floor BROKERS TOPIC OUTPUT GROUP N END_FILE\n");
                return 2;
        }
        const char *topic = argv[2], *output = argv[3], *group = argv[4], *end_path = argv[6];
        long n = atol(argv[5]);
        char err[512];
        int rc = 1;
        floor_t f = {0};
        sf_consumer_t *c = NULL;
        sf_producer_t *p = NULL;
        sf_kafka_conf_t *conf = sf_kafka_conf_new();
        f.offsets = sf_score_offsets_new();
        if (!conf || !f.offsets) goto out;
        make_pool();
        sf_kafka_conf_set_brokers(conf, argv[1]);
        if (sf_scorer_conf_defaults(conf, false, err, sizeof(err)) != 0) goto fail;
        sf_kafka_install_signals();
        sf_consumer_opts_t copts = {0};
        copts.group = group;
        copts.start = SF_KAFKA_START_BEGINNING;
        const char *topics[] = {topic};
        if (!(c = sf_consumer_new(conf, topics, 1, &copts, err, sizeof(err)))) goto fail;
        if (!(p = sf_producer_new(conf, on_delivery, &f, err, sizeof(err)))) goto fail;

        long got = 0;
        while (got < n && sf_kafka_running()) {
                /* as the scorer polls: what is fetched without a wait first */
                rd_kafka_message_t *m = sf_consumer_poll(c, 0);
                if (!m) m = sf_consumer_poll(c, 100);
                if (!m) {
                        store(&f, c, topic);
                        continue;
                }
                rd_kafka_headers_t *h = rd_kafka_headers_new(1);
                if (!h || rd_kafka_header_add(h, "model_id", -1, "0123456789abcdef", -1) ||
                    sf_score_offsets_add(f.offsets, m->partition, m->offset) != 0) {
                        snprintf(err, sizeof(err), "out of memory");
                        rd_kafka_headers_destroy(h);
                        rd_kafka_message_destroy(m);
                        goto fail;
                }
                void *opaque = (void *)(uintptr_t)(((uint64_t)m->partition << 48) | (uint64_t)m->offset);
                int k = (int)(got % POOL);
                if (sf_producer_send(p, output, -1, m->key, m->key_len, pool[k], (size_t)pool_len[k], h,
                                     opaque, err, sizeof(err)) != 0) {
                        rd_kafka_headers_destroy(h);
                        rd_kafka_message_destroy(m);
                        goto fail;
                }
                rd_kafka_message_destroy(m);
                if (++got % 1024 == 0) {
                        sf_producer_poll(p, 0);
                        store(&f, c, topic);
                }
        }
        uint64_t undelivered = sf_producer_flush(p, 30000);
        int64_t end_ms = sf_wall_ms();
        store(&f, c, topic);
        FILE *fp = fopen(end_path, "w");
        if (fp) {
                fprintf(fp, "{\"time_ms\":%lld,\"records\":%ld,\"delivered\":%llu}\n", (long long)end_ms, got,
                        (unsigned long long)f.delivered);
                fclose(fp);
        }
        if (!fp || undelivered || f.failed || got < n) {
                snprintf(err, sizeof(err), "%ld records, %llu outputs not delivered%s", got,
                         (unsigned long long)(undelivered + f.failed),
                         fp ? "" : ", cannot write the end file");
                goto fail;
        }
        rc = 0;
        goto out;
fail:
        fprintf(stderr, "stream_floor: %s\n", err);
out:
        if (c) {
                char ignored[256];
                sf_consumer_close(c, ignored, sizeof(ignored));
        }
        sf_producer_destroy(p);
        sf_score_offsets_destroy(f.offsets);
        sf_kafka_conf_destroy(conf);
        return rc;
}
