/* The Kafka layer against an in-process mock cluster: options, produce and
 * consume, group resume, faults (broker down, leader move, disconnects,
 * permanent errors), out-of-range offsets, an unreachable broker. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka/kafka.h"
#include "test.h"
#include "util/util.h"

/* Everything the layer reported, for checks on what the user is told. */
static char logbuf[65536];
static size_t loglen;

static void capture(void *ctx, int level, const char *msg) {
        int n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "%d %s\n", level, msg);
        if (n > 0) loglen += (size_t)n < sizeof(logbuf) - loglen ? (size_t)n : sizeof(logbuf) - loglen - 1;
}

static void log_reset(void) {
        loglen = 0;
        logbuf[0] = '\0';
}

static sf_kafka_conf_t *conf_for(sf_kafka_mock_t *m) {
        sf_kafka_conf_t *conf = sf_kafka_conf_new();
        if (!conf) return NULL;
        sf_kafka_conf_set_brokers(conf, sf_kafka_mock_bootstraps(m));
        sf_kafka_conf_set_log(conf, capture, NULL);
        /* A group left by its last member takes a new one after
         * session.timeout.ms - 1 s in the mock: keep it short here. */
        char e[256];
        if (sf_kafka_conf_set(conf, "session.timeout.ms", "3000", e, sizeof(e)) < 0 ||
            sf_kafka_conf_set(conf, "heartbeat.interval.ms", "1000", e, sizeof(e)) < 0)
                printf("# %s\n", e);
        /* SF_TEST_KAFKA_DEBUG=cgrp,fetch turns on librdkafka's debug log. */
        const char *dbg = getenv("SF_TEST_KAFKA_DEBUG");
        char err[256];
        if (dbg) {
                sf_kafka_conf_set_log(conf, NULL, NULL);
                if (sf_kafka_conf_set(conf, "debug", dbg, err, sizeof(err)) < 0) printf("# %s\n", err);
        }
        return conf;
}

/* ------------------------------------------------------------ options */

