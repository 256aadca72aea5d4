#include "util/lines.h"

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

#include "util/util.h"

/* Bytes read from the file per read(). */
#define CHUNK (256 * 1024)

/* Input goes through read() and, for gzip, zlib's inflate rather than
 * gzread: gzread keeps reading until its buffer is full, so on a pipe fed
 * live (tail -f | streamflow replay -) lines would wait for 256 KB. */
struct sf_lines {
        int fd;
        char *path;
        char *buf; /* cap bytes: a partial line plus one chunk, plus a NUL */
        size_t cap;
        size_t start, end; /* unconsumed bytes are buf[start, end) */
        size_t scan;       /* buf[start, scan) is known to hold no '\n' */
        size_t max_len;
        uint64_t lineno;
        int eof;
        int gz;          /* -1 not known yet, 0 plain, 1 gzip */
        int gz_ready;    /* z is initialised */
        int member_done; /* the last gzip member ended; only another may follow */
        int in_eof;      /* read() returned 0 */
        int bom_done;    /* a byte order mark before the first line was looked for */
        z_stream z;
        unsigned char *in; /* CHUNK bytes of compressed input */
};

sf_lines_t *sf_lines_open(const char *path, size_t max_len, char *errstr, size_t errstr_size) {
        sf_lines_t *lr = NULL;
        int fd = -1;
        if (!path || !*path) {
                sf_seterr(errstr, errstr_size, "no input path given");
                return NULL;
        }
        if (max_len == 0) max_len = SF_LINES_MAX;
        if (max_len > SIZE_MAX / 2 - CHUNK) {
                sf_seterr(errstr, errstr_size, "%s: maximum line length too large", path);
                return NULL;
        }
        if (strcmp(path, "-") == 0) {
                /* A private descriptor: closing the reader leaves stdin open. */
                fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
                if (fd < 0) {
                        sf_seterr(errstr, errstr_size, "stdin: %s", strerror(errno));
                        return NULL;
                }
        } else {
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        sf_seterr(errstr, errstr_size, "%s: %s", path, strerror(errno));
                        return NULL;
                }
                struct stat st;
                if (fstat(fd, &st) != 0) {
                        sf_seterr(errstr, errstr_size, "%s: %s", path, strerror(errno));
                        goto fail;
                }
                if (S_ISDIR(st.st_mode)) {
                        sf_seterr(errstr, errstr_size, "%s: %s", path, strerror(EISDIR));
                        goto fail;
                }
        }
        lr = calloc(1, sizeof(*lr));
        if (!lr) goto oom;
        lr->fd = fd;
        fd = -1; /* owned by lr now */
        lr->gz = -1;
        lr->max_len = max_len;
        lr->cap = max_len + CHUNK + 1;
        if (!(lr->path = strdup(path)) || !(lr->buf = malloc(lr->cap)) || !(lr->in = malloc(CHUNK))) goto oom;
        return lr;
oom:
        sf_seterr(errstr, errstr_size, "%s: out of memory", path);
fail:
        if (fd >= 0) close(fd);
        sf_lines_close(lr);
        return NULL;
}

const char *sf_lines_path(const sf_lines_t *lr) {
        return lr ? lr->path : NULL;
}

void sf_lines_close(sf_lines_t *lr) {
        if (!lr) return;
        if (lr->gz_ready) inflateEnd(&lr->z);
        if (lr->fd >= 0) close(lr->fd);
        free(lr->in);
        free(lr->buf);
        free(lr->path);
        free(lr);
}

/* read() that retries on EINTR. Returns bytes read, 0 at end, -1 on error. */
static ssize_t read_some(int fd, void *buf, size_t len) {
        ssize_t n;
        do n = read(fd, buf, len);
        while (n < 0 && errno == EINTR);
        return n;
}

static int read_error(sf_lines_t *lr, const char *what, char *errstr, size_t errstr_size) {
        sf_seterr(errstr, errstr_size, "%s:%llu: read error: %s", lr->path,
                  (unsigned long long)lr->lineno + 1, what);
        return -1;
}

/* Decides plain or gzip from the first two bytes (kept in lr->in). */
static int sniff(sf_lines_t *lr, char *errstr, size_t errstr_size) {
        while (lr->z.avail_in < 2 && !lr->in_eof) {
                ssize_t n = read_some(lr->fd, lr->in + lr->z.avail_in, CHUNK - lr->z.avail_in);
                if (n < 0) return read_error(lr, strerror(errno), errstr, errstr_size);
                if (n == 0) lr->in_eof = 1;
                lr->z.avail_in += (uInt)n;
        }
        lr->z.next_in = lr->in;
        lr->gz = lr->z.avail_in >= 2 && lr->in[0] == 0x1f && lr->in[1] == 0x8b;
        if (lr->gz) {
                lr->z.zalloc = Z_NULL, lr->z.zfree = Z_NULL, lr->z.opaque = Z_NULL;
                if (inflateInit2(&lr->z, 16 + MAX_WBITS) != Z_OK)
                        return read_error(lr, "out of memory", errstr, errstr_size);
                lr->gz_ready = 1;
        }
        return 0;
}

