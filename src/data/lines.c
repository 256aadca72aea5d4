#include "data/lines.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/kdd.h"

/* Bytes asked of zlib per read. */
#define CHUNK (256 * 1024)

struct sf_lines {
        gzFile gz;
        char *path;
        char *buf;         /* cap bytes: a partial line plus one chunk, plus a NUL */
        size_t cap;
        size_t start, end; /* unconsumed bytes are buf[start, end) */
        size_t scan;       /* buf[start, scan) is known to hold no '\n' */
        size_t max_len;
        uint64_t lineno;
        int eof;
};

static void seterr(char *errstr, size_t errstr_size, const char *fmt, ...) {
        if (!errstr || errstr_size == 0) return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
}

sf_lines_t *sf_lines_open(const char *path, size_t max_len, char *errstr, size_t errstr_size) {
        sf_lines_t *lr = NULL;
        int fd = -1;
        if (!path || !*path) {
                seterr(errstr, errstr_size, "no input path given");
                return NULL;
        }
        if (max_len == 0) max_len = SF_KDD_MAX_LINE;
        if (max_len > SIZE_MAX / 2 - CHUNK) {
                seterr(errstr, errstr_size, "%s: maximum line length too large", path);
                return NULL;
        }
        if (strcmp(path, "-") == 0) {
                /* A private descriptor: closing the reader leaves stdin open. */
                fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
                if (fd < 0) {
                        seterr(errstr, errstr_size, "stdin: %s", strerror(errno));
                        return NULL;
                }
        } else {
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        seterr(errstr, errstr_size, "%s: %s", path, strerror(errno));
                        return NULL;
                }
                struct stat st;
                if (fstat(fd, &st) != 0) {
                        seterr(errstr, errstr_size, "%s: %s", path, strerror(errno));
                        goto fail;
                }
                if (S_ISDIR(st.st_mode)) {
                        seterr(errstr, errstr_size, "%s: %s", path, strerror(EISDIR));
                        goto fail;
                }
        }
        lr = calloc(1, sizeof(*lr));
        if (!lr || !(lr->path = strdup(path))) goto oom;
        lr->max_len = max_len;
        lr->cap = max_len + CHUNK + 1;
        if (!(lr->buf = malloc(lr->cap))) goto oom;
        lr->gz = gzdopen(fd, "rb");
        if (!lr->gz) goto oom;
        fd = -1; /* owned by gz now */
        gzbuffer(lr->gz, CHUNK);
        return lr;
oom:
        seterr(errstr, errstr_size, "%s: out of memory", path);
fail:
        if (fd >= 0) close(fd);
        sf_lines_close(lr);
        return NULL;
}

const char *sf_lines_path(const sf_lines_t *lr) { return lr ? lr->path : NULL; }

void sf_lines_close(sf_lines_t *lr) {
        if (!lr) return;
        if (lr->gz) gzclose(lr->gz);
        free(lr->buf);
        free(lr->path);
        free(lr);
}

/* Reads more input after buf[end]. Returns 0 (eof set at the end of input)
 * or -1 with errstr set. */
static int fill(sf_lines_t *lr, char *errstr, size_t errstr_size) {
        if (lr->start > 0) {
                memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
                lr->end -= lr->start;
                lr->scan -= lr->start;
                lr->start = 0;
        }
        size_t room = lr->cap - 1 - lr->end;
        if (room > CHUNK) room = CHUNK;
        int n = gzread(lr->gz, lr->buf + lr->end, (unsigned)room);
        if (n < 0) {
                int zerr;
                const char *msg = gzerror(lr->gz, &zerr);
                seterr(errstr, errstr_size, "%s:%llu: read error: %s", lr->path,
                       (unsigned long long)lr->lineno + 1,
                       zerr == Z_ERRNO ? strerror(errno) : (msg && *msg ? msg : "corrupt gzip data"));
                return -1;
        }
        if (n == 0) {
                /* gzread reports a gzip stream cut short only through gzerror. */
                int zerr;
                const char *msg = gzerror(lr->gz, &zerr);
                if (zerr != Z_OK && zerr != Z_STREAM_END) {
                        seterr(errstr, errstr_size, "%s:%llu: read error: %s", lr->path,
                               (unsigned long long)lr->lineno + 1, msg && *msg ? msg : "corrupt gzip data");
                        return -1;
                }
                lr->eof = 1;
        }
        lr->end += (size_t)n;
        return 0;
}

sf_lines_status_t sf_lines_next(sf_lines_t *lr, const char **line, size_t *len, uint64_t *lineno, char *errstr,
                                size_t errstr_size) {
        for (;;) {
                char *nl = NULL;
                if (lr->scan < lr->end) nl = memchr(lr->buf + lr->scan, '\n', lr->end - lr->scan);
                size_t n;
                char *s = lr->buf + lr->start;
                if (nl) {
                        n = (size_t)(nl - s);
                        lr->start = lr->scan = (size_t)(nl - lr->buf) + 1;
                } else if (lr->end - lr->start > lr->max_len) {
                        /* Too long: drop it up to its newline and report it. */
                        uint64_t no = ++lr->lineno;
                        size_t total = 0;
                        for (;;) {
                                char *q = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);
                                if (q) {
                                        total += (size_t)(q - (lr->buf + lr->start));
                                        lr->start = lr->scan = (size_t)(q - lr->buf) + 1;
                                        break;
                                }
                                total += lr->end - lr->start;
                                lr->start = lr->scan = lr->end;
                                if (lr->eof) break;
                                if (fill(lr, errstr, errstr_size)) return SF_LINES_ERROR;
                        }
                        *lineno = no;
                        seterr(errstr, errstr_size, "%s:%llu: line too long (%zu bytes, the limit is %zu); skipped",
                               lr->path, (unsigned long long)no, total, lr->max_len);
                        return SF_LINES_BAD;
                } else if (lr->eof) {
                        if (lr->start == lr->end) return SF_LINES_EOF;
                        n = lr->end - lr->start; /* last line, no newline */
                        lr->start = lr->scan = lr->end;
                } else {
                        lr->scan = lr->end;
                        if (fill(lr, errstr, errstr_size)) return SF_LINES_ERROR;
                        continue;
                }
                lr->lineno++;
                if (n > 0 && s[n - 1] == '\r') n--;
                if (n == 0) continue;
                *lineno = lr->lineno;
                if (n > lr->max_len) {
                        seterr(errstr, errstr_size, "%s:%llu: line too long (%zu bytes, the limit is %zu); skipped",
                               lr->path, (unsigned long long)lr->lineno, n, lr->max_len);
                        return SF_LINES_BAD;
                }
                const char *zero = memchr(s, '\0', n);
                if (zero) {
                        seterr(errstr, errstr_size, "%s:%llu: NUL byte at column %zu: binary data, not text; skipped",
                               lr->path, (unsigned long long)lr->lineno, (size_t)(zero - s) + 1);
                        return SF_LINES_BAD;
                }
                s[n] = '\0'; /* the '\r', the '\n', or the spare byte after end */
                *line = s;
                *len = n;
                return SF_LINES_OK;
        }
}