static void test_options(void) {
        char err[512];
        unsetenv(SF_KAFKA_BROKERS_ENV);
        sf_kafka_conf_t *conf = sf_kafka_conf_new();
        CHECK(conf != NULL);
        if (!conf) return;
        CHECK_STR(sf_kafka_conf_brokers(conf), SF_KAFKA_DEFAULT_BROKERS);
        CHECK(sf_kafka_is_opt('b') && sf_kafka_is_opt('X') && sf_kafka_is_opt('F') && !sf_kafka_is_opt('t'));

        CHECK_INT(sf_kafka_conf_opt(conf, 'b', "h1:1,h2:2", stdout, err, sizeof(err)), SF_KAFKA_OPT_OK);
        CHECK_STR(sf_kafka_conf_brokers(conf), "h1:1,h2:2");
        CHECK_INT(sf_kafka_conf_opt(conf, 'X', "bootstrap.servers=h3:3", stdout, err, sizeof(err)),
                  SF_KAFKA_OPT_OK);
        CHECK_STR(sf_kafka_conf_brokers(conf), "h3:3");

        /* Valid: a global property, a topic-level one, a value with '='. */
        CHECK_INT(sf_kafka_conf_opt(conf, 'X', "socket.timeout.ms=1234", stdout, err, sizeof(err)),
                  SF_KAFKA_OPT_OK);
        CHECK_INT(sf_kafka_conf_opt(conf, 'X', "acks=1", stdout, err, sizeof(err)), SF_KAFKA_OPT_OK);
        CHECK_INT(sf_kafka_conf_opt(conf, 'X', "sasl.username=a=b", stdout, err, sizeof(err)),
                  SF_KAFKA_OPT_OK);

        /* Unknown property: a usage error naming it. */
        CHECK_INT(sf_kafka_conf_opt(conf, 'X', "no.such.property=1", stdout, err, sizeof(err)),
                  SF_KAFKA_OPT_USAGE);
        CHECK(strstr(err, "'no.such.property'") != NULL);
        CHECK_INT(sf_kafka_conf_opt(conf, 'X', "acks", stdout, err, sizeof(err)), SF_KAFKA_OPT_USAGE);
        CHECK(strstr(err, "PROP=VALUE") != NULL);
        CHECK_INT(sf_kafka_conf_opt(conf, 'X', "socket.timeout.ms=soon", stdout, err, sizeof(err)),
                  SF_KAFKA_OPT_USAGE);
        CHECK(strstr(err, "socket.timeout.ms") != NULL);

        /* A secret's value never appears, even when it is rejected. */
        CHECK_INT(sf_kafka_conf_opt(conf, 'X', "ssl.key.password=hunter2", stdout, err, sizeof(err)),
                  SF_KAFKA_OPT_OK);
        CHECK_INT(sf_kafka_conf_opt(conf, 'X', "sasl.mechanisms=hunter2", stdout, err, sizeof(err)),
                  SF_KAFKA_OPT_OK);
        CHECK_INT(sf_kafka_conf_opt(conf, 'X', "ssl.key.location.bad=hunter2", stdout, err, sizeof(err)),
                  SF_KAFKA_OPT_USAGE);
        CHECK(strstr(err, "hunter2") == NULL);
        /* ... nor when the '=' is missing or the name is mistyped. */
        static const char *const leaks[] = {
                "sasl.password:hunter2",
                "sasl.password hunter2",
                "hunter2",
                "sasl.password:hunter2=x",
                "sasl.passwordhunter2=x",
                "ssl.key.password",
                "sasl.oauthbearer.client.secret:hunter2",
        };
        for (size_t i = 0; i < SF_ARRAY_SIZE(leaks); i++) {
                err[0] = '\0';
                CHECK_INT(sf_kafka_conf_opt(conf, 'X', leaks[i], stdout, err, sizeof(err)),
                          SF_KAFKA_OPT_USAGE);
                CHECK(err[0] != '\0');
                CHECK_MSG(strstr(err, "hunter2") == NULL, "-X %s: %s", leaks[i], err);
        }
        CHECK_INT(sf_kafka_conf_opt(conf, 'X', "sasl.password:hunter2", stdout, err, sizeof(err)),
                  SF_KAFKA_OPT_USAGE);
        CHECK_MSG(strstr(err, "sasl.password") && strstr(err, "PROP=VALUE"), "%s", err);
        CHECK(sf_kafka_prop_is_secret("sasl.password") && sf_kafka_prop_is_secret("ssl.key.password") &&
              sf_kafka_prop_is_secret("sasl.oauthbearer.client.secret") && !sf_kafka_prop_is_secret("acks"));

        /* -F: comments, blanks, spaces around '=', and a bad line named by file:line. */
        char path[] = "/tmp/sf-test-kafka-XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        if (fd >= 0) {
                const char *text =
                        "# client settings\n\n  client.id = reporter \nlinger.ms=7\nbogus.prop=1\n";
                CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
                close(fd);
                CHECK_INT(sf_kafka_conf_opt(conf, 'F', path, stdout, err, sizeof(err)), SF_KAFKA_OPT_USAGE);
                char want[600];
                snprintf(want, sizeof(want), "%s:5:", path);
                CHECK_MSG(strstr(err, want) && strstr(err, "bogus.prop"), "err = %s", err);
                unlink(path);
        }
        CHECK_INT(sf_kafka_conf_opt(conf, 'F', "/nonexistent/client.properties", stdout, err, sizeof(err)),
                  SF_KAFKA_OPT_USAGE);
        CHECK(strstr(err, "/nonexistent/client.properties") && strstr(err, "No such file"));

        /* A line without '=' is named by file:line, never quoted. */
        char path2[] = "/tmp/sf-test-kafka-XXXXXX";
        fd = mkstemp(path2);
        CHECK(fd >= 0);
        if (fd >= 0) {
                const char *text = "linger.ms=7\nsasl.password:Hunter2Secret\n";
                CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
                close(fd);
                CHECK_INT(sf_kafka_conf_opt(conf, 'F', path2, stdout, err, sizeof(err)), SF_KAFKA_OPT_USAGE);
                char want[600];
                snprintf(want, sizeof(want), "%s:2:", path2);
                CHECK_MSG(strstr(err, want) && !strstr(err, "Hunter2Secret"), "err = %s", err);
                unlink(path2);
        }
        /* A directory is a read error, not an empty file. */
        CHECK_INT(sf_kafka_conf_opt(conf, 'F', "/tmp", stdout, err, sizeof(err)), SF_KAFKA_OPT_USAGE);
        CHECK_MSG(strstr(err, "/tmp") && strstr(err, "Is a directory"), "err = %s", err);

        /* Lines are capped: 64 KiB is fine, one more byte is not. */
        for (int extra = 0; extra <= 1; extra++) {
                char lpath[] = "/tmp/sf-test-kafka-XXXXXX";
                fd = mkstemp(lpath);
                CHECK(fd >= 0);
                if (fd < 0) break;
                size_t n = SF_KAFKA_MAX_LINE + (size_t)extra;
                char *text = malloc(n + 16);
                if (text) {
                        memcpy(text, "acks=1\n", 7);
                        text[7] = '#';
                        memset(text + 8, 'x', n - 1);
                        memcpy(text + 7 + n, "\nacks=1\n", 8);
                        CHECK(write(fd, text, n + 15) == (ssize_t)(n + 15));
                        free(text);
                }
                close(fd);
                sf_kafka_opt_result_t r = sf_kafka_conf_opt(conf, 'F', lpath, stdout, err, sizeof(err));
                if (extra) {
                        CHECK_INT(r, SF_KAFKA_OPT_USAGE);
                        char want[600];
                        snprintf(want, sizeof(want), "%s:2: line longer than %d bytes", lpath,
                                 SF_KAFKA_MAX_LINE);
                        CHECK_MSG(strstr(err, want) != NULL, "err = %s", err);
                } else {
                        CHECK_MSG(r == SF_KAFKA_OPT_OK, "err = %s", err);
                }
                unlink(lpath);
        }
        /* An endless line (/dev/zero) stops at the cap. */
        CHECK_INT(sf_kafka_conf_opt(conf, 'F', "/dev/zero", stdout, err, sizeof(err)), SF_KAFKA_OPT_USAGE);
        CHECK_MSG(strstr(err, "/dev/zero:1: line longer than") != NULL, "err = %s", err);

        /* A NUL byte: binary data, named by file:line. */
        char npath[] = "/tmp/sf-test-kafka-XXXXXX";
        fd = mkstemp(npath);
        CHECK(fd >= 0);
        if (fd >= 0) {
                CHECK(write(fd, "acks=1\nlinger.ms=1\0\n", 21) == 21);
                close(fd);
                CHECK_INT(sf_kafka_conf_opt(conf, 'F', npath, stdout, err, sizeof(err)), SF_KAFKA_OPT_USAGE);
                char want[600];
                snprintf(want, sizeof(want), "%s:2: a NUL byte", npath);
                CHECK_MSG(strstr(err, want) != NULL, "err = %s", err);
                unlink(npath);
        }

        /* -X list prints librdkafka's table to the stream given. */
        FILE *out = tmpfile();
        CHECK(out != NULL);
        if (out) {
                CHECK_INT(sf_kafka_conf_opt(conf, 'X', "list", out, err, sizeof(err)), SF_KAFKA_OPT_LISTED);
                CHECK(ftell(out) > 1000);
                fclose(out);
        }
        sf_kafka_conf_destroy(conf);

        setenv(SF_KAFKA_BROKERS_ENV, "envhost:9", 1);
        conf = sf_kafka_conf_new();
        CHECK(conf && strcmp(sf_kafka_conf_brokers(conf), "envhost:9") == 0);
        sf_kafka_conf_destroy(conf);
        unsetenv(SF_KAFKA_BROKERS_ENV);
        sf_kafka_conf_destroy(NULL);
}

/* ------------------------------------------------------ produce/consume */

typedef struct {
        int *acked; /* per sequence number: delivery reports with no error */
        int nfail;
} dr_state_t;

static void on_dr(void *ctx, const rd_kafka_message_t *msg, void *opaque) {
        dr_state_t *st = ctx;
        intptr_t seq = (intptr_t)opaque;
        if (msg->err)
                st->nfail++;
        else
                st->acked[seq]++;
}

/* Produces n keyed messages "k<seq>" to topic; calls fault(i) before message i. */
static int produce_n(sf_kafka_conf_t *conf, const char *topic, int n, dr_state_t *st,
                     void (*fault)(sf_kafka_mock_t *, sf_producer_t *, int), sf_kafka_mock_t *m,
                     uint64_t *undelivered) {
        char err[512], key[32], value[64];
        sf_producer_t *p = sf_producer_new(conf, on_dr, st, err, sizeof(err));
        CHECK_MSG(p != NULL, "%s", err);
        if (!p) return -1;
        for (int i = 0; i < n; i++) {
                if (fault) fault(m, p, i);
                int kl = snprintf(key, sizeof(key), "k%06d", i);
                int vl = snprintf(value, sizeof(value), "value of message %d", i);
                if (sf_producer_send(p, topic, -1, key, (size_t)kl, value, (size_t)vl, NULL,
                                     (void *)(intptr_t)i, err, sizeof(err)) < 0) {
                        CHECK_MSG(0, "send %d: %s", i, err);
                        break;
                }
                if (i % 50 == 0) sf_producer_poll(p, 1);
        }
        *undelivered = sf_producer_flush(p, 30000);
        sf_producer_stats_t s = sf_producer_stats(p);
        CHECK_INT(s.sent, n);
        sf_producer_destroy(p);
        return 0;
}