/* Appends at least one byte of input after buf[end], or sets eof. Returns 0
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
        if (lr->gz < 0 && sniff(lr, errstr, errstr_size)) return -1;
        if (!lr->gz) {
                if (lr->z.avail_in > 0) { /* the sniffed bytes; room >= CHUNK here */
                        memcpy(lr->buf + lr->end, lr->in, lr->z.avail_in);
                        lr->end += lr->z.avail_in;
                        lr->z.avail_in = 0;
                        return 0;
                }
                if (lr->in_eof) {
                        lr->eof = 1;
                        return 0;
                }
                ssize_t n = read_some(lr->fd, lr->buf + lr->end, room);
                if (n < 0) return read_error(lr, strerror(errno), errstr, errstr_size);
                if (n == 0) lr->eof = lr->in_eof = 1;
                lr->end += (size_t)n;
                return 0;
        }
        for (;;) {
                if (lr->z.avail_in == 0 && !lr->in_eof) {
                        ssize_t n = read_some(lr->fd, lr->in, CHUNK);
                        if (n < 0) return read_error(lr, strerror(errno), errstr, errstr_size);
                        if (n == 0) lr->in_eof = 1;
                        lr->z.next_in = lr->in;
                        lr->z.avail_in = (uInt)n;
                }
                if (lr->z.avail_in == 0) { /* no more input */
                        if (lr->member_done) {
                                lr->eof = 1;
                                return 0;
                        }
                        return read_error(lr, "unexpected end of gzip data (file truncated?)", errstr,
                                          errstr_size);
                }
                if (lr->member_done) { /* concatenated members, as gzip and zcat allow */
                        if (inflateReset(&lr->z) != Z_OK)
                                return read_error(lr, "zlib reset failed", errstr, errstr_size);
                        lr->member_done = 0;
                }
                lr->z.next_out = (unsigned char *)lr->buf + lr->end;
                lr->z.avail_out = (uInt)room;
                int rc = inflate(&lr->z, Z_NO_FLUSH);
                size_t produced = room - lr->z.avail_out;
                lr->end += produced;
                if (rc == Z_STREAM_END) {
                        lr->member_done = 1;
                } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                        char why[160];
                        snprintf(why, sizeof(why), "corrupt gzip data (%s)",
                                 lr->z.msg ? lr->z.msg : zError(rc));
                        return read_error(lr, why, errstr, errstr_size);
                }
                if (produced > 0) return 0;
        }
}

/* A UTF-8 byte order mark before the first line (as spreadsheet programs
 * write one) is not data: it would stick to the first field. */
static int skip_bom(sf_lines_t *lr, char *errstr, size_t errstr_size) {
        while (!lr->bom_done) {
                if (lr->end - lr->start < 3 && !lr->eof) {
                        if (fill(lr, errstr, errstr_size)) return -1;
                        continue;
                }
                if (lr->end - lr->start >= 3 && memcmp(lr->buf + lr->start, "\xef\xbb\xbf", 3) == 0) {
                        lr->start += 3;
                        if (lr->scan < lr->start) lr->scan = lr->start;
                }
                lr->bom_done = 1;
        }
        return 0;
}

int sf_lines_peek(sf_lines_t *lr, char *errstr, size_t errstr_size) {
        if (skip_bom(lr, errstr, errstr_size)) return -1;
        for (;;) {
                for (size_t i = lr->start; i < lr->end; i++) {
                        unsigned char c = (unsigned char)lr->buf[i];
                        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return c;
                }
                if (lr->eof || lr->end - lr->start >= lr->max_len) return 256;
                if (fill(lr, errstr, errstr_size)) return -1;
        }
}

sf_lines_status_t sf_lines_next(sf_lines_t *lr, const char **line, size_t *len, uint64_t *lineno,
                                char *errstr, size_t errstr_size) {
        if (skip_bom(lr, errstr, errstr_size)) {
                *lineno = 1;
                return SF_LINES_ERROR;
        }
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
                        uint64_t no = lr->lineno + 1; /* counted once skipped: errors name it */
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
                                if (fill(lr, errstr, errstr_size)) {
                                        *lineno = no;
                                        return SF_LINES_ERROR;
                                }
                        }
                        lr->lineno = no;
                        *lineno = no;
                        sf_seterr(errstr, errstr_size,
                                  "%s:%llu: line too long (%zu bytes, the limit is %zu); skipped", lr->path,
                                  (unsigned long long)no, total, lr->max_len);
                        return SF_LINES_BAD;
                } else if (lr->eof) {
                        if (lr->start == lr->end) return SF_LINES_EOF;
                        n = lr->end - lr->start; /* last line, no newline */
                        lr->start = lr->scan = lr->end;
                } else {
                        lr->scan = lr->end;
                        if (fill(lr, errstr, errstr_size)) {
                                *lineno = lr->lineno + 1; /* the line being read, as errstr says */
                                return SF_LINES_ERROR;
                        }
                        continue;
                }
                lr->lineno++;
                if (n > 0 && s[n - 1] == '\r') n--;
                if (n == 0) continue;
                *lineno = lr->lineno;
                if (n > lr->max_len) {
                        sf_seterr(errstr, errstr_size,
                                  "%s:%llu: line too long (%zu bytes, the limit is %zu); skipped", lr->path,
                                  (unsigned long long)lr->lineno, n, lr->max_len);
                        return SF_LINES_BAD;
                }
                const char *zero = memchr(s, '\0', n);
                if (zero) {
                        sf_seterr(
                                errstr, errstr_size,
                                "%s:%llu: a NUL byte (byte %zu of the line): binary data, not text; skipped",
                                lr->path, (unsigned long long)lr->lineno, (size_t)(zero - s) + 1);
                        return SF_LINES_BAD;
                }
                s[n] = '\0'; /* the '\r', the '\n', or the spare byte after end */
                *line = s;
                *len = n;
                return SF_LINES_OK;
        }
}
