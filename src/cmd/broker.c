/* streamflow broker: an in-memory Kafka cluster for one machine, so every
 * other command works with no Kafka installed and no flags.
 *
 * The fixed address. librdkafka 2.0.2's mock cluster binds each broker to
 * 127.0.0.1 on an ephemeral port and has no API to choose it. Rather than
 * interposing bind() (which would reach into librdkafka's internals and
 * every other socket of the process), we listen on the documented
 * 127.0.0.1:PORT ourselves and forward each connection, byte for byte, to
 * one of the mock brokers. Kafka clients only use the bootstrap address
 * for their first Metadata request: the answer lists the mock brokers'
 * own addresses, and all produce/fetch/group traffic then goes to those
 * directly. So the forwarder carries little traffic, fault injection on a
 * broker applies to clients exactly as if they had connected directly,
 * and nothing in librdkafka is patched. ::1 is forwarded too when the
 * machine has it, so "localhost:PORT" works whichever address it
 * resolves to first. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/tcp.h>

#include "cmd/cmd.h"
#include "cmd/kafka_opt.h"
#include "cmd/opt.h"
#include "kafka/kafka.h"
#include "util/util.h"

enum {
        OPT_PORT = SF_OPT_LONG,
        OPT_BROKERS,
        OPT_PARTITIONS,
        OPT_TOPIC,
        OPT_CONTROL,
        OPT_SEND,
        OPT_DAEMON,
        OPT_CHECK,
};

static const sf_option_t options[] = {
        {"port", OPT_PORT, "PORT", "listen on 127.0.0.1:PORT (default 9092; 0 picks a free port)"},
        {"brokers", OPT_BROKERS, "N", "number of brokers in the cluster (default 1)"},
        {"partitions", OPT_PARTITIONS, "N", "partitions of each StreamFlow topic (default 3)"},
        {"topic", OPT_TOPIC, "NAME[:N]", "also create topic NAME (N partitions), repeatable"},
        {"control", OPT_CONTROL, "PATH", "accept fault-injection commands on Unix socket PATH"},
        {"send", OPT_SEND, "PATH",
         "send the command operand to the broker controlled at PATH, print its answer"},
        {"daemon", OPT_DAEMON, NULL, "run in the background; print the address and the pid, then return"},
        {"check", OPT_CHECK, NULL,
         "do not run a broker: check that Kafka answers at -b, list brokers and topics"},
        {0}};

static const sf_cmd_spec_t spec = {
        "broker",
        "[--send PATH COMMAND | --check [-b BROKERS] [-X PROP=VALUE] [-F FILE]]",
        "Run an in-memory Kafka cluster for development (librdkafka's mock cluster) on 127.0.0.1.\n"
        "Prints the bootstrap address as its first line, creates topic_yt, connections,\n"
        "predictions and connections.dlq, and runs until SIGINT/SIGTERM. Data lives in memory\n"
        "only. Other topics are created on first use.\n\n"
        "Control commands (--control PATH, sent with --send PATH 'COMMAND'):\n"
        "  down BROKER|all            disconnect a broker and refuse its connections\n"
        "  up BROKER|all              accept connections again\n"
        "  disconnect [BROKER|all]    drop the current connections once\n"
        "  leader TOPIC PARTITION BROKER   move a partition's leader\n"
        "  error API ERR [COUNT]      next COUNT requests of API (Produce, Fetch, ... or a number)\n"
        "                             fail with ERR (e.g. NOT_LEADER_FOR_PARTITION, TRANSPORT)\n"
        "  topic-error TOPIC ERR      requests for TOPIC fail with ERR (NO_ERROR clears)\n"
        "  rtt BROKER|all MS          add round-trip delay\n"
        "  create TOPIC [PARTITIONS]  create a topic\n"
        "  ping                       check the broker is there",
        {options, sf_kafka_options, NULL}};

/* ----------------------------------------------------------- forwarder */

typedef struct conn {
        int client, upstream;
        pthread_t thread;
        atomic_int done; /* set by the pump thread as it ends, read by reap() */
        struct conn *next;
} conn_t;

