/* The client configuration and the run flag. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kafka_int.h"

bool sf_kafka_prop_is_secret(const char *name) {
        static const char *const words[] = {"password", "secret",     "key",        "token",
                                            "jaas",     "credential", "oauthbearer"};
        for (size_t i = 0; i < SF_ARRAY_SIZE(words); i++)
                if (strstr(name, words[i])) return true;
        return false;
}

static char *dup_str(const char *s) {
        size_t n = strlen(s) + 1;
        char *d = malloc(n);
        if (d) memcpy(d, s, n);
        return d;
}

sf_kafka_conf_t *sf_kafka_conf_new(void) {
        sf_kafka_conf_t *conf = calloc(1, sizeof(*conf));
        if (!conf) return NULL;
        const char *env = getenv(SF_KAFKA_BROKERS_ENV);
        conf->brokers = dup_str(env && *env ? env : SF_KAFKA_DEFAULT_BROKERS);
        conf->connect_timeout_ms = SF_KAFKA_CONNECT_TIMEOUT_MS;
        if (!conf->brokers) {
                free(conf);
                return NULL;
        }
        return conf;
}

sf_kafka_conf_t *sf_kafka_conf_dup(const sf_kafka_conf_t *conf) {
        sf_kafka_conf_t *d = calloc(1, sizeof(*d));
        if (!d) return NULL;
        d->brokers = dup_str(conf->brokers);
        d->props = conf->nprops ? calloc(conf->nprops, sizeof(*d->props)) : NULL;
        d->log = conf->log;
        d->log_ctx = conf->log_ctx;
        d->connect_timeout_ms = conf->connect_timeout_ms;
        if (!d->brokers || (conf->nprops && !d->props)) goto oom;
        for (; d->nprops < conf->nprops; d->nprops++) {
                sf_kafka_prop_t *to = &d->props[d->nprops];
                to->name = dup_str(conf->props[d->nprops].name);
                to->value = dup_str(conf->props[d->nprops].value);
                if (!to->name || !to->value) {
                        d->nprops++; /* freed below */
                        goto oom;
                }
        }
        return d;
oom:
        sf_kafka_conf_destroy(d);
        return NULL;
}

void sf_kafka_conf_destroy(sf_kafka_conf_t *conf) {
        if (!conf) return;
        for (size_t i = 0; i < conf->nprops; i++) {
                free(conf->props[i].name);
                if (conf->props[i].value) {
                        /* Values may be secrets: do not leave them in freed memory. */
                        memset(conf->props[i].value, 0, strlen(conf->props[i].value));
                        free(conf->props[i].value);
                }
        }
        free(conf->props);
        free(conf->brokers);
        free(conf);
}

bool sf_kafka_is_opt(int key) {
        return key == SF_KAFKA_OPT_BROKERS || key == SF_KAFKA_OPT_PROP || key == SF_KAFKA_OPT_FILE;
}

void sf_kafka_conf_set_brokers(sf_kafka_conf_t *conf, const char *brokers) {
        char *b = dup_str(brokers);
        if (!b) return; /* keeps the previous value; only on out of memory */
        free(conf->brokers);
        conf->brokers = b;
}

const char *sf_kafka_conf_brokers(const sf_kafka_conf_t *conf) {
        return conf->brokers;
}

void sf_kafka_conf_set_log(sf_kafka_conf_t *conf, sf_kafka_log_fn fn, void *ctx) {
        conf->log = fn;
        conf->log_ctx = ctx;
}

void sf_kafka_conf_set_connect_timeout(sf_kafka_conf_t *conf, int timeout_ms) {
        conf->connect_timeout_ms = timeout_ms < 0 ? 0 : timeout_ms;
}

/* 1 when name has only the characters of librdkafka's property names. */
static int name_chars(const char *name) {
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '.' || *p == '_' || *p == '-'))
                        return 0;
        return 1;
}

/* 1 when librdkafka knows a property called name (rd_kafka_conf_get says
 * "unknown" for every property still unset, so try setting it). */
static int known_property(const char *name) {
        rd_kafka_conf_t *scratch = rd_kafka_conf_new();
        char rkerr[256];
        int known = scratch &&
                    rd_kafka_conf_set(scratch, name, "", rkerr, sizeof(rkerr)) != RD_KAFKA_CONF_UNKNOWN;
        if (scratch) rd_kafka_conf_destroy(scratch);
        return known;
}

/* Checks name=value against librdkafka on a scratch conf, so a typo is a
 * usage error at option time rather than a failure when a client starts. */
