/* The Kafka floor of the streaming benchmark: what `streamflow score` would
 * reach if scoring cost nothing. It consumes records with the scorer's own
 * client settings (sf_scorer_conf_defaults) and, for each, produces one
 * message of a prediction's size with the input's key and a model_id
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

/* A prediction as the scorer writes it, with a label: its size is what
 * matters here. */
static const char value[] =
        "{\"class\":\"DoS\",\"class_index\":1,\"confidence\":0.998812,\"probabilities\":{\"normal\":0.001050,"
        "\"DoS\":0.998812,\"Probe\":0.000120,\"R2L\":0.000016,\"U2R\":0.000002},\"topic\":\"connections\","
        "\"partition\":7,\"offset\":123456,\"label\":\"DoS\",\"label_index\":1,\"attack\":\"neptune\"}";

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
                if (sf_producer_send(p, output, -1, m->key, m->key_len, value, sizeof(value) - 1, h, opaque,
                                     err, sizeof(err)) != 0) {
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