/* Reads topic from the beginning to its end; counts[seq] += 1 per message. */
static int consume_all(sf_kafka_conf_t *conf, const char *topic, const char *group, int *counts, int n,
                       int max) {
        char err[512];
        const char *topics[] = {topic};
        sf_consumer_opts_t opts = {.group = group, .exit_at_end = true};
        sf_consumer_t *c = sf_consumer_new(conf, topics, 1, &opts, err, sizeof(err));
        CHECK_MSG(c != NULL, "%s", err);
        if (!c) return -1;
        int got = 0;
        int64_t deadline = sf_now_ns() + 20LL * 1000000000;
        while (sf_now_ns() < deadline && !sf_consumer_at_end(c) && (max <= 0 || got < max)) {
                rd_kafka_message_t *msg = sf_consumer_poll(c, 100);
                if (!msg) continue;
                int seq = -1;
                if (msg->key_len > 1 && msg->key_len < 20) {
                        char k[24];
                        memcpy(k, msg->key, msg->key_len);
                        k[msg->key_len] = '\0';
                        seq = atoi(k + 1);
                }
                CHECK(seq >= 0 && seq < n);
                if (seq >= 0 && seq < n) counts[seq]++;
                got++;
                CHECK(sf_consumer_store(c, msg, err, sizeof(err)) == 0);
                rd_kafka_message_destroy(msg);
        }
        CHECK_MSG(sf_consumer_close(c, err, sizeof(err)) == 0, "%s", err);
        return got;
}

/* Exactly once: every sequence acknowledged once and read once. */
static void check_exactly_once(const char *what, int n, dr_state_t *st, int *counts) {
        int lost = 0, dup = 0, unacked = 0;
        for (int i = 0; i < n; i++) {
                if (st->acked[i] != 1) unacked++;
                if (counts[i] == 0) lost++;
                if (counts[i] > 1) dup++;
        }
        CHECK_MSG(unacked == 0 && lost == 0 && dup == 0,
                  "%s: %d not acknowledged once, %d lost, %d duplicated", what, unacked, lost, dup);
}

/* One 3-broker cluster serves every fault case (each on its own topic):
 * starting and stopping a cluster costs about a second each. */
static sf_kafka_mock_t *shared;

static sf_kafka_mock_t *shared_mock(void) {
        char err[512];
        if (!shared) {
                shared = sf_kafka_mock_new(3, 3, err, sizeof(err));
                CHECK_MSG(shared != NULL, "%s", err);
        }
        return shared;
}

static void run_fault_case(const char *topic, int n, void (*fault)(sf_kafka_mock_t *, sf_producer_t *, int)) {
        char err[512];
        sf_kafka_mock_t *m = shared_mock();
        if (!m) return;
        CHECK(sf_kafka_mock_topic(m, topic, 3, err, sizeof(err)) == 0);
        sf_kafka_conf_t *conf = conf_for(m);
        if (strcmp(topic, "slow") == 0)
                CHECK(sf_kafka_conf_set(conf, "request.timeout.ms", "400", err, sizeof(err)) == 0);
        dr_state_t st = {calloc((size_t)n, sizeof(int)), 0};
        int *counts = calloc((size_t)n, sizeof(int));
        uint64_t undelivered = 99;
        log_reset();
        if (st.acked && counts && produce_n(conf, topic, n, &st, fault, m, &undelivered) == 0) {
                CHECK_INT(undelivered, 0);
                CHECK_INT(st.nfail, 0);
                int got = consume_all(conf, topic, NULL, counts, n, 0);
                CHECK_INT(got, n);
                check_exactly_once(topic, n, &st, counts);
        }
        free(st.acked);
        free(counts);
        sf_kafka_conf_destroy(conf);
}

static void test_roundtrip(void) {
        run_fault_case("plain", 3000, NULL);
}

/* Before a connection is cut: every message sent so far acknowledged.
 * The mock checks the sequence numbers of transactional producers only, so
 * a produce request it wrote whose reply the cut lost would be written
 * twice when retried, and one cut off before a later one succeeds would be
 * taken as written by librdkafka and never be (see README, streamflow
 * broker's limits): exactly-once cannot hold across a cut with requests
 * in flight here, where a real cluster keeps it. */
static void settle(sf_producer_t *p) {
        CHECK_INT(sf_producer_flush(p, 30000), 0);
}

/* Broker 1, leader of some of the partitions, goes away for about 2 s in
 * the middle of production. */
static void fault_down(sf_kafka_mock_t *m, sf_producer_t *p, int i) {
        if (i == 1000) settle(p);
        if (i == 1000) rd_kafka_mock_broker_set_down(sf_kafka_mock_cluster(m), 1);
        if (i > 1000 && i < 1400) usleep(5000); /* keep producing while it is down: ~2 s */
        if (i == 1400) rd_kafka_mock_broker_set_up(sf_kafka_mock_cluster(m), 1);
}

static void test_broker_down(void) {
        run_fault_case("down", 3000, fault_down);
}

static void fault_leader(sf_kafka_mock_t *m, sf_producer_t *p, int i) {
        rd_kafka_mock_cluster_t *mc = sf_kafka_mock_cluster(m);
        if (i == 500) rd_kafka_mock_partition_set_leader(mc, "leader", 0, 2);
        if (i == 1000) rd_kafka_mock_partition_set_leader(mc, "leader", 1, 3);
        if (i == 1500) rd_kafka_mock_partition_set_leader(mc, "leader", 0, 3);
        if (i % 100 == 0) usleep(2000);
}

static void test_leader_change(void) {
        run_fault_case("leader", 3000, fault_leader);
}

/* Connections cut under the producer's feet (once what was sent is
 * acknowledged: see settle), and transport errors on produce requests:
 * retries must not duplicate anything. */
