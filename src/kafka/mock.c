/* The in-memory development cluster (librdkafka's mock cluster) and its
 * line-oriented control commands for fault injection. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kafka/kafka_int.h"

struct sf_kafka_mock {
        rd_kafka_t *rk; /* the handle the mock cluster lives in */
        rd_kafka_mock_cluster_t *mcluster;
        int brokers;
        int partitions;
};

sf_kafka_mock_t *sf_kafka_mock_new(int brokers, int partitions, char *errstr, size_t errstr_size) {
        sf_kafka_mock_t *m = calloc(1, sizeof(*m));
        rd_kafka_conf_t *c = NULL;
        char rkerr[256];
        if (!m) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (brokers < 1 || partitions < 1) {
                snprintf(errstr, errstr_size, "a cluster needs at least 1 broker and 1 partition per topic");
                goto fail;
        }
        m->brokers = brokers;
        m->partitions = partitions;
        c = rd_kafka_conf_new();
        /* This handle never connects anywhere; its only warning would be
         * that it has no bootstrap.servers. */
        if (!c || rd_kafka_conf_set(c, "log_level", "3", rkerr, sizeof(rkerr)) != RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size, "cannot configure the mock cluster's handle");
                goto fail;
        }
        m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, rkerr, sizeof(rkerr));
        if (!m->rk) {
                snprintf(errstr, errstr_size, "cannot create the mock cluster's handle: %s", rkerr);
                goto fail;
        }
        c = NULL;
        m->mcluster = rd_kafka_mock_cluster_new(m->rk, brokers);
        if (!m->mcluster) {
                snprintf(errstr, errstr_size, "cannot start a mock Kafka cluster of %d broker(s)", brokers);
                goto fail;
        }
        return m;
fail:
        if (c) rd_kafka_conf_destroy(c);
        sf_kafka_mock_destroy(m);
        return NULL;
}

const char *sf_kafka_mock_bootstraps(const sf_kafka_mock_t *m) {
        return rd_kafka_mock_cluster_bootstraps(m->mcluster);
}

rd_kafka_mock_cluster_t *sf_kafka_mock_cluster(sf_kafka_mock_t *m) {
        return m->mcluster;
}

