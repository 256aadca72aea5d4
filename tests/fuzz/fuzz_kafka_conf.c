/* Kafka options as a command line gives them: the first byte picks -X (each
 * following line is one PROP=VALUE), -F (the rest is a properties file, read
 * through an in-memory file) or -b. No error may repeat the value of a
 * secret property. Inputs naming plugins or interceptors are skipped:
 * librdkafka would load a shared library for them. */
#include <ctype.h>

#include "harness.h"
#include "kafka/kafka.h"

/* Phrases of the error messages, which a value may happen to match. */
static const char phrases[] = "unknown Kafka property ' (see '-X list' for librdkafka's properties) "
                              "invalid value for Kafka property ' empty Kafka property name "
                              "empty value for Kafka property ' expected PROP=VALUE, got ' "
                              "out of memory setting Kafka property ' cannot read properties file ";

static int secret_name(const char *name) {
        static const char *const words[] = {"password", "secret",     "key",        "token",
                                            "jaas",     "credential", "oauthbearer"};
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
                if (strstr(name, words[i])) return 1;
        return 0;
}

/* When line is PROP=VALUE with a secret PROP, errstr must not hold VALUE. */
static void check_no_secret(const char *line, const char *errstr) {
        char *name = strdup(line);
        if (!name) abort();
        char *eq = strchr(name, '=');
        if (eq) {
                *eq = '\0';
                char *value = eq + 1;
                size_t n = strlen(value);
                while (n && (value[n - 1] == '\r' || value[n - 1] == ' ' || value[n - 1] == '\t'))
                        value[--n] = 0;
                while (*value == ' ' || *value == '\t') value++;
                if (secret_name(name) && strlen(value) >= 6 && !strstr(phrases, value) &&
                    !strstr(name, value))
                        FUZZ_CHECK(!strstr(errstr, value), "the value of '%s' is in the error: %s", name,
                                   errstr);
        }
        free(name);
}

/* Line number lineno (1-based) of data, as a string up to its first NUL. */
static char *nth_line(const uint8_t *data, size_t size, long lineno) {
        const uint8_t *p = data, *end = data + size;
        for (long i = 1; i < lineno && p < end; i++) {
                const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
                p = nl ? nl + 1 : end;
        }
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        return fuzz_cstr(p, (size_t)((nl ? nl : end) - p));
}

static int loads_library(const uint8_t *data, size_t size) {
        static const char *const words[] = {"plugin", "interceptor"};
        char *low = fuzz_cstr(data, size);
        for (size_t i = 0; i < size; i++) low[i] = (char)tolower((unsigned char)low[i]);
        int hit = 0;
        for (size_t i = 0; i < 2 && !hit; i++) hit = memmem(low, size, words[i], strlen(words[i])) != NULL;
        free(low);
        return hit;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static FILE *devnull;
        if (size < 1 || loads_library(data, size)) return 0;
        if (!devnull && !(devnull = fopen("/dev/null", "w"))) abort();
        sf_kafka_conf_t *conf = sf_kafka_conf_new();
        if (!conf) abort();
        char *text = fuzz_cstr(data + 1, size - 1);
        char err[512];
        int mode = data[0] % 3;
        if (mode == 0) { /* -X, one per line */
                char *copy = strdup(text);
                if (!copy) abort();
                for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
                        err[0] = '\0';
                        sf_kafka_opt_result_t r =
                                sf_kafka_conf_opt(conf, 'X', line, devnull, err, sizeof(err));
                        FUZZ_CHECK(r <= SF_KAFKA_OPT_USAGE, "result %d", (int)r);
                        if (r == SF_KAFKA_OPT_USAGE) {
                                FUZZ_CHECK(err[0], "a usage error without a message");
                                check_no_secret(line, err);
                        }
                }
                free(copy);
        } else if (mode == 1) { /* -F FILE */
                char path[64];
                int fd = fuzz_memfile(data + 1, size - 1, path, sizeof(path));
                err[0] = '\0';
                sf_kafka_opt_result_t r = sf_kafka_conf_opt(conf, 'F', path, devnull, err, sizeof(err));
                FUZZ_CHECK(r == SF_KAFKA_OPT_OK || r == SF_KAFKA_OPT_USAGE, "result %d", (int)r);
                if (r == SF_KAFKA_OPT_USAGE) {
                        /* "FILE:LINE: ..." names the line to look at. */
                        FUZZ_CHECK(strstr(err, path) != NULL, "the error does not name the file: %s", err);
                        size_t plen = strlen(path);
                        char *line = NULL;
                        if (strncmp(err, path, plen) == 0 && err[plen] == ':')
                                line = nth_line(data + 1, size - 1, strtol(err + plen + 1, NULL, 10));
                        if (line) check_no_secret(line, err);
                        free(line);
                }
                close(fd);
        } else { /* -b BROKERS */
                sf_kafka_opt_result_t r = sf_kafka_conf_opt(conf, 'b', text, devnull, err, sizeof(err));
                FUZZ_CHECK(r == (text[0] ? SF_KAFKA_OPT_OK : SF_KAFKA_OPT_USAGE), "-b '%s' gave %d", text,
                           (int)r);
                if (r == SF_KAFKA_OPT_OK)
                        FUZZ_CHECK(strcmp(sf_kafka_conf_brokers(conf), text) == 0, "brokers");
        }
        free(text);
        sf_kafka_conf_destroy(conf);
        return 0;
}