static void fault_disconnect(sf_kafka_mock_t *m, sf_producer_t *p, int i) {
        rd_kafka_mock_cluster_t *mc = sf_kafka_mock_cluster(m);
        if (i == 700 || i == 1700) {
                settle(p);
                rd_kafka_mock_broker_set_down(mc, -1);
                rd_kafka_mock_broker_set_up(mc, -1);
        }
        if (i == 1200)
                rd_kafka_mock_push_request_errors(mc, 0 /* Produce */, 4, RD_KAFKA_RESP_ERR__TRANSPORT,
                                                  RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                                  RD_KAFKA_RESP_ERR__TRANSPORT,
                                                  RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
        if (i % 100 == 0) usleep(2000);
}

static void test_disconnects(void) {
        run_fault_case("disconnect", 3000, fault_disconnect);
}

/* Acknowledgements slower than request.timeout.ms: the producer gives up
 * waiting, reconnects and sends again. (The mock drops a request whose
 * connection closed before answering, so it never shows the "appended but
 * not acknowledged" case; test_producer_defaults checks idempotence is on.) */
static void fault_slow_acks(sf_kafka_mock_t *m, sf_producer_t *p, int i) {
        rd_kafka_mock_cluster_t *mc = sf_kafka_mock_cluster(m);
        if (i == 300)
                for (int b = 1; b <= 3; b++) rd_kafka_mock_broker_set_rtt(mc, b, 900);
        if (i > 300 && i < 700) usleep(3000);
        if (i == 700)
                for (int b = 1; b <= 3; b++) rd_kafka_mock_broker_set_rtt(mc, b, 0);
}

static void test_slow_acks(void) {
        run_fault_case("slow", 1500, fault_slow_acks);
}

/* sf_producer_send_batch through a queue that holds 64 messages: batches
 * of 500 wait for room, and every record arrives once, in order. */
static void test_send_batch_queue_full(void) {
        char err[512];
        sf_kafka_mock_t *m = shared_mock();
        if (!m) return;
        CHECK(sf_kafka_mock_topic(m, "batched", 1, err, sizeof(err)) == 0);
        sf_kafka_conf_t *conf = conf_for(m);
        CHECK(sf_kafka_conf_set(conf, "queue.buffering.max.messages", "64", err, sizeof(err)) == 0);
        sf_producer_t *p = sf_producer_new(conf, NULL, NULL, err, sizeof(err));
        CHECK_MSG(p != NULL, "%s", err);
        enum { BATCH = 500, N = 10 * BATCH };
        static char keys[BATCH][16];
        static rd_kafka_message_t msgs[BATCH];
        for (int b = 0; p && b < N / BATCH; b++) {
                for (int i = 0; i < BATCH; i++) {
                        int kl = snprintf(keys[i], sizeof(keys[i]), "k%06d", b * BATCH + i);
                        memset(&msgs[i], 0, sizeof(msgs[i]));
                        msgs[i].key = keys[i];
                        msgs[i].key_len = (size_t)kl;
                        msgs[i].payload = keys[i];
                        msgs[i].len = (size_t)kl;
                }
                int queued = -1;
                CHECK_MSG(sf_producer_send_batch(p, "batched", msgs, BATCH, &queued, err, sizeof(err)) == 0,
                          "%s", err);
                CHECK_INT(queued, BATCH);
        }
        if (p) {
                CHECK_INT(sf_producer_flush(p, 30000), 0);
                CHECK_INT(sf_producer_stats(p).sent, N);
                sf_producer_destroy(p);
        }
        const char *topics[] = {"batched"};
        sf_consumer_opts_t opts = {.exit_at_end = true};
        sf_consumer_t *c = sf_consumer_new(conf, topics, 1, &opts, err, sizeof(err));
        CHECK_MSG(c != NULL, "%s", err);
        int got = 0, out_of_order = 0;
        int64_t deadline = sf_now_ns() + 20LL * 1000000000;
        while (c && sf_now_ns() < deadline && !sf_consumer_at_end(c)) {
                rd_kafka_message_t *msg = sf_consumer_poll(c, 100);
                if (!msg) continue;
                char want[16];
                int wl = snprintf(want, sizeof(want), "k%06d", got);
                out_of_order += msg->key_len != (size_t)wl || memcmp(msg->key, want, (size_t)wl) != 0;
                got++;
                rd_kafka_message_destroy(msg);
        }
        if (c) sf_consumer_close(c, err, sizeof(err));
        CHECK_INT(got, N);
        CHECK_INT(out_of_order, 0);
        sf_kafka_conf_destroy(conf);
}

/* The producer runs idempotent with acks=all unless -X says otherwise. */
static void test_producer_defaults(void) {
        char err[512], val[64];
        size_t len;
        sf_kafka_mock_t *m = shared_mock();
        if (!m) return;
        sf_kafka_conf_t *conf = conf_for(m);
        sf_producer_t *p = sf_producer_new(conf, NULL, NULL, err, sizeof(err));
        CHECK_MSG(p != NULL, "%s", err);
        if (p) {
                const rd_kafka_conf_t *kc = rd_kafka_conf(sf_producer_handle(p));
                len = sizeof(val);
                CHECK(rd_kafka_conf_get(kc, "enable.idempotence", val, &len) == RD_KAFKA_CONF_OK);
                CHECK_STR(val, "true");
                len = sizeof(val);
                CHECK(rd_kafka_conf_get(kc, "acks", val, &len) == RD_KAFKA_CONF_OK);
                CHECK_STR(val, "-1");
                sf_producer_destroy(p);
        }
        CHECK(sf_kafka_conf_set(conf, "enable.idempotence", "false", err, sizeof(err)) == 0);
        CHECK(sf_kafka_conf_set(conf, "acks", "1", err, sizeof(err)) == 0);
        p = sf_producer_new(conf, NULL, NULL, err, sizeof(err));
        CHECK_MSG(p != NULL, "%s", err);
        if (p) {
                const rd_kafka_conf_t *kc = rd_kafka_conf(sf_producer_handle(p));
                len = sizeof(val);
                CHECK(rd_kafka_conf_get(kc, "enable.idempotence", val, &len) == RD_KAFKA_CONF_OK);
                CHECK_STR(val, "false");
                sf_producer_destroy(p);
        }
        sf_kafka_conf_destroy(conf);
}

/* A default (sf_kafka_conf_set_default) gives way to the user's setting
 * of the same property, set before or after it, and of an alias of it. */
static void test_conf_defaults(void) {
        char err[512], val[64];
        size_t len;
        sf_kafka_mock_t *m = shared_mock();
        if (!m) return;
        sf_kafka_conf_t *conf = conf_for(m);
        CHECK(sf_kafka_conf_set(conf, "queue.buffering.max.ms", "70", err, sizeof(err)) == 0);
        CHECK(sf_kafka_conf_set_default(conf, "linger.ms", "5", err, sizeof(err)) == 0);
        CHECK(sf_kafka_conf_set_default(conf, "compression.type", "lz4", err, sizeof(err)) == 0);
        CHECK(sf_kafka_conf_set_default(conf, "batch.num.messages", "777", err, sizeof(err)) == 0);
        CHECK(sf_kafka_conf_set(conf, "compression.codec", "none", err, sizeof(err)) == 0);
        CHECK(sf_kafka_conf_set_default(conf, "queue.buffering.max.kbytes", "4096", err, sizeof(err)) == 0);
        CHECK(sf_kafka_conf_set(conf, "queue.buffering.max.kbytes", "8192", err, sizeof(err)) == 0);
        CHECK(sf_kafka_conf_set_default(conf, "queue.buffering.max.kbytes", "1024", err, sizeof(err)) == 0);
        sf_producer_t *p = sf_producer_new(conf, NULL, NULL, err, sizeof(err));
        CHECK_MSG(p != NULL, "%s", err);
        if (p) {
                const rd_kafka_conf_t *kc = rd_kafka_conf(sf_producer_handle(p));
                static const char *const want[][2] = {{"linger.ms", "70"},
                                                      {"compression.type", "none"},
                                                      {"batch.num.messages", "777"},
                                                      {"queue.buffering.max.kbytes", "8192"}};
                for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                        len = sizeof(val);
                        CHECK(rd_kafka_conf_get(kc, want[i][0], val, &len) == RD_KAFKA_CONF_OK);
                        CHECK_MSG(strcmp(val, want[i][1]) == 0, "%s is %s, expected %s", want[i][0], val,
                                  want[i][1]);
                }
                sf_producer_destroy(p);
        }
        sf_kafka_conf_destroy(conf);
}

