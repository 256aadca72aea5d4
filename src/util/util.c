#include "util/util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int sf_edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        if (la > 64 || lb > 64) return (int)(la > lb ? la : lb);
        int row[65];
        for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
        for (size_t i = 1; i <= la; i++) {
                int diag = row[0];
                row[0] = (int)i;
                for (size_t j = 1; j <= lb; j++) {
                        int up = row[j];
                        int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        int best = diag + cost;
                        if (row[j] + 1 < best) best = row[j] + 1;
                        if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

const char *sf_suggest(const char *name, const char *const *candidates, size_t n) {
        const char *best = NULL, *prefix = NULL;
        int best_d = INT_MAX, nprefix = 0;
        size_t len = strlen(name);
        for (size_t i = 0; i < n; i++) {
                if (!candidates[i]) continue;
                int d = sf_edit_distance(name, candidates[i]);
                if (d < best_d) best_d = d, best = candidates[i];
                if (len >= 2 && strncmp(candidates[i], name, len) == 0) prefix = candidates[i], nprefix++;
        }
        /* A short name is too easily "close" to anything: demand a closer match. */
        int limit = len <= 3 ? 1 : 2;
        if (best && best_d <= limit) return best;
        if (nprefix == 1) return prefix;
        return NULL;
}

const char *sf_suggest_icase(const char *name, const char *const *candidates, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (candidates[i] && strcasecmp(candidates[i], name) == 0) return candidates[i];
        return sf_suggest(name, candidates, n);
}

int64_t sf_now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double sf_now_s(void) {
        return (double)sf_now_ns() / 1e9;
}

int64_t sf_wall_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int is_dir(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *sf_default_data_dir(char *buf, size_t size) {
        const char *env = getenv("STREAMFLOW_DATA");
        if (env && *env) {
                snprintf(buf, size, "%s", env);
                return buf;
        }
        /* build/streamflow or build/asan/streamflow: walk up from the binary
         * until a data/nsl-kdd appears (at most 4 levels). */
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
                exe[n] = '\0';
                for (int up = 0; up < 4; up++) {
                        char *slash = strrchr(exe, '/');
                        if (!slash) break;
                        *slash = '\0';
                        snprintf(buf, size, "%s/data/nsl-kdd", exe);
                        if (is_dir(buf)) return buf;
                        /* Installed: PREFIX/bin/streamflow -> PREFIX/share/streamflow/nsl-kdd,
                         * whatever PREFIX the objects were compiled with. */
                        snprintf(buf, size, "%s/share/streamflow/nsl-kdd", exe);
                        if (up == 1 && is_dir(buf)) return buf;
                }
        }
        if (is_dir("data/nsl-kdd")) {
                snprintf(buf, size, "data/nsl-kdd");
                return buf;
        }
        snprintf(buf, size, "%s/nsl-kdd", SF_DATADIR);
        if (is_dir(buf)) return buf;
        snprintf(buf, size, "data/nsl-kdd");
        return buf;
}

void sf_seterr(char *errstr, size_t errstr_size, const char *fmt, ...) {
        if (!errstr || errstr_size == 0) return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
}

int sf_find_data_file(const char *dir, const char *name, char *path, size_t path_size, char *errstr,
                      size_t errstr_size) {
        int n = snprintf(path, path_size, "%s/%s", dir, name);
        if (n < 0 || (size_t)n >= path_size) goto toolong;
        if (access(path, R_OK) == 0) return 0;
        int err1 = errno;
        n = snprintf(path, path_size, "%s/%s.gz", dir, name);
        if (n < 0 || (size_t)n >= path_size) goto toolong;
        if (access(path, R_OK) == 0) return 0;
        sf_seterr(errstr, errstr_size, "%s/%s: %s; %s/%s.gz: %s", dir, name, strerror(err1), dir, name,
                  strerror(errno));
        return -1;
toolong:
        sf_seterr(errstr, errstr_size, "%s/%s: path too long", dir, name);
        return -1;
}