typedef struct forwarder {
        int listen_fd[2]; /* 127.0.0.1 and ::1 (or -1) */
        int wake[2];      /* a byte here ends the accept loop */
        struct sockaddr_in upstream[16];
        int nupstream;
        int next_upstream;
        pthread_t thread;
        int thread_started;
        pthread_mutex_t lock;
        conn_t *conns;
        atomic_int stopping;
} forwarder_t;

static void write_all(int fd, const char *buf, size_t len, int *ok) {
        while (len > 0 && *ok) {
                ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
                if (w < 0) {
                        if (errno == EINTR) continue;
                        *ok = 0;
                        return;
                }
                buf += w;
                len -= (size_t)w;
        }
}

static void *pump(void *arg) {
        conn_t *c = arg;
        char *buf = malloc(65536);
        struct pollfd pfd[2] = {{c->client, POLLIN, 0}, {c->upstream, POLLIN, 0}};
        int ok = buf != NULL;
        while (ok) {
                int r = poll(pfd, 2, -1);
                if (r < 0) {
                        if (errno == EINTR) continue;
                        break;
                }
                for (int i = 0; i < 2 && ok; i++) {
                        if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                        ssize_t n = recv(pfd[i].fd, buf, 65536, 0);
                        if (n <= 0) {
                                if (n < 0 && errno == EINTR) continue;
                                ok = 0;
                                break;
                        }
                        write_all(pfd[1 - i].fd, buf, (size_t)n, &ok);
                }
        }
        free(buf);
        /* Either side closing closes the pair: the other side sees it as
         * the broker (or client) going away, which is what it is. */
        shutdown(c->client, SHUT_RDWR);
        shutdown(c->upstream, SHUT_RDWR);
        atomic_store(&c->done, 1);
        return NULL;
}

static int connect_upstream(forwarder_t *f) {
        for (int tries = 0; tries < f->nupstream; tries++) {
                int i = f->next_upstream++ % f->nupstream;
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0) return -1;
                if (connect(fd, (struct sockaddr *)&f->upstream[i], sizeof(f->upstream[i])) == 0) {
                        int one = 1;
                        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                        return fd;
                }
                close(fd);
        }
        return -1;
}

/* Joins and frees the connections that have ended (all when `all`). */
static void reap(forwarder_t *f, int all) {
        pthread_mutex_lock(&f->lock);
        conn_t **pp = &f->conns;
        while (*pp) {
                conn_t *c = *pp;
                int done = atomic_load(&c->done);
                if (all && !done) {
                        shutdown(c->client, SHUT_RDWR);
                        shutdown(c->upstream, SHUT_RDWR);
                }
                if (all || done) {
                        pthread_join(c->thread, NULL);
                        close(c->client);
                        close(c->upstream);
                        *pp = c->next;
                        free(c);
                } else {
                        pp = &c->next;
                }
        }
        pthread_mutex_unlock(&f->lock);
}

static void *accept_loop(void *arg) {
        forwarder_t *f = arg;
        struct pollfd pfd[3];
        int n = 0;
        pfd[n++] = (struct pollfd){f->wake[0], POLLIN, 0};
        for (int i = 0; i < 2; i++)
                if (f->listen_fd[i] >= 0) pfd[n++] = (struct pollfd){f->listen_fd[i], POLLIN, 0};
        while (!atomic_load(&f->stopping)) {
                int r = poll(pfd, (nfds_t)n, 1000);
                if (r < 0 && errno != EINTR) break;
                if (pfd[0].revents) break;
                reap(f, 0);
                for (int i = 1; i < n; i++) {
                        if (!(pfd[i].revents & POLLIN)) continue;
                        int client = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
                        if (client < 0) continue;
                        int upstream = connect_upstream(f);
                        conn_t *c = upstream >= 0 ? calloc(1, sizeof(*c)) : NULL;
                        if (!c) {
                                /* Refusing is what a down broker does too. */
                                close(client);
                                if (upstream >= 0) close(upstream);
                                continue;
                        }
                        int one = 1;
                        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                        c->client = client;
                        c->upstream = upstream;
                        pthread_mutex_lock(&f->lock);
                        if (pthread_create(&c->thread, NULL, pump, c) != 0) {
                                pthread_mutex_unlock(&f->lock);
                                close(client);
                                close(upstream);
                                free(c);
                                continue;
                        }
                        c->next = f->conns;
                        f->conns = c;
                        pthread_mutex_unlock(&f->lock);
                }
        }
        return NULL;
}