/* A permanent error: every message fails, each failure is reported with
 * the topic, and flush says how many were not delivered. */
static void test_permanent_error(void) {
        char err[512];
        sf_kafka_mock_t *m = sf_kafka_mock_new(1, 3, err, sizeof(err));
        CHECK_MSG(m != NULL, "%s", err);
        if (!m) return;
        CHECK(sf_kafka_mock_topic(m, "refused", 1, err, sizeof(err)) == 0);
        sf_kafka_conf_t *conf = conf_for(m);
        CHECK(sf_kafka_conf_set(conf, "message.timeout.ms", "3000", err, sizeof(err)) == 0);
        log_reset();
        sf_producer_t *p = sf_producer_new(conf, NULL, NULL, err, sizeof(err));
        CHECK_MSG(p != NULL, "%s", err);
        if (p) {
                /* Every produce request is refused (more errors than the producer will try). */
                rd_kafka_resp_err_t errs[200];
                for (size_t i = 0; i < SF_ARRAY_SIZE(errs); i++)
                        errs[i] = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
                rd_kafka_mock_push_request_errors_array(sf_kafka_mock_cluster(m), 0 /* Produce */,
                                                        SF_ARRAY_SIZE(errs), errs);
                int sent = 0;
                for (int i = 0; i < 10; i++)
                        if (sf_producer_send(p, "refused", -1, "k", 1, "v", 1, NULL, NULL, err,
                                             sizeof(err)) == 0)
                                sent++;
                uint64_t undelivered = sf_producer_flush(p, 10000);
                CHECK_INT(undelivered, sent);
                CHECK(sent > 0);
                CHECK_INT(sf_producer_stats(p).failed, sent);
                CHECK_INT(sf_producer_stats(p).delivered, 0);
                CHECK_MSG(strstr(logbuf, "delivery to refused [") != NULL, "log: %s", logbuf);
                sf_producer_destroy(p);
        }
        sf_kafka_conf_destroy(conf);
        sf_kafka_mock_destroy(m);
}

/* A group stops cleanly after part of the topic and a new member resumes
 * from the committed offsets: together they read everything once. */
static void group_resume(const char *topic, const char *group, const char *strategy) {
        char err[512];
        enum { N = 600 };
        sf_kafka_mock_t *m = shared_mock();
        if (!m) return;
        sf_kafka_conf_t *conf = conf_for(m);
        if (strategy)
                CHECK(sf_kafka_conf_set(conf, "partition.assignment.strategy", strategy, err, sizeof(err)) ==
                      0);
        dr_state_t st = {calloc(N, sizeof(int)), 0};
        int *counts = calloc(N, sizeof(int));
        uint64_t undelivered = 99;
        CHECK(sf_kafka_mock_topic(m, topic, 3, err, sizeof(err)) == 0);
        if (st.acked && counts && produce_n(conf, topic, N, &st, NULL, m, &undelivered) == 0) {
                CHECK_INT(undelivered, 0);
                int first = consume_all(conf, topic, group, counts, N, 250);
                CHECK_INT(first, 250);
                int second = consume_all(conf, topic, group, counts, N, 0);
                CHECK_INT(second, N - 250);
                check_exactly_once(topic, N, &st, counts);
        }
        free(st.acked);
        free(counts);
        sf_kafka_conf_destroy(conf);
}

static void test_group_resume(void) {
        group_resume("resume", "g-resume", NULL);
}

/* The same with the cooperative protocol (incremental assign/unassign). */
static void test_group_resume_cooperative(void) {
        group_resume("resume2", "g-coop", "cooperative-sticky");
}

/* Out of range, never silent: data deleted by retention before it was
 * read is counted and reported; an offset past the end is reported and
 * the log is read again from its start. */
