/* StreamFlow's Kafka layer against `streamflow broker` running as a
 * separate process ($SF, set by tests/run): produce and consume, a group
 * resuming after a clean stop, faults injected through the control socket
 * (broker down, leader move, disconnect, with and without requests in
 * flight, permanent produce error). */
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kafka/kafka.h"
#include "test.h"
#include "util/util.h"

extern char **environ;

static pid_t broker_pid = -1;
static char brokers[256];
static char control[100];
static char logbuf[65536];
static size_t loglen;

/* What the Kafka layer logged during the current test; when full, the
 * older half is dropped, so the last lines are always there. */
static void capture(void *ctx, int level, const char *msg) {
        if (loglen > sizeof(logbuf) / 2) {
                const char *nl = strchr(logbuf + loglen - sizeof(logbuf) / 4, '\n');
                size_t keep = nl ? loglen - (size_t)(nl + 1 - logbuf) : 0;
                memmove(logbuf, logbuf + loglen - keep, keep + 1);
                loglen = keep;
        }
        int n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "%d %s\n", level, msg);
        if (n > 0 && (size_t)n < sizeof(logbuf) - loglen) loglen += (size_t)n;
}

static void log_reset(void) {
        loglen = 0;
        logbuf[0] = '\0';
}

/* After a failed test: the last lines the Kafka layer logged, which say
 * why (a refused commit, a member dropped from its group, a timeout). */
static void log_show(void) {
        int lines = 0;
        const char *p = logbuf + loglen;
        while (p > logbuf && lines <= 12)
                if (*--p == '\n') lines++;
        if (p > logbuf) p++;
        printf("#   the Kafka layer's last log lines:%s\n", *p ? "" : " none");
        while (*p) {
                const char *nl = strchr(p, '\n');
                int len = nl ? (int)(nl - p) : (int)strlen(p);
                printf("#   | %.*s\n", len > 300 ? 300 : len, p);
                p += len + (nl ? 1 : 0);
        }
}

/* RUN with the log kept for the test and shown when it fails. */
#define RUN_LOGGED(fn)                                                                                       \
        do {                                                                                                 \
                log_reset();                                                                                 \
                RUN(fn);                                                                                     \
                if (test_failed_checks && !test_skip_reason) log_show();                                     \
        } while (0)

/* Starts `$SF broker --port 0 --brokers 3` and reads its first line. */
static int broker_start(void) {
        const char *sf = getenv("SF");
        if (!sf) return -1;
        int pfd[2];
        if (pipe(pfd) < 0) return -1;
        snprintf(control, sizeof(control), "/tmp/sf-test-broker-%d.sock", (int)getpid());
        char *argv[] = {(char *)sf, "broker", "--port", "0", "--brokers", "3", "--control", control, NULL};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&fa, pfd[0]);
        int rc = posix_spawn(&broker_pid, sf, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(pfd[1]);
        if (rc != 0) {
                close(pfd[0]);
                return -1;
        }
        FILE *out = fdopen(pfd[0], "r");
        if (!out) return -1;
        char line[256] = "";
        int ok = fgets(line, sizeof(line), out) != NULL;
        fclose(out); /* the broker ignores SIGPIPE; its note line may fail to print */
        if (!ok) return -1;
        line[strcspn(line, "\n")] = '\0';
        snprintf(brokers, sizeof(brokers), "%s", line);
        for (int i = 0; i < 100 && access(control, F_OK) != 0; i++) usleep(20000);
        return 0;
}

static int broker_stop(void) {
        if (broker_pid < 0) return -1;
        int status = 0;
        kill(broker_pid, SIGTERM);
        waitpid(broker_pid, &status, 0);
        broker_pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* One control command; returns 0 when the broker answered "ok". */
static int ctl(const char *cmd) {
        struct sockaddr_un a;
        memset(&a, 0, sizeof(a));
        a.sun_family = AF_UNIX;
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", control);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0) return -1;
        char reply[256] = "";
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || write(fd, cmd, strlen(cmd)) < 0 ||
            write(fd, "\n", 1) < 0 || read(fd, reply, sizeof(reply) - 1) <= 0) {
                close(fd);
                return -1;
        }
        close(fd);
        return strncmp(reply, "ok", 2) == 0 ? 0 : -1;
}

static sf_kafka_conf_t *conf_new(void) {
        sf_kafka_conf_t *conf = sf_kafka_conf_new();
        char e[256];
        if (!conf) return NULL;
        sf_kafka_conf_set_brokers(conf, brokers);
        sf_kafka_conf_set_log(conf, capture, NULL);
        /* The mock holds an emptied group for session.timeout.ms - 1 s. */
        if (sf_kafka_conf_set(conf, "session.timeout.ms", "3000", e, sizeof(e)) < 0 ||
            sf_kafka_conf_set(conf, "heartbeat.interval.ms", "1000", e, sizeof(e)) < 0)
                printf("# %s\n", e);
        return conf;
}