static int validate(const char *name, const char *value, char *errstr, size_t errstr_size) {
        rd_kafka_conf_t *scratch = rd_kafka_conf_new();
        char rkerr[512];
        if (!scratch) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        rd_kafka_conf_res_t res = rd_kafka_conf_set(scratch, name, value, rkerr, sizeof(rkerr));
        if (res != RD_KAFKA_CONF_OK) {
                /* Topic-level properties (acks, ...) are accepted here too:
                 * the global conf forwards them to the default topic conf. */
                if (res == RD_KAFKA_CONF_UNKNOWN && (sf_kafka_prop_is_secret(name) || !name_chars(name)))
                        /* perhaps a secret run into the name: sasl.password:PW=... */
                        snprintf(errstr, errstr_size,
                                 "unknown Kafka property (its name is not shown: it may hold a secret; see "
                                 "'-X list' for librdkafka's properties)");
                else if (res == RD_KAFKA_CONF_UNKNOWN)
                        snprintf(errstr, errstr_size,
                                 "unknown Kafka property '%s' (see '-X list' for librdkafka's properties)",
                                 name);
                else if (sf_kafka_prop_is_secret(name))
                        snprintf(errstr, errstr_size, "invalid value for Kafka property '%s'", name);
                else
                        snprintf(errstr, errstr_size, "invalid value for Kafka property '%s': %s", name,
                                 rkerr);
                rd_kafka_conf_destroy(scratch);
                return -1;
        }
        rd_kafka_conf_destroy(scratch);
        return 0;
}

int sf_kafka_conf_set(sf_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                      size_t errstr_size) {
        if (!*name) {
                snprintf(errstr, errstr_size, "empty Kafka property name");
                return -1;
        }
        if (strcmp(name, "bootstrap.servers") == 0 || strcmp(name, "metadata.broker.list") == 0) {
                if (!*value) {
                        snprintf(errstr, errstr_size, "empty value for Kafka property '%s'", name);
                        return -1;
                }
                sf_kafka_conf_set_brokers(conf, value);
                return 0;
        }
        if (validate(name, value, errstr, errstr_size) < 0) return -1;
        /* A later setting of the same property replaces the earlier one. */
        for (size_t i = 0; i < conf->nprops; i++) {
                if (strcmp(conf->props[i].name, name) == 0) {
                        char *v = dup_str(value);
                        if (!v) goto oom;
                        free(conf->props[i].value);
                        conf->props[i].value = v;
                        return 0;
                }
        }
        sf_kafka_prop_t *props = realloc(conf->props, (conf->nprops + 1) * sizeof(*props));
        if (!props) goto oom;
        conf->props = props;
        props[conf->nprops].name = dup_str(name);
        props[conf->nprops].value = dup_str(value);
        if (!props[conf->nprops].name || !props[conf->nprops].value) {
                free(props[conf->nprops].name);
                free(props[conf->nprops].value);
                goto oom;
        }
        conf->nprops++;
        return 0;
oom:
        snprintf(errstr, errstr_size, "out of memory setting Kafka property '%s'", name);
        return -1;
}

int sf_kafka_conf_set_default(sf_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                              size_t errstr_size) {
        size_t n = conf->nprops;
        if (sf_kafka_conf_has(conf, name)) return 0;
        if (sf_kafka_conf_set(conf, name, value, errstr, errstr_size) != 0) return -1;
        if (conf->nprops == n) return 0; /* the brokers: not a property of the list */
        /* set appended it: move it to the front, before what the user set */
        sf_kafka_prop_t added = conf->props[conf->nprops - 1];
        memmove(conf->props + 1, conf->props, (conf->nprops - 1) * sizeof(*conf->props));
        conf->props[0] = added;
        return 0;
}

bool sf_kafka_conf_has(const sf_kafka_conf_t *conf, const char *name) {
        for (size_t i = 0; i < conf->nprops; i++)
                if (strcmp(conf->props[i].name, name) == 0) return true;
        return false;
}

/* Splits "name=value" (value may contain '='), trims the name. */
static int set_pair(sf_kafka_conf_t *conf, char *pair, char *errstr, size_t errstr_size) {
        char *eq = strchr(pair, '=');
        if (!eq) {
                /* Name the property when the text starts with one (sasl.password:PW),
                 * never the rest: it may be the value. */
                char name[128];
                size_t n = strspn(pair, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
                snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), pair);
                if (n > 0 && n < sizeof(name) && known_property(name))
                        snprintf(errstr, errstr_size,
                                 "expected PROP=VALUE: no '=' after Kafka property '%s' (the rest is not "
                                 "shown)",
                                 name);
                else
                        snprintf(errstr, errstr_size,
                                 "expected PROP=VALUE, got text without '=' (not shown: it may hold a "
                                 "secret)");
                return -1;
        }
        *eq = '\0';
        char *name = pair, *value = eq + 1;
        while (*name == ' ' || *name == '\t') name++;
        char *end = eq;
        while (end > name && (end[-1] == ' ' || end[-1] == '\t')) *--end = '\0';
        while (*value == ' ' || *value == '\t') value++;
        return sf_kafka_conf_set(conf, name, value, errstr, errstr_size);
}