static void test_out_of_range(void) {
        char err[512];
        sf_kafka_mock_t *m = shared_mock();
        if (!m) return;
        CHECK(sf_kafka_mock_topic(m, "retained", 1, err, sizeof(err)) == 0);
        sf_kafka_conf_t *conf = conf_for(m);
        const char *topics[] = {"retained"};
        sf_consumer_opts_t opts = {.group = "g-range"};

        /* The group commits offset 1 of a small log... */
        sf_producer_t *p = sf_producer_new(conf, NULL, NULL, err, sizeof(err));
        CHECK_MSG(p != NULL, "%s", err);
        if (!p) goto out;
        CHECK(sf_producer_send(p, "retained", 0, "a", 1, "first", 5, NULL, NULL, err, sizeof(err)) == 0);
        CHECK_INT(sf_producer_flush(p, 10000), 0);
        sf_consumer_t *c = sf_consumer_new(conf, topics, 1, &opts, err, sizeof(err));
        CHECK_MSG(c != NULL, "%s", err);
        if (c) {
                rd_kafka_message_t *msg = NULL;
                for (int i = 0; i < 100 && !msg; i++) msg = sf_consumer_poll(c, 100);
                CHECK(msg != NULL);
                if (msg) {
                        CHECK_INT(msg->offset, 0);
                        CHECK(sf_consumer_store(c, msg, err, sizeof(err)) == 0);
                        rd_kafka_message_destroy(msg);
                }
                CHECK(sf_consumer_close(c, err, sizeof(err)) == 0);
        }
        /* ...then 8 MiB more arrive in 64 KiB messages, each its own batch:
         * the mock keeps 5 MiB per partition and drops the oldest. */
        char *big = calloc(1, 65536);
        CHECK(big != NULL);
        for (int i = 0; big && i < 128; i++) {
                CHECK(sf_producer_send(p, "retained", 0, "b", 1, big, 65536, NULL, NULL, err, sizeof(err)) ==
                      0);
                CHECK_INT(sf_producer_flush(p, 10000), 0);
        }
        free(big);
        int64_t lo = -1, hi = -1;
        CHECK(sf_kafka_watermarks(sf_producer_handle(p), "retained", 0, &lo, &hi, 5000, err, sizeof(err)) ==
              0);
        CHECK_INT(hi, 129);
        CHECK(lo > 1);
        sf_producer_destroy(p);

        log_reset();
        c = sf_consumer_new(conf, topics, 1, &opts, err, sizeof(err));
        CHECK_MSG(c != NULL, "%s", err);
        if (c) {
                rd_kafka_message_t *msg = NULL;
                for (int i = 0; i < 100 && !msg; i++) msg = sf_consumer_poll(c, 100);
                CHECK(msg != NULL);
                if (msg) {
                        CHECK_INT(msg->offset, lo); /* resumed at the log start */
                        rd_kafka_message_destroy(msg);
                }
                CHECK_INT(sf_consumer_skipped(c), lo - 1);
                char want[128];
                snprintf(want, sizeof(want), "retained [0]: offsets 1..%lld (%lld message(s))",
                         (long long)(lo - 1), (long long)(lo - 1));
                CHECK_MSG(strstr(logbuf, want) != NULL, "log: %s", logbuf);
                /* Store an offset beyond the end, as a recreated topic would leave. */
                CHECK(sf_consumer_store_offset(c, "retained", 0, 5000, err, sizeof(err)) == 0);
                CHECK(sf_consumer_close(c, err, sizeof(err)) == 0);
        }
        log_reset();
        c = sf_consumer_new(conf, topics, 1, &opts, err, sizeof(err));
        CHECK_MSG(c != NULL, "%s", err);
        if (c) {
                rd_kafka_message_t *msg = NULL;
                for (int i = 0; i < 100 && !msg; i++) msg = sf_consumer_poll(c, 100);
                CHECK(msg && msg->offset == lo);
                if (msg) rd_kafka_message_destroy(msg);
                CHECK_MSG(strstr(logbuf, "offset 5000 is beyond the end of the log") != NULL, "log: %s",
                          logbuf);
                CHECK_INT(sf_consumer_skipped(c), 0);
                CHECK(sf_consumer_close(c, err, sizeof(err)) == 0);
        }
out:
        sf_kafka_conf_destroy(conf);
}

/* Data deleted under a running consumer (it paused; the topic moved on by
 * more than the 5 MiB a partition keeps): librdkafka resets to the log
 * start, and the layer reports and counts what was lost. */
static void test_out_of_range_while_reading(void) {
        char err[512];
        sf_kafka_mock_t *m = shared_mock();
        if (!m) return;
        CHECK(sf_kafka_mock_topic(m, "dropped", 1, err, sizeof(err)) == 0);
        sf_kafka_conf_t *conf = conf_for(m);
        sf_producer_t *p = sf_producer_new(conf, NULL, NULL, err, sizeof(err));
        CHECK_MSG(p != NULL, "%s", err);
        if (!p) goto out;
        for (int i = 0; i < 10; i++)
                CHECK(sf_producer_send(p, "dropped", 0, "s", 1, "small", 5, NULL, NULL, err, sizeof(err)) ==
                      0);
        CHECK_INT(sf_producer_flush(p, 10000), 0);
        const char *topics[] = {"dropped"};
        sf_consumer_opts_t opts = {0};
        sf_consumer_t *c = sf_consumer_new(conf, topics, 1, &opts, err, sizeof(err));
        CHECK_MSG(c != NULL, "%s", err);
        if (!c) goto out;
        int got = 0;
        for (int i = 0; i < 100 && got < 10; i++) {
                rd_kafka_message_t *msg = sf_consumer_poll(c, 100);
                if (msg) got++, rd_kafka_message_destroy(msg);
        }
        CHECK_INT(got, 10);
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(parts, "dropped", 0);
        CHECK(rd_kafka_pause_partitions(sf_consumer_handle(c), parts) == 0);
        char *big = calloc(1, 65536);
        for (int i = 0; big && i < 100; i++) {
                CHECK(sf_producer_send(p, "dropped", 0, "b", 1, big, 65536, NULL, NULL, err, sizeof(err)) ==
                      0);
                CHECK_INT(sf_producer_flush(p, 10000), 0);
        }
        free(big);
        int64_t lo = -1, hi = -1;
        CHECK(sf_kafka_watermarks(sf_producer_handle(p), "dropped", 0, &lo, &hi, 5000, err, sizeof(err)) ==
              0);
        CHECK(lo > 10);
        log_reset();
        CHECK(rd_kafka_resume_partitions(sf_consumer_handle(c), parts) == 0);
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_message_t *msg = NULL;
        for (int i = 0; i < 100 && !msg; i++) msg = sf_consumer_poll(c, 100);
        CHECK(msg != NULL);
        if (msg) {
                CHECK_INT(msg->offset, lo);
                rd_kafka_message_destroy(msg);
        }
        CHECK_INT(sf_consumer_skipped(c), lo - 10);
        char want[128];
        snprintf(want, sizeof(want), "dropped [0]: offsets 10..%lld (%lld message(s)) were deleted",
                 (long long)(lo - 1), (long long)(lo - 10));
        CHECK_MSG(strstr(logbuf, want) != NULL, "log: %s", logbuf);
        CHECK(sf_consumer_close(c, err, sizeof(err)) == 0);
out:
        sf_producer_destroy(p);
        sf_kafka_conf_destroy(conf);
}

/* A fatal error (the cluster refuses the idempotent producer an id) stops
 * everything: reported, every later send refused, the run flag cleared. */