enum { N = 3000 };
static int acked[N], seen[N];

static void on_dr(void *ctx, const rd_kafka_message_t *msg, void *opaque) {
        if (!msg->err) acked[(intptr_t)opaque]++;
}

/* Reads `topic` to its end in group (or no group), counting keys "k<seq>". */
static int consume(sf_kafka_conf_t *conf, const char *topic, const char *group, int max) {
        char err[512];
        const char *topics[] = {topic};
        sf_consumer_opts_t opts = {.group = group, .exit_at_end = true};
        sf_consumer_t *c = sf_consumer_new(conf, topics, 1, &opts, err, sizeof(err));
        CHECK_MSG(c != NULL, "%s", err);
        if (!c) return -1;
        int got = 0;
        int64_t deadline = sf_now_ns() + 30LL * 1000000000;
        while (sf_now_ns() < deadline && !sf_consumer_at_end(c) && (max <= 0 || got < max)) {
                rd_kafka_message_t *m = sf_consumer_poll(c, 100);
                if (!m) continue;
                char k[16] = "";
                if (m->key_len > 1 && m->key_len < sizeof(k)) memcpy(k, m->key, m->key_len);
                int seq = atoi(k + 1);
                if (k[0] == 'k' && seq >= 0 && seq < N) seen[seq]++;
                got++;
                CHECK(sf_consumer_store(c, m, err, sizeof(err)) == 0);
                rd_kafka_message_destroy(m);
        }
        CHECK_MSG(sf_consumer_close(c, err, sizeof(err)) == 0, "%s", err);
        return got;
}

/* Prints, after a failed count, which keys were acknowledged or read other
 * than once, as runs of consecutive keys with the same count (at most 8),
 * so that a failure says where in the stream it happened. */
static void show_miscounted(const char *what, const int *count) {
        int runs = 0;
        for (int i = 0; i < N && runs < 8;) {
                if (count[i] == 1) {
                        i++;
                        continue;
                }
                int j = i;
                while (j + 1 < N && count[j + 1] == count[i]) j++;
                printf("#   %s %d time(s): k%d..k%d (%d)\n", what, count[i], i, j, j - i + 1);
                runs++;
                i = j + 1;
        }
}

/* The development broker (librdkafka 2.0.2's mock cluster) checks the
 * sequence numbers of transactional producers only. A produce request it
 * wrote whose reply a cut connection lost is written again when the
 * idempotent producer retries it, where a real cluster drops the retry
 * (seen: 160 messages read twice). And a later request it accepts while an
 * earlier one cut off is still to be retried is taken by librdkafka as
 * proof that the earlier one was written (a real cluster would refuse the
 * later one as out of order), so that one is reported delivered and never
 * written (seen: 3 messages missing, all acknowledged). So the exactly-once
 * checks below cut connections (broker down, disconnect) only once every
 * message sent so far is acknowledged; test_cut_in_flight cuts them with
 * requests in flight. */
static void send_range(sf_producer_t *p, const char *topic, int from, int to, int pause_us) {
        char err[512], key[16], val[32];
        for (int i = from; i < to; i++) {
                int kl = snprintf(key, sizeof(key), "k%d", i), vl = snprintf(val, sizeof(val), "v%d", i);
                CHECK_MSG(sf_producer_send(p, topic, -1, key, (size_t)kl, val, (size_t)vl, NULL,
                                           (void *)(intptr_t)i, err, sizeof(err)) == 0,
                          "%s", err);
                if (pause_us) usleep((useconds_t)pause_us);
        }
}

/* 3000 messages while broker 1 goes down for ~2 s, a leader moves and
 * every connection is cut: each acknowledged once, read once. */
static void test_faults_through_control(void) {
        char err[512];
        sf_kafka_conf_t *conf = conf_new();
        sf_producer_t *p = sf_producer_new(conf, on_dr, NULL, err, sizeof(err));
        CHECK_MSG(p != NULL, "%s", err);
        if (!p) goto out;
        send_range(p, "connections", 0, 600, 0);
        CHECK_INT(sf_producer_flush(p, 30000), 0); /* nothing in flight: see above */
        CHECK(ctl("down 1") == 0);
        send_range(p, "connections", 600, 1000, 5000); /* 2 s */
        CHECK(ctl("up 1") == 0);
        send_range(p, "connections", 1000, 1500, 0);
        CHECK(ctl("leader connections 0 3") == 0);
        send_range(p, "connections", 1500, 2000, 0);
        CHECK_INT(sf_producer_flush(p, 30000), 0);
        CHECK(ctl("disconnect") == 0);
        send_range(p, "connections", 2000, 2500, 0);
        CHECK(ctl("error Produce NOT_LEADER_FOR_PARTITION 3") == 0);
        send_range(p, "connections", 2500, N, 0);
        CHECK_INT(sf_producer_flush(p, 30000), 0);
        sf_producer_destroy(p);
        int got = consume(conf, "connections", NULL, 0);
        CHECK_INT(got, N);
        int bad = 0;
        for (int i = 0; i < N; i++) bad += acked[i] != 1 || seen[i] != 1;
        CHECK_MSG(bad == 0, "%d messages not acknowledged once and read once", bad);
        if (bad) show_miscounted("acknowledged", acked), show_miscounted("read", seen);
out:
        sf_kafka_conf_destroy(conf);
}