/* Reads one line of f into buf (cap > SF_KAFKA_MAX_LINE bytes), without
 * its newline. Returns its length; -1 at the end of the file; -2 when it
 * is longer than SF_KAFKA_MAX_LINE (the rest is left unread); -3 on a read
 * error (errno set). */
static long read_line(FILE *f, char *buf) {
        size_t n = 0;
        int c;
        while ((c = getc(f)) != EOF && c != '\n') {
                if (n == SF_KAFKA_MAX_LINE) return -2;
                buf[n++] = (char)c;
        }
        if (c == EOF && ferror(f)) return -3;
        if (c == EOF && n == 0) return -1;
        buf[n] = '\0';
        return (long)n;
}

static int read_file(sf_kafka_conf_t *conf, const char *path, char *errstr, size_t errstr_size) {
        FILE *f = fopen(path, "r");
        char *line = NULL;
        long len;
        int lineno = 0, rc = -1;
        if (!f) {
                snprintf(errstr, errstr_size, "cannot read properties file '%s': %s", path, strerror(errno));
                return -1;
        }
        if (!(line = malloc(SF_KAFKA_MAX_LINE + 1))) {
                snprintf(errstr, errstr_size, "out of memory reading '%s'", path);
                goto out;
        }
        errno = 0;
        while ((len = read_line(f, line)) >= 0) {
                lineno++;
                if (memchr(line, '\0', (size_t)len)) {
                        snprintf(errstr, errstr_size, "%s:%d: a NUL byte: not a text file", path, lineno);
                        goto out;
                }
                while (len > 0 && line[len - 1] == '\r') line[--len] = '\0';
                char *s = line;
                while (*s == ' ' || *s == '\t') s++;
                if (*s == '\0' || *s == '#') continue;
                char err[400];
                if (set_pair(conf, s, err, sizeof(err)) < 0) {
                        snprintf(errstr, errstr_size, "%s:%d: %s", path, lineno, err);
                        goto out;
                }
        }
        if (len == -2) {
                snprintf(errstr, errstr_size, "%s:%d: line longer than %d bytes", path, lineno + 1,
                         SF_KAFKA_MAX_LINE);
                goto out;
        }
        if (len == -3) {
                snprintf(errstr, errstr_size, "cannot read properties file '%s' (line %d): %s", path,
                         lineno + 1, strerror(errno ? errno : EIO));
                goto out;
        }
        rc = 0;
out:
        if (line) memset(line, 0, SF_KAFKA_MAX_LINE + 1); /* may have held a secret */
        free(line);
        fclose(f);
        return rc;
}

sf_kafka_opt_result_t sf_kafka_conf_opt(sf_kafka_conf_t *conf, int key, const char *arg, FILE *out,
                                        char *errstr, size_t errstr_size) {
        switch (key) {
        case SF_KAFKA_OPT_BROKERS:
                if (!arg || !*arg) {
                        snprintf(errstr, errstr_size, "-b needs a broker list (host:port,...)");
                        return SF_KAFKA_OPT_USAGE;
                }
                sf_kafka_conf_set_brokers(conf, arg);
                return SF_KAFKA_OPT_OK;
        case SF_KAFKA_OPT_PROP: {
                if (strcmp(arg, "list") == 0) {
                        rd_kafka_conf_properties_show(out);
                        fflush(out);
                        return SF_KAFKA_OPT_LISTED;
                }
                char *pair = dup_str(arg);
                if (!pair) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return SF_KAFKA_OPT_USAGE;
                }
                int rc = set_pair(conf, pair, errstr, errstr_size);
                memset(pair, 0, strlen(pair));
                free(pair);
                return rc < 0 ? SF_KAFKA_OPT_USAGE : SF_KAFKA_OPT_OK;
        }
        case SF_KAFKA_OPT_FILE:
                return read_file(conf, arg, errstr, errstr_size) < 0 ? SF_KAFKA_OPT_USAGE : SF_KAFKA_OPT_OK;
        default:
                snprintf(errstr, errstr_size, "not a Kafka option: %d", key);
                return SF_KAFKA_OPT_USAGE;
        }
}

/* ---------------------------------------------------------------- run flag */

/* Atomic: scorer threads read it and any of them may clear it (a lock-free
 * atomic is safe in a signal handler too). */
static atomic_int running = 1;
static volatile sig_atomic_t signals_seen = 0;

static void on_signal(int sig) {
        atomic_store_explicit(&running, 0, memory_order_relaxed);
        if (++signals_seen >= 2) signal(sig, SIG_DFL);
}

void sf_kafka_install_signals(void) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
}

bool sf_kafka_running(void) {
        return atomic_load_explicit(&running, memory_order_relaxed) != 0;
}
void sf_kafka_stop(void) {
        atomic_store_explicit(&running, 0, memory_order_relaxed);
}
void sf_kafka_reset_running(void) {
        atomic_store_explicit(&running, 1, memory_order_relaxed);
        signals_seen = 0;
}