static void test_fatal_error(void) {
        char err[512];
        sf_kafka_mock_t *m = sf_kafka_mock_new(1, 1, err, sizeof(err));
        CHECK_MSG(m != NULL, "%s", err);
        if (!m) return;
        sf_kafka_conf_t *conf = conf_for(m);
        rd_kafka_mock_push_request_errors(sf_kafka_mock_cluster(m), 22 /* InitProducerId */, 1,
                                          RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED);
        log_reset();
        sf_kafka_reset_running();
        sf_producer_t *p = sf_producer_new(conf, NULL, NULL, err, sizeof(err));
        if (p) {
                /* The id is requested in the background: wait for the verdict. */
                for (int i = 0; i < 50 && !sf_producer_fatal(p); i++) sf_producer_poll(p, 100);
                CHECK(sf_producer_fatal(p) != NULL);
                printf("# %s\n", sf_producer_fatal(p) ? sf_producer_fatal(p) : "(no fatal error)");
                CHECK(!sf_kafka_running());
                CHECK(sf_producer_send(p, "t", -1, "k", 1, "v", 1, NULL, NULL, err, sizeof(err)) < 0);
                CHECK_MSG(strstr(err, "fatal") != NULL, "err = %s", err);
                CHECK_MSG(strstr(logbuf, "fatal Kafka error") != NULL, "log: %s", logbuf);
                sf_producer_destroy(p);
        } else {
                /* Refused before the first contact completed: as clear. */
                printf("# %s\n", err);
                CHECK_MSG(strstr(err, "fatal") != NULL, "err = %s", err);
        }
        sf_kafka_reset_running();
        sf_kafka_conf_destroy(conf);
        sf_kafka_mock_destroy(m);
}

/* Nobody listening: a clear error within a few seconds, no hang. */
static void test_unreachable(void) {
        char err[512];
        sf_kafka_conf_t *conf = sf_kafka_conf_new();
        CHECK(conf != NULL);
        if (!conf) return;
        sf_kafka_conf_set_brokers(conf, "127.0.0.1:1");
        sf_kafka_conf_set_log(conf, capture, NULL);
        int64_t t0 = sf_now_ns();
        sf_producer_t *p = sf_producer_new(conf, NULL, NULL, err, sizeof(err));
        double secs = (double)(sf_now_ns() - t0) / 1e9;
        CHECK(p == NULL);
        sf_producer_destroy(p);
        CHECK_MSG(secs < 6.0, "took %.1f s", secs);
        CHECK_MSG(strstr(err, "cannot reach Kafka at 127.0.0.1:1") && strstr(err, "streamflow broker") &&
                          strstr(err, "-b"),
                  "err = %s", err);
        sf_kafka_conf_destroy(conf);
}

/* The control commands the broker's socket accepts. */
static void test_control(void) {
        char reply[512];
        sf_kafka_mock_t *m = shared_mock(); /* last user: the faults here stay */
        if (!m) return;
        static const struct {
                const char *line;
                int ok;
        } cases[] = {
                {"ping", 1},
                {"down 1", 1},
                {"up 1", 1},
                {"down all", 1},
                {"up all", 1},
                {"disconnect", 1},
                {"disconnect 2", 1},
                {"down 4", 0},
                {"down", 0},
                {"leader t 0 2", 1},
                {"leader t 0 9", 0},
                {"leader t x 1", 0},
                {"error Produce NOT_LEADER_FOR_PARTITION 3", 1},
                {"error 0 TRANSPORT", 1},
                {"error 1 6", 1},
                {"error Nope 6", 0},
                {"error Produce NOT_AN_ERROR", 0},
                {"topic-error t TOPIC_AUTHORIZATION_FAILED", 1},
                {"topic-error t NO_ERROR", 1},
                {"rtt all 10", 1},
                {"rtt 1 x", 0},
                {"create newtopic 4", 1},
                {"create bad/name", 0},
                {"frobnicate", 0},
                {"", 0},
        };
        for (size_t i = 0; i < SF_ARRAY_SIZE(cases); i++) {
                int rc = sf_kafka_mock_control(m, cases[i].line, reply, sizeof(reply));
                CHECK_MSG((rc == 0) == cases[i].ok, "'%s' -> %s", cases[i].line, reply);
                CHECK_MSG(strncmp(reply, cases[i].ok ? "ok" : "error", cases[i].ok ? 2 : 5) == 0,
                          "'%s' -> %s", cases[i].line, reply);
        }
}

/* A consumer of group that has read and stored the 4 records of topic (2
 * partitions), then is closed with its final commit answered by `refusal`
 * (the coordinator's answer to a member stopped during a rebalance, for
 * instance). Returns what sf_consumer_close returned, err its message. */
static int close_refused(sf_kafka_mock_t *m, sf_kafka_conf_t *conf, const char *topic, const char *group,
                         rd_kafka_resp_err_t refusal, char *err, size_t err_size) {
        const char *topics[] = {topic};
        sf_consumer_opts_t opts = {.group = group};
        snprintf(err, err_size, "(no answer)");
        sf_consumer_t *c = sf_consumer_new(conf, topics, 1, &opts, err, err_size);
        CHECK_MSG(c != NULL, "%s", err);
        if (!c) return -2;
        int got = 0;
        for (int i = 0; i < 200 && got < 4; i++) {
                rd_kafka_message_t *msg = sf_consumer_poll(c, 100);
                if (!msg) continue;
                got++;
                CHECK_MSG(sf_consumer_store(c, msg, err, err_size) == 0, "%s", err);
                rd_kafka_message_destroy(msg);
        }
        CHECK_INT(got, 4);
        rd_kafka_mock_push_request_errors(sf_kafka_mock_cluster(m), 8 /* OffsetCommit */, 1, refusal);
        log_reset();
        return sf_consumer_close(c, err, err_size);
}

/* A consumer stopped while its group rebalances has its final commit
 * refused (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID):
 * nothing is lost, the next owner of each partition reads on from the last
 * committed offset, so the close succeeds with a warning naming each
 * partition and offset. Any other refusal is still an error. */