/* Binds a listening socket; returns the fd or -1 with errno. */
static int listen_on(int family, int port, int *bound_port) {
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_storage ss;
        socklen_t len;
        memset(&ss, 0, sizeof(ss));
        if (family == AF_INET) {
                struct sockaddr_in *a = (struct sockaddr_in *)&ss;
                a->sin_family = AF_INET;
                a->sin_port = htons((uint16_t)port);
                a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                len = sizeof(*a);
        } else {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
                a->sin6_family = AF_INET6;
                a->sin6_port = htons((uint16_t)port);
                a->sin6_addr = in6addr_loopback;
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
                len = sizeof(*a);
        }
        if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0) {
                int e = errno;
                close(fd);
                errno = e;
                return -1;
        }
        if (bound_port) {
                len = sizeof(ss);
                getsockname(fd, (struct sockaddr *)&ss, &len);
                *bound_port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                      : ((struct sockaddr_in6 *)&ss)->sin6_port);
        }
        return fd;
}

/* Parses the mock's "127.0.0.1:P1,127.0.0.1:P2" into f->upstream. */
static int parse_bootstraps(forwarder_t *f, const char *list, char *errstr, size_t errstr_size) {
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", list);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && f->nupstream < 16;
             tok = strtok_r(NULL, ",", &save)) {
                char *colon = strrchr(tok, ':');
                if (!colon) continue;
                *colon = '\0';
                struct sockaddr_in *a = &f->upstream[f->nupstream];
                memset(a, 0, sizeof(*a));
                a->sin_family = AF_INET;
                a->sin_port = htons((uint16_t)atoi(colon + 1));
                if (inet_pton(AF_INET, tok, &a->sin_addr) != 1) continue;
                f->nupstream++;
        }
        if (f->nupstream == 0) {
                snprintf(errstr, errstr_size, "cannot parse the mock cluster's address list '%s'", list);
                return -1;
        }
        return 0;
}

static int forwarder_start(forwarder_t *f, int port, const char *bootstraps, int *bound_port, char *errstr,
                           size_t errstr_size) {
        f->listen_fd[0] = f->listen_fd[1] = -1;
        f->wake[0] = f->wake[1] = -1;
        pthread_mutex_init(&f->lock, NULL);
        if (parse_bootstraps(f, bootstraps, errstr, errstr_size) < 0) return -1;
        f->listen_fd[0] = listen_on(AF_INET, port, bound_port);
        if (f->listen_fd[0] < 0) {
                if (errno == EADDRINUSE)
                        snprintf(errstr, errstr_size,
                                 "127.0.0.1:%d is already in use (another Kafka or 'streamflow broker'?): "
                                 "stop it, "
                                 "or choose another port with --port (0 picks a free one)",
                                 port);
                else
                        snprintf(errstr, errstr_size, "cannot listen on 127.0.0.1:%d: %s", port,
                                 strerror(errno));
                return -1;
        }
        /* Best effort: no ::1 on this machine, or something else there. */
        f->listen_fd[1] = listen_on(AF_INET6, *bound_port, NULL);
        if (pipe2(f->wake, O_CLOEXEC) < 0) {
                snprintf(errstr, errstr_size, "pipe: %s", strerror(errno));
                return -1;
        }
        if (pthread_create(&f->thread, NULL, accept_loop, f) != 0) {
                snprintf(errstr, errstr_size, "cannot start the forwarding thread");
                return -1;
        }
        f->thread_started = 1;
        return 0;
}

static void forwarder_stop(forwarder_t *f) {
        atomic_store(&f->stopping, 1);
        if (f->thread_started) {
                ssize_t w = write(f->wake[1], "x", 1);
                (void)w;
                pthread_join(f->thread, NULL);
        }
        reap(f, 1);
        for (int i = 0; i < 2; i++)
                if (f->listen_fd[i] >= 0) close(f->listen_fd[i]);
        for (int i = 0; i < 2; i++)
                if (f->wake[i] >= 0) close(f->wake[i]);
        pthread_mutex_destroy(&f->lock);
}