/* Every connection cut while produce requests are in flight: each message
 * gets exactly one delivery report, a success. What the log then holds is
 * not checked: the development broker may have written a request in
 * flight twice, or not at all (see above); the copies and the missing are
 * printed. */
static void test_cut_in_flight(void) {
        char err[512];
        memset(acked, 0, sizeof(acked));
        memset(seen, 0, sizeof(seen));
        sf_kafka_conf_t *conf = conf_new();
        sf_producer_t *p = sf_producer_new(conf, on_dr, NULL, err, sizeof(err));
        CHECK_MSG(p != NULL, "%s", err);
        if (!p) goto out;
        send_range(p, "cut", 0, N / 2, 0);
        CHECK(ctl("disconnect") == 0);
        send_range(p, "cut", N / 2, N, 0);
        CHECK_INT(sf_producer_flush(p, 30000), 0);
        sf_producer_destroy(p);
        int acks = 0, copies = 0, missing = 0;
        for (int i = 0; i < N; i++) acks += acked[i] != 1;
        CHECK_MSG(acks == 0, "%d messages not acknowledged exactly once", acks);
        if (acks) show_miscounted("acknowledged", acked);
        consume(conf, "cut", NULL, 0);
        for (int i = 0; i < N; i++) {
                copies += seen[i] > 1 ? seen[i] - 1 : 0;
                missing += seen[i] == 0;
        }
        printf("#   the broker holds %d extra cop(ies) and misses %d of the messages\n", copies, missing);
out:
        sf_kafka_conf_destroy(conf);
}

/* A group reads part of the topic, stops cleanly; the next member goes
 * on from the committed offsets: all read, none twice. */
static void test_group_resume(void) {
        memset(seen, 0, sizeof(seen));
        sf_kafka_conf_t *conf = conf_new();
        int first = consume(conf, "connections", "g-broker", 1000);
        CHECK_INT(first, 1000);
        int second = consume(conf, "connections", "g-broker", 0);
        CHECK_INT(second, N - 1000);
        int bad = 0;
        for (int i = 0; i < N; i++) bad += seen[i] != 1;
        CHECK_MSG(bad == 0, "%d messages not read exactly once across the restart", bad);
        if (bad) show_miscounted("read", seen);
        sf_kafka_conf_destroy(conf);
}

/* Produce requests refused for good: each failure reported, flush > 0. */
static void test_permanent_error(void) {
        char err[512];
        sf_kafka_conf_t *conf = conf_new();
        CHECK(sf_kafka_conf_set(conf, "message.timeout.ms", "3000", err, sizeof(err)) == 0);
        sf_producer_t *p = sf_producer_new(conf, NULL, NULL, err, sizeof(err));
        CHECK_MSG(p != NULL, "%s", err);
        if (p) {
                CHECK(ctl("error Produce TOPIC_AUTHORIZATION_FAILED 500") == 0);
                for (int i = 0; i < 5; i++)
                        CHECK(sf_producer_send(p, "predictions", 0, "k", 1, "v", 1, NULL, NULL, err,
                                               sizeof(err)) == 0);
                CHECK_INT(sf_producer_flush(p, 10000), 5);
                CHECK_INT(sf_producer_stats(p).failed, 5);
                CHECK_MSG(strstr(logbuf, "delivery to predictions [0] failed") != NULL, "log: %s", logbuf);
                sf_producer_destroy(p);
        }
        sf_kafka_conf_destroy(conf);
}

static void test_broker_process(void) {
        SKIP("$SF is not set: run this through tests/run");
}

int main(void) {
        if (!getenv("SF")) {
                RUN(test_broker_process);
                return 0;
        }
        if (broker_start() < 0) {
                printf("not ok - streamflow broker did not start\n");
                return 1;
        }
        RUN_LOGGED(test_faults_through_control);
        RUN_LOGGED(test_group_resume);
        RUN_LOGGED(test_cut_in_flight);
        RUN_LOGGED(test_permanent_error);
        int rc = broker_stop();
        CHECK_INT(rc, 0);
        printf("%s - broker exits 0 on SIGTERM\n", rc == 0 ? "ok" : "not ok");
        unlink(control);
        return TEST_DONE() || rc != 0;
}