static void test_close_commit_refused(void) {
        char err[512];
        sf_kafka_mock_t *m = sf_kafka_mock_new(1, 1, err, sizeof(err));
        CHECK_MSG(m != NULL, "%s", err);
        if (!m) return;
        CHECK(sf_kafka_mock_topic(m, "leaving", 2, err, sizeof(err)) == 0);
        sf_kafka_conf_t *conf = conf_for(m);
        /* The only commits are the ones the close makes. */
        CHECK(sf_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) == 0);
        sf_producer_t *p = sf_producer_new(conf, NULL, NULL, err, sizeof(err));
        CHECK_MSG(p != NULL, "%s", err);
        for (int i = 0; p && i < 4; i++)
                CHECK(sf_producer_send(p, "leaving", i % 2, "k", 1, "v", 1, NULL, NULL, err, sizeof(err)) ==
                      0);
        if (p) CHECK_INT(sf_producer_flush(p, 10000), 0);
        sf_producer_destroy(p);
        static const struct {
                const char *group;
                rd_kafka_resp_err_t refusal;
        } refused[] = {
                {"g-leaving-1", RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS},
                {"g-leaving-2", RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION},
                {"g-leaving-3", RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID},
        };
        for (size_t i = 0; i < SF_ARRAY_SIZE(refused); i++) {
                int rc = close_refused(m, conf, "leaving", refused[i].group, refused[i].refusal, err,
                                       sizeof(err));
                const char *why = rd_kafka_err2str(refused[i].refusal);
                CHECK_MSG(rc == 0, "%s: close returned %d: %s", why, rc, err);
                char want[256];
                for (int part = 0; part < 2; part++) {
                        snprintf(
                                want, sizeof(want),
                                "4 the final commit of leaving [%d] offset 2 was refused: %s; the next owner",
                                part, why);
                        CHECK_MSG(strstr(logbuf, want) != NULL, "want '%s' in log: %s", want, logbuf);
                }
        }
        /* Refused for another reason: still an error. */
        int rc = close_refused(m, conf, "leaving", "g-leaving-4", RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE,
                               err, sizeof(err));
        CHECK_INT(rc, -1);
        CHECK_MSG(strstr(err, "final commit of group 'g-leaving-4' failed") &&
                          strstr(err, rd_kafka_err2str(RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE)),
                  "err = %s", err);
        CHECK_MSG(strstr(logbuf, "was refused") == NULL, "log: %s", logbuf);
        printf("# %s\n", err);
        sf_kafka_conf_destroy(conf);
        sf_kafka_mock_destroy(m);
}

/* A consumer whose handle cannot be destroyed (what librdkafka 2.0.2 does
 * after a broker restart that reported a topic with no partitions, and
 * what a message never destroyed does, as here): sf_consumer_close still
 * returns, within SF_KAFKA_DESTROY_TIMEOUT_MS and without an error, and
 * says so. The close runs in a thread watched for 30 s so that a hang is a
 * failure rather than a stuck test. */
static rd_kafka_message_t *kept; /* never destroyed: it holds the handle */
static int close_rc = -2;        /* atomic: written by close_thread */

static void *close_thread(void *arg) {
        char err[512];
        __atomic_store_n(&close_rc, sf_consumer_close(arg, err, sizeof(err)), __ATOMIC_RELEASE);
        return NULL;
}

static int close_result(void) {
        return __atomic_load_n(&close_rc, __ATOMIC_ACQUIRE);
}

static void test_close_bounded(void) {
        char err[512];
#if defined(__SANITIZE_THREAD__)
        /* The handle's threads are left running on purpose, which
         * ThreadSanitizer reports as a thread leak. */
        SKIP("the stuck handle's threads are left behind by design; TSan reports them as leaked");
#endif
        sf_kafka_mock_t *m = shared_mock();
        if (!m) return;
        CHECK(sf_kafka_mock_topic(m, "stuck", 1, err, sizeof(err)) == 0);
        sf_kafka_conf_t *conf = conf_for(m);
        sf_producer_t *p = sf_producer_new(conf, NULL, NULL, err, sizeof(err));
        CHECK_MSG(p != NULL, "%s", err);
        if (p) {
                CHECK(sf_producer_send(p, "stuck", 0, "k", 1, "v", 1, NULL, NULL, err, sizeof(err)) == 0);
                CHECK_INT(sf_producer_flush(p, 10000), 0);
                sf_producer_destroy(p);
        }
        const char *topics[] = {"stuck"};
        sf_consumer_opts_t opts = {.group = "g-stuck"};
        sf_consumer_t *c = sf_consumer_new(conf, topics, 1, &opts, err, sizeof(err));
        CHECK_MSG(c != NULL, "%s", err);
        if (!c) goto out;
        for (int i = 0; i < 100 && !kept; i++) kept = sf_consumer_poll(c, 100);
        CHECK(kept != NULL);
        if (kept) CHECK(sf_consumer_store(c, kept, err, sizeof(err)) == 0);
        log_reset();
        int64_t t0 = sf_now_ns();
        pthread_t th;
        CHECK(pthread_create(&th, NULL, close_thread, c) == 0);
        while (close_result() == -2 && sf_now_ns() - t0 < 30LL * 1000000000) usleep(10000);
        double s = (sf_now_ns() - t0) / 1e9;
        CHECK_MSG(close_result() != -2, "sf_consumer_close has not returned after %.0f s", s);
        if (close_result() == -2) goto out; /* the thread stays blocked; the program ends anyway */
        pthread_join(th, NULL);
        CHECK_INT(close_result(), 0);
        CHECK_MSG(s < SF_KAFKA_DESTROY_TIMEOUT_MS / 1000.0 + 5, "close took %.1f s", s);
        CHECK_MSG(strstr(logbuf, "did not shut down within") != NULL, "log: %s", logbuf);
out:
        sf_kafka_conf_destroy(conf);
}

int main(void) {
        const char *only = getenv("SF_TEST_ONLY");
        if (only) {
                if (strcmp(only, "options") == 0) RUN(test_options);
                if (strcmp(only, "group") == 0) RUN(test_group_resume);
                if (strcmp(only, "coop") == 0) RUN(test_group_resume_cooperative);
                if (strcmp(only, "range") == 0) RUN(test_out_of_range);
                if (strcmp(only, "range2") == 0) RUN(test_out_of_range_while_reading);
                if (strcmp(only, "perm") == 0) RUN(test_permanent_error);
                if (strcmp(only, "fatal") == 0) RUN(test_fatal_error);
                if (strcmp(only, "disc") == 0) RUN(test_disconnects);
                if (strcmp(only, "slow") == 0) RUN(test_slow_acks);
                if (strcmp(only, "close") == 0) RUN(test_close_bounded);
                if (strcmp(only, "refused") == 0) RUN(test_close_commit_refused);
                sf_kafka_mock_destroy(shared);
                return TEST_DONE();
        }
        RUN(test_options);
        RUN(test_unreachable);
        RUN(test_roundtrip);
        RUN(test_producer_defaults);
        RUN(test_conf_defaults);
        RUN(test_send_batch_queue_full);
        RUN(test_permanent_error);
        RUN(test_fatal_error);
        RUN(test_broker_down);
        RUN(test_leader_change);
        RUN(test_disconnects);
        RUN(test_slow_acks);
        /* The eager protocol's resume runs against the broker process in
         * test_kafka_broker; here, the cooperative one. */
        RUN(test_group_resume_cooperative);
        RUN(test_out_of_range);
        RUN(test_out_of_range_while_reading);
        RUN(test_control);
        RUN(test_close_commit_refused);
        /* Last: it leaves a consumer behind, blocked in its destroy. */
        RUN(test_close_bounded);
        sf_kafka_mock_destroy(shared);
        return TEST_DONE();
}