/* ------------------------------------------------------ control socket */

static int control_listen(const char *path, char *errstr, size_t errstr_size) {
        struct sockaddr_un a;
        memset(&a, 0, sizeof(a));
        a.sun_family = AF_UNIX;
        if (strlen(path) >= sizeof(a.sun_path)) {
                snprintf(errstr, errstr_size, "control socket path '%s' is too long (max %zu bytes)", path,
                         sizeof(a.sun_path) - 1);
                return -1;
        }
        strcpy(a.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                snprintf(errstr, errstr_size, "socket: %s", strerror(errno));
                return -1;
        }
        /* A socket file left by a broker that was killed: replace it, but
         * never a live one. */
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
                snprintf(errstr, errstr_size, "control socket '%s' is in use by a running broker", path);
                close(fd);
                return -1;
        }
        close(fd);
        unlink(path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
                snprintf(errstr, errstr_size, "cannot listen on control socket '%s': %s", path,
                         strerror(errno));
                if (fd >= 0) close(fd);
                return -1;
        }
        return fd;
}

/* Reads one line (at most size-1 bytes) within ~2 s. Returns its length or -1. */
static int read_line(int fd, char *buf, size_t size) {
        size_t n = 0;
        struct pollfd pfd = {fd, POLLIN, 0};
        while (n + 1 < size) {
                if (poll(&pfd, 1, 2000) <= 0) return -1;
                ssize_t r = recv(fd, buf + n, 1, 0);
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) break;
                if (buf[n] == '\n') break;
                n++;
        }
        buf[n] = '\0';
        return (int)n;
}

static void control_serve(int lfd, sf_kafka_mock_t *mock) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) return;
        char line[512], reply[1024];
        if (read_line(fd, line, sizeof(line)) < 0) {
                close(fd);
                return;
        }
        sf_kafka_mock_control(mock, line, reply, sizeof(reply));
        fprintf(stderr, "streamflow broker: control: %s -> %s\n", line, reply);
        size_t len = strlen(reply);
        reply[len++] = '\n';
        int ok = 1;
        write_all(fd, reply, len, &ok);
        close(fd);
}

