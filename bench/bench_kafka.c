/* Throughput of the Kafka layer against the in-memory development cluster
 * (the one `streamflow broker` runs), in this process: produce N messages
 * of 200 bytes (an NSL-KDD row is about that size) with the default
 * producer settings (idempotent, acks=all, linger.ms=5), then read them
 * back with a group consumer that stores every offset.
 *
 *   bench_kafka [N]      (default 50000: 10 MB, under the 5 MiB per partition
 *                        the development cluster keeps on 3 partitions) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kafka.h"
#include "util/util.h"

static double *lat; /* per message: seconds from send to acknowledgement */
static double *sent_at;

static void on_dr(void *ctx, const rd_kafka_message_t *msg, void *opaque) {
        size_t i = (size_t)(intptr_t)opaque;
        if (!msg->err) lat[i] = sf_now_s() - sent_at[i];
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
        long n = argc > 1 ? atol(argv[1]) : 50000;
        char err[512], key[32], value[200];
        int rc = 1;
        sf_kafka_mock_t *m = NULL;
        sf_kafka_conf_t *conf = NULL;
        sf_producer_t *p = NULL;
        if (n <= 0) {
                fprintf(stderr, "usage: bench_kafka [N]\n");
                return 2;
        }
        lat = calloc((size_t)n, sizeof(*lat));
        sent_at = calloc((size_t)n, sizeof(*sent_at));
        if (!lat || !sent_at) goto out;
        m = sf_kafka_mock_new(1, 3, err, sizeof(err));
        if (!m || sf_kafka_mock_topic(m, "bench", 3, err, sizeof(err)) < 0) {
                fprintf(stderr, "bench_kafka: %s\n", err);
                goto out;
        }
        conf = sf_kafka_conf_new();
        if (!conf) goto out;
        sf_kafka_conf_set_brokers(conf, sf_kafka_mock_bootstraps(m));
        p = sf_producer_new(conf, on_dr, NULL, err, sizeof(err));
        if (!p) {
                fprintf(stderr, "bench_kafka: %s\n", err);
                goto out;
        }
        memset(value, 'x', sizeof(value));
        double t0 = sf_now_s();
        for (long i = 0; i < n; i++) {
                int kl = snprintf(key, sizeof(key), "k%ld", i);
                sent_at[i] = sf_now_s();
                if (sf_producer_send(p, "bench", -1, key, (size_t)kl, value, sizeof(value), NULL,
                                     (void *)(intptr_t)i, err, sizeof(err)) < 0) {
                        fprintf(stderr, "bench_kafka: %s\n", err);
                        goto out;
                }
        }
        uint64_t undelivered = sf_producer_flush(p, 60000);
        double tp = sf_now_s() - t0;
        if (undelivered) {
                fprintf(stderr, "bench_kafka: %llu messages not delivered\n",
                        (unsigned long long)undelivered);
                goto out;
        }
        qsort(lat, (size_t)n, sizeof(*lat), cmp);
        printf("produce  %ld msgs x %zu B: %.2f s, %.0f msg/s, %.1f MB/s; ack latency p50 %.1f ms, p99 %.1f "
               "ms\n",
               n, sizeof(value), tp, n / tp, n * (double)sizeof(value) / tp / 1e6, lat[n / 2] * 1e3,
               lat[(size_t)(n * 0.99)] * 1e3);
        sf_producer_destroy(p);
        p = NULL;

        const char *topics[] = {"bench"};
        sf_consumer_opts_t opts = {.group = "bench", .exit_at_end = true};
        sf_consumer_t *c = sf_consumer_new(conf, topics, 1, &opts, err, sizeof(err));
        if (!c) {
                fprintf(stderr, "bench_kafka: %s\n", err);
                goto out;
        }
        long got = 0;
        double t1 = 0;
        while (!sf_consumer_at_end(c) && got < n) {
                rd_kafka_message_t *msg = sf_consumer_poll(c, 100);
                if (!msg) continue;
                if (got == 0) t1 = sf_now_s(); /* after the group join (3 s in the mock) */
                got++;
                sf_consumer_store(c, msg, err, sizeof(err));
                rd_kafka_message_destroy(msg);
        }
        double tc = sf_now_s() - t1;
        if (sf_consumer_close(c, err, sizeof(err)) < 0) fprintf(stderr, "bench_kafka: %s\n", err);
        printf("consume  %ld msgs (group, offsets stored and committed): %.2f s, %.0f msg/s\n", got, tc,
               got / tc);
        rc = got == n ? 0 : 1;
out:
        sf_producer_destroy(p);
        sf_kafka_conf_destroy(conf);
        sf_kafka_mock_destroy(m);
        free(lat);
        free(sent_at);
        return rc;
}