int sf_kafka_mock_topic(sf_kafka_mock_t *m, const char *topic, int partitions, char *errstr,
                        size_t errstr_size) {
        if (!sf_kafka_topic_valid(topic)) {
                snprintf(errstr, errstr_size,
                         "invalid topic name '%s' (1 to 249 letters, digits, '.', '_', '-')", topic);
                return -1;
        }
        if (partitions <= 0) partitions = m->partitions;
        int rf = m->brokers < 3 ? m->brokers : 3;
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(m->mcluster, topic, partitions, rf);
        if (err) {
                snprintf(errstr, errstr_size, "cannot create topic '%s' with %d partition(s): %s", topic,
                         partitions, rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

void sf_kafka_mock_destroy(sf_kafka_mock_t *m) {
        if (!m) return;
        if (m->mcluster) rd_kafka_mock_cluster_destroy(m->mcluster);
        if (m->rk) rd_kafka_destroy(m->rk);
        free(m);
}

/* ------------------------------------------------------------- control */

static const struct {
        const char *name;
        int16_t key;
} api_keys[] = {
        {"Produce", 0},          {"Fetch", 1},
        {"ListOffsets", 2},      {"Metadata", 3},
        {"OffsetCommit", 8},     {"OffsetFetch", 9},
        {"FindCoordinator", 10}, {"JoinGroup", 11},
        {"Heartbeat", 12},       {"LeaveGroup", 13},
        {"SyncGroup", 14},       {"ApiVersions", 18},
        {"InitProducerId", 22},  {"AddPartitionsToTxn", 24},
        {"EndTxn", 26},
};

static int parse_int(const char *s, long min, long max, long *out) {
        char *end;
        if (!s || !*s) return -1;
        long v = strtol(s, &end, 10);
        if (*end || v < min || v > max) return -1;
        *out = v;
        return 0;
}

static int parse_api(const char *s, int16_t *out) {
        long v;
        if (parse_int(s, 0, 1000, &v) == 0) {
                *out = (int16_t)v;
                return 0;
        }
        for (size_t i = 0; i < SF_ARRAY_SIZE(api_keys); i++)
                if (strcasecmp(api_keys[i].name, s) == 0) {
                        *out = api_keys[i].key;
                        return 0;
                }
        return -1;
}

/* An error code by number or by name: NOT_LEADER_FOR_PARTITION,
 * _TRANSPORT or TRANSPORT (local errors may omit their underscore). */
static int parse_err(const char *s, rd_kafka_resp_err_t *out) {
        long v;
        if (parse_int(s, -200, 1000, &v) == 0) {
                *out = (rd_kafka_resp_err_t)v;
                return 0;
        }
        const struct rd_kafka_err_desc *descs;
        size_t n;
        rd_kafka_get_err_descs(&descs, &n);
        for (size_t i = 0; i < n; i++) {
                const char *name = descs[i].name;
                if (!name) continue;
                if (strcasecmp(name, s) == 0 || (name[0] == '_' && strcasecmp(name + 1, s) == 0)) {
                        *out = descs[i].code;
                        return 0;
                }
        }
        return -1;
}

/* "all" or a broker id in 1..brokers; all is -1 for the mock API. */
static int parse_broker(const sf_kafka_mock_t *m, const char *s, int32_t *out) {
        long v;
        if (s && strcmp(s, "all") == 0) {
                *out = -1;
                return 0;
        }
        if (parse_int(s, 1, m->brokers, &v) < 0) return -1;
        *out = (int32_t)v;
        return 0;
}

static int bad_broker(const sf_kafka_mock_t *m, char *reply, size_t reply_size) {
        snprintf(reply, reply_size, "error: BROKER must be 'all' or 1..%d", m->brokers);
        return -1;
}

static int failed(const char *cmd, rd_kafka_resp_err_t err, char *reply, size_t reply_size) {
        snprintf(reply, reply_size, "error: %s: %s", cmd, rd_kafka_err2str(err));
        return -1;
}

/* Each control command below gets the words of its line in w[0..n) (w[0]
 * is the command), fills reply with "ok ..." or "error: ..." and returns 0
 * or -1. */

static int ctl_ping(sf_kafka_mock_t *m, char **w, int n, char *reply, size_t reply_size) {
        snprintf(reply, reply_size, "ok pong");
        return 0;
}

/* down|up|disconnect BROKER|all; disconnect alone is all. */
static int ctl_updown(sf_kafka_mock_t *m, char **w, int n, char *reply, size_t reply_size) {
        const char *cmd = w[0];
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
        int32_t broker;
        if (n == 1 && strcmp(cmd, "disconnect") == 0)
                broker = -1;
        else if (n != 2 || parse_broker(m, w[1], &broker) < 0)
                return bad_broker(m, reply, reply_size);
        if (strcmp(cmd, "up") != 0) err = rd_kafka_mock_broker_set_down(m->mcluster, broker);
        if (!err && strcmp(cmd, "down") != 0) err = rd_kafka_mock_broker_set_up(m->mcluster, broker);
        if (err) return failed(cmd, err, reply, reply_size);
        snprintf(reply, reply_size, "ok %s %s", cmd, n == 2 ? w[1] : "all");
        return 0;
}

/* leader TOPIC PARTITION BROKER */
static int ctl_leader(sf_kafka_mock_t *m, char **w, int n, char *reply, size_t reply_size) {
        long partition, b;
        if (parse_int(w[2], 0, 100000, &partition) < 0) {
                snprintf(reply, reply_size, "error: partition must be a number, got '%s'", w[2]);
                return -1;
        }
        if (parse_int(w[3], -1, m->brokers, &b) < 0 || b == 0) {
                snprintf(reply, reply_size, "error: BROKER must be 1..%d (or -1 for no leader)", m->brokers);
                return -1;
        }
        rd_kafka_resp_err_t err =
                rd_kafka_mock_partition_set_leader(m->mcluster, w[1], (int32_t)partition, (int32_t)b);
        if (err) return failed(w[0], err, reply, reply_size);
        snprintf(reply, reply_size, "ok leader of %s [%ld] is broker %ld", w[1], partition, b);
        return 0;
}

/* error API ERR [COUNT] */
static int ctl_error(sf_kafka_mock_t *m, char **w, int n, char *reply, size_t reply_size) {
        int16_t api;
        rd_kafka_resp_err_t code;
        long count = 1;
        if (parse_api(w[1], &api) < 0) {
                snprintf(reply, reply_size,
                         "error: unknown API '%s' (a number or Produce, Fetch, Metadata, ...)", w[1]);
                return -1;
        }
        if (parse_err(w[2], &code) < 0) {
                snprintf(reply, reply_size, "error: unknown error code '%s'", w[2]);
                return -1;
        }
        if (n == 4 && parse_int(w[3], 1, 1000000, &count) < 0) {
                snprintf(reply, reply_size, "error: COUNT must be 1..1000000, got '%s'", w[3]);
                return -1;
        }
        rd_kafka_resp_err_t *errs = malloc((size_t)count * sizeof(*errs));
        if (!errs) {
                snprintf(reply, reply_size, "error: out of memory");
                return -1;
        }
        for (long i = 0; i < count; i++) errs[i] = code;
        rd_kafka_mock_push_request_errors_array(m->mcluster, api, (size_t)count, errs);
        free(errs);
        snprintf(reply, reply_size, "ok next %ld request(s) of API %d fail with %s", count, (int)api,
                 rd_kafka_err2name(code));
        return 0;
}

/* topic-error TOPIC ERR */
static int ctl_topic_error(sf_kafka_mock_t *m, char **w, int n, char *reply, size_t reply_size) {
        rd_kafka_resp_err_t code;
        if (parse_err(w[2], &code) < 0) {
                snprintf(reply, reply_size, "error: unknown error code '%s'", w[2]);
                return -1;
        }
        rd_kafka_mock_topic_set_error(m->mcluster, w[1], code);
        snprintf(reply, reply_size, "ok topic %s errors: %s", w[1], rd_kafka_err2name(code));
        return 0;
}

/* rtt BROKER|all MS */
static int ctl_rtt(sf_kafka_mock_t *m, char **w, int n, char *reply, size_t reply_size) {
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
        int32_t broker;
        long ms;
        if (parse_broker(m, w[1], &broker) < 0) return bad_broker(m, reply, reply_size);
        if (parse_int(w[2], 0, 600000, &ms) < 0) {
                snprintf(reply, reply_size, "error: MS must be 0..600000, got '%s'", w[2]);
                return -1;
        }
        if (broker == -1) {
                for (int32_t b = 1; b <= m->brokers && !err; b++)
                        err = rd_kafka_mock_broker_set_rtt(m->mcluster, b, (int)ms);
        } else {
                err = rd_kafka_mock_broker_set_rtt(m->mcluster, broker, (int)ms);
        }
        if (err) return failed(w[0], err, reply, reply_size);
        snprintf(reply, reply_size, "ok rtt %s %ld", w[1], ms);
        return 0;
}

/* create TOPIC [PARTITIONS] */
static int ctl_create(sf_kafka_mock_t *m, char **w, int n, char *reply, size_t reply_size) {
        char e[256];
        long partitions = 0;
        if (n == 3 && parse_int(w[2], 1, 10000, &partitions) < 0) {
                snprintf(reply, reply_size, "error: PARTITIONS must be 1..10000, got '%s'", w[2]);
                return -1;
        }
        if (sf_kafka_mock_topic(m, w[1], (int)partitions, e, sizeof(e)) < 0) {
                snprintf(reply, reply_size, "error: %s", e);
                return -1;
        }
        snprintf(reply, reply_size, "ok created %s", w[1]);
        return 0;
}

static const struct {
        const char *name;
        int min_words, max_words; /* with the command itself */
        int (*fn)(sf_kafka_mock_t *m, char **w, int n, char *reply, size_t reply_size);
} controls[] = {
        {"ping", 1, 1, ctl_ping},
        {"down", 1, 2, ctl_updown},
        {"up", 1, 2, ctl_updown},
        {"disconnect", 1, 2, ctl_updown},
        {"leader", 4, 4, ctl_leader},
        {"error", 3, 4, ctl_error},
        {"topic-error", 3, 3, ctl_topic_error},
        {"rtt", 3, 3, ctl_rtt},
        {"create", 2, 3, ctl_create},
};

#define MAX_WORDS 6

int sf_kafka_mock_control(sf_kafka_mock_t *m, const char *line, char *reply, size_t reply_size) {
        char buf[512];
        char *w[MAX_WORDS + 1] = {0};
        int n = 0;
        snprintf(buf, sizeof(buf), "%s", line);
        for (char *save = NULL, *tok = strtok_r(buf, " \t\r\n", &save); tok && n <= MAX_WORDS;
             tok = strtok_r(NULL, " \t\r\n", &save))
                w[n++] = tok;
        if (n == 0 || n > MAX_WORDS) {
                snprintf(reply, reply_size, "error: empty or too long command");
                return -1;
        }
        for (size_t i = 0; i < SF_ARRAY_SIZE(controls); i++)
                if (strcmp(w[0], controls[i].name) == 0 && n >= controls[i].min_words &&
                    n <= controls[i].max_words)
                        return controls[i].fn(m, w, n, reply, reply_size);
        snprintf(reply, reply_size,
                 "error: unknown command '%s' (down|up|disconnect BROKER|all, leader TOPIC PARTITION BROKER, "
                 "error API ERR [COUNT], topic-error TOPIC ERR, rtt BROKER MS, create TOPIC [PARTITIONS], "
                 "ping)",
                 line);
        return -1;
}