static int control_send(const char *path, const char *command) {
        struct sockaddr_un a;
        memset(&a, 0, sizeof(a));
        a.sun_family = AF_UNIX;
        if (strlen(path) >= sizeof(a.sun_path)) {
                fprintf(stderr, "streamflow broker: control socket path '%s' is too long\n", path);
                return 1;
        }
        strcpy(a.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
                fprintf(stderr,
                        "streamflow broker: cannot reach the broker's control socket '%s': %s (is "
                        "'streamflow "
                        "broker --control %s' running?)\n",
                        path, strerror(errno), path);
                if (fd >= 0) close(fd);
                return 1;
        }
        char line[600], reply[1024];
        int n = snprintf(line, sizeof(line), "%s\n", command);
        int ok = n > 0 && (size_t)n < sizeof(line);
        if (!ok) {
                fprintf(stderr, "streamflow broker: command too long\n");
                close(fd);
                return 2;
        }
        write_all(fd, line, (size_t)n, &ok);
        if (!ok || read_line(fd, reply, sizeof(reply)) <= 0) {
                fprintf(stderr, "streamflow broker: no answer from the control socket '%s'\n", path);
                close(fd);
                return 1;
        }
        close(fd);
        printf("%s\n", reply);
        return strncmp(reply, "ok", 2) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------- --check */

/* Connects like every pipeline command does, then lists what it sees. */
static int check_cluster(const sf_kafka_conf_t *kconf) {
        char errstr[1024];
        const struct rd_kafka_metadata *md = NULL;
        sf_producer_t *prod = sf_producer_new(kconf, NULL, NULL, errstr, sizeof(errstr));
        if (!prod) {
                fprintf(stderr, "streamflow broker: %s\n", errstr);
                return 1;
        }
        int rc = 1;
        rd_kafka_resp_err_t err = rd_kafka_metadata(sf_producer_handle(prod), 1, NULL, &md, 5000);
        if (err) {
                fprintf(stderr, "streamflow broker: Kafka at %s answered, but not with its topic list: %s\n",
                        sf_kafka_conf_brokers(kconf), rd_kafka_err2str(err));
                goto out;
        }
        printf("%s: Kafka answers (%d broker%s, %d topic%s)\n", sf_kafka_conf_brokers(kconf), md->broker_cnt,
               md->broker_cnt == 1 ? "" : "s", md->topic_cnt, md->topic_cnt == 1 ? "" : "s");
        for (int i = 0; i < md->broker_cnt; i++)
                printf("broker %d %s:%d\n", (int)md->brokers[i].id, md->brokers[i].host, md->brokers[i].port);
        for (int i = 0; i < md->topic_cnt; i++)
                printf("topic %s %d partition%s%s%s\n", md->topics[i].topic, md->topics[i].partition_cnt,
                       md->topics[i].partition_cnt == 1 ? "" : "s", md->topics[i].err ? " error: " : "",
                       md->topics[i].err ? rd_kafka_err2str(md->topics[i].err) : "");
        rc = 0;
out:
        if (md) rd_kafka_metadata_destroy(md);
        sf_producer_destroy(prod);
        return rc;
}

/* ------------------------------------------------------------- command */

typedef struct topic_spec {
        const char *name;
        int partitions; /* 0: --partitions */
} topic_spec_t;

/* What the command line asked for. */
typedef struct broker_opts {
        long long port, nbrokers, partitions;
        int daemon, check, kafka_opts;
        const char *control, *send_path;
        sf_kafka_conf_t *kconf; /* -b/-X/-F, for --check */
        topic_spec_t topics[64];
        size_t ntopics;
        char *topic_names[64]; /* owned: the names in topics[] point here */
} broker_opts_t;

static void opts_free(broker_opts_t *o) {
        sf_kafka_conf_destroy(o->kconf);
        for (size_t t = 0; t < o->ntopics; t++) free(o->topic_names[t]);
}

/* --topic NAME[:N]. Returns 0, or the exit code (2 usage, 1 out of memory). */
static int parse_topic(broker_opts_t *o, const char *arg) {
        if (o->ntopics >= SF_ARRAY_SIZE(o->topics)) {
                sf_opt_usage(&spec, "at most %zu --topic options", SF_ARRAY_SIZE(o->topics));
                return 2;
        }
        char *name = strdup(arg);
        if (!name) return 1;
        long long np = 0;
        char *colon = strchr(name, ':');
        if (colon) {
                *colon = '\0';
                if (sf_opt_long(&spec, "--topic NAME:N", colon + 1, 1, 1000, &np) < 0) {
                        free(name);
                        return 2;
                }
        }
        if (!sf_kafka_topic_valid(name)) {
                sf_opt_usage(&spec, "invalid topic name '%s' (letters, digits, '.', '_', '-')", name);
                free(name);
                return 2;
        }
        o->topic_names[o->ntopics] = name;
        o->topics[o->ntopics++] = (topic_spec_t){name, (int)np};
        return 0;
}

/* One option of the command's own. Returns 0, or the exit code. */
static int parse_option(broker_opts_t *o, int c, const char *arg) {
        switch (c) {
        case OPT_PORT:
                return sf_opt_long(&spec, "--port", arg, 0, 65535, &o->port) < 0 ? 2 : 0;
        case OPT_BROKERS:
                return sf_opt_long(&spec, "--brokers", arg, 1, 16, &o->nbrokers) < 0 ? 2 : 0;
        case OPT_PARTITIONS:
                return sf_opt_long(&spec, "--partitions", arg, 1, 1000, &o->partitions) < 0 ? 2 : 0;
        case OPT_TOPIC:
                return parse_topic(o, arg);
        case OPT_CONTROL:
                o->control = arg;
                break;
        case OPT_SEND:
                o->send_path = arg;
                break;
        case OPT_DAEMON:
                o->daemon = 1;
                break;
        case OPT_CHECK:
                o->check = 1;
                break;
        }
        return 0;
}

/* Reads the options into o and checks they go together. Returns -1 when
 * the command goes on (the --send COMMAND in argv[1]), or the exit code. */
static int parse_args(broker_opts_t *o, int argc, char **argv) {
        sf_optparser_t p;
        const char *arg;
        int c;
        sf_opt_init(&p, &spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                int rc;
                if (sf_kafka_is_opt(c)) {
                        if (!o->kconf && !(o->kconf = sf_kafka_conf_new())) return 1;
                        int kr = sf_cmd_kafka_opt(&spec, o->kconf, c, arg);
                        if (kr == SF_OPT_EXIT) return 0;
                        if (kr == SF_OPT_USAGE) return 2;
                        o->kafka_opts = 1;
                } else if ((rc = parse_option(o, c, arg)) != 0) {
                        return rc;
                }
        }
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        int nops = p.nops;
        if (o->kafka_opts && !o->check) {
                sf_opt_usage(&spec, "-b, -X and -F only apply with --check");
                return 2;
        }
        if (o->send_path && !o->check && nops != 1) {
                sf_opt_usage(&spec, "--send PATH needs exactly one COMMAND, e.g. 'down 1'");
                return 2;
        }
        if ((o->check || !o->send_path) && nops > 0) {
                sf_opt_usage(&spec, "unexpected argument '%s'", argv[1]);
                return 2;
        }
        return -1;
}

/* --daemon: forks before any thread exists (librdkafka's would not survive
 * it). The parent waits for the child's first word on a pipe, prints the
 * address and pid and returns the exit code; the child detaches, sets
 * *ready_fd to the pipe and gets -1 (go on). */
static int daemonize(int *ready_fd) {
        int pfd[2];
        if (pipe(pfd) < 0) {
                fprintf(stderr, "streamflow broker: pipe: %s\n", strerror(errno));
                return 1;
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
                fprintf(stderr, "streamflow broker: fork: %s\n", strerror(errno));
                close(pfd[0]);
                close(pfd[1]);
                return 1;
        }
        if (pid == 0) {
                close(pfd[0]);
                *ready_fd = pfd[1];
                setsid();
                int devnull = open("/dev/null", O_RDWR);
                if (devnull >= 0) {
                        dup2(devnull, STDIN_FILENO);
                        dup2(devnull, STDOUT_FILENO);
                        dup2(devnull, STDERR_FILENO);
                        if (devnull > 2) close(devnull);
                }
                return -1;
        }
        close(pfd[1]);
        char buf[1024];
        size_t n = 0;
        ssize_t r;
        while (n < sizeof(buf) - 1 && (r = read(pfd[0], buf + n, sizeof(buf) - 1 - n)) != 0) {
                if (r < 0) {
                        if (errno == EINTR) continue;
                        break;
                }
                n += (size_t)r;
        }
        buf[n] = '\0';
        close(pfd[0]);
        if (strncmp(buf, "ok ", 3) != 0) {
                int status;
                waitpid(pid, &status, 0);
                fprintf(stderr, "streamflow broker: %s\n", n ? buf : "the background broker did not start");
                return 1;
        }
        printf("%s\n", buf + 3);
        printf("in-memory Kafka for development, running in the background as pid %d; stop it with: kill "
               "%d\n",
               (int)pid, (int)pid);
        return 0;
}

/* The four StreamFlow topics (--topic NAME:N may set their partitions),
 * then the other --topic ones. */
static int create_topics(sf_kafka_mock_t *mock, const broker_opts_t *o, char *errstr, size_t errstr_size) {
        static const char *const builtin[] = {SF_TOPIC_YT, SF_TOPIC_CONNECTIONS, SF_TOPIC_PREDICTIONS,
                                              SF_TOPIC_DLQ};
        for (size_t i = 0; i < SF_ARRAY_SIZE(builtin); i++) {
                int np = (int)o->partitions;
                for (size_t t = 0; t < o->ntopics; t++)
                        if (strcmp(o->topics[t].name, builtin[i]) == 0 && o->topics[t].partitions)
                                np = o->topics[t].partitions;
                if (sf_kafka_mock_topic(mock, builtin[i], np, errstr, errstr_size) < 0) return -1;
        }
        for (size_t t = 0; t < o->ntopics; t++) {
                int builtin_topic = 0;
                for (size_t i = 0; i < SF_ARRAY_SIZE(builtin); i++)
                        if (strcmp(o->topics[t].name, builtin[i]) == 0) builtin_topic = 1;
                if (!builtin_topic && sf_kafka_mock_topic(mock, o->topics[t].name, o->topics[t].partitions,
                                                          errstr, errstr_size) < 0)
                        return -1;
        }
        return 0;
}

/* Tells whoever waits (the --daemon parent, then stdout) where the broker is. */
static void announce(const broker_opts_t *o, int bound, int *ready_fd) {
        if (*ready_fd >= 0) {
                char msg[64];
                int n = snprintf(msg, sizeof(msg), "ok 127.0.0.1:%d", bound);
                ssize_t w = write(*ready_fd, msg, (size_t)n);
                (void)w;
                close(*ready_fd);
                *ready_fd = -1;
        }
        printf("127.0.0.1:%d\n", bound);
        printf("in-memory Kafka for development (librdkafka mock cluster, %d broker%s): data is lost when it "
               "stops; topics %s, %s, %s, %s have %d partitions. Ctrl-C stops it.\n",
               (int)o->nbrokers, o->nbrokers > 1 ? "s" : "", SF_TOPIC_YT, SF_TOPIC_CONNECTIONS,
               SF_TOPIC_PREDICTIONS, SF_TOPIC_DLQ, (int)o->partitions);
        fflush(stdout);
}

/* Runs the cluster, the forwarder and the control socket until SIGINT or
 * SIGTERM. Returns the exit code; a failure to start is also written to
 * *ready_fd (the --daemon parent's pipe) when it is open. */
static int serve(const broker_opts_t *o, int *ready_fd) {
        char errstr[512];
        forwarder_t fwd;
        int forwarding = 0, control_fd = -1, bound = 0, rc = 1;
        sf_kafka_mock_t *mock = NULL;

        memset(&fwd, 0, sizeof(fwd));
        sf_kafka_install_signals();
        signal(SIGPIPE, SIG_IGN);
        mock = sf_kafka_mock_new((int)o->nbrokers, (int)o->partitions, errstr, sizeof(errstr));
        if (!mock || create_topics(mock, o, errstr, sizeof(errstr)) < 0) goto fail;
        if (forwarder_start(&fwd, (int)o->port, sf_kafka_mock_bootstraps(mock), &bound, errstr,
                            sizeof(errstr)) < 0)
                goto fail;
        forwarding = 1;
        if (o->control && (control_fd = control_listen(o->control, errstr, sizeof(errstr))) < 0) goto fail;

        announce(o, bound, ready_fd);
        while (sf_kafka_running()) {
                struct pollfd pfd = {control_fd, POLLIN, 0};
                int r = poll(&pfd, control_fd >= 0 ? 1 : 0, 200);
                if (r > 0 && (pfd.revents & POLLIN)) control_serve(control_fd, mock);
        }
        rc = 0;
        goto out;
fail:
        if (*ready_fd >= 0) {
                ssize_t w = write(*ready_fd, errstr, strlen(errstr));
                (void)w;
        }
        fprintf(stderr, "streamflow broker: %s\n", errstr);
out:
        if (control_fd >= 0) {
                close(control_fd);
                unlink(o->control);
        }
        if (forwarding) forwarder_stop(&fwd);
        sf_kafka_mock_destroy(mock);
        return rc;
}

int cmd_broker(int argc, char **argv) {
        broker_opts_t o;
        int ready_fd = -1;

        memset(&o, 0, sizeof(o));
        o.port = 9092;
        o.nbrokers = 1;
        o.partitions = 3;
        int rc = parse_args(&o, argc, argv);
        if (rc >= 0) goto out;
        if (o.check) {
                rc = 1;
                if (o.kconf || (o.kconf = sf_kafka_conf_new())) rc = check_cluster(o.kconf);
                goto out;
        }
        if (o.send_path) {
                rc = control_send(o.send_path, argv[1]);
                goto out;
        }
        if (o.daemon && (rc = daemonize(&ready_fd)) >= 0) goto out;
        rc = serve(&o, &ready_fd);
out:
        if (ready_fd >= 0) close(ready_fd);
        opts_free(&o);
        return rc;
}
