#include "report/tfevents.h"
#include "util/util.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct sf_tfevents {
        FILE *fp;
        char *path;
};

/* CRC32C, reflected polynomial 0x82F63B78, table built on first use. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
        for (uint32_t i = 0; i < 256; i++) {
                uint32_t c = i;
                for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
                crc_table[i] = c;
        }
}

uint32_t sf_crc32c(const void *data, size_t len) {
        pthread_once(&crc_once, crc_init);
        const uint8_t *p = data;
        uint32_t c = 0xFFFFFFFFu;
        for (size_t i = 0; i < len; i++) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
}

uint32_t sf_tfrecord_mask(uint32_t crc) {
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static void put_le32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v) {
        for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

size_t sf_tfrecord_frame(uint8_t *buf, const void *data, size_t len) {
        put_le64(buf, (uint64_t)len);
        put_le32(buf + 8, sf_tfrecord_mask(sf_crc32c(buf, 8)));
        memcpy(buf + 12, data, len);
        put_le32(buf + 12 + len, sf_tfrecord_mask(sf_crc32c(data, len)));
        return len + 16;
}

/* Protocol buffer encoding, just what Event needs. Every writer returns the
 * new end of out; the caller sizes out generously. */
enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

static uint8_t *pb_varint(uint8_t *out, uint64_t v) {
        while (v >= 0x80) {
                *out++ = (uint8_t)(v | 0x80);
                v >>= 7;
        }
        *out++ = (uint8_t)v;
        return out;
}

static uint8_t *pb_key(uint8_t *out, int field, int wire) {
        return pb_varint(out, ((uint64_t)field << 3) | wire);
}

static uint8_t *pb_double(uint8_t *out, int field, double v) {
        uint64_t bits;
        memcpy(&bits, &v, 8);
        out = pb_key(out, field, WIRE_FIXED64);
        put_le64(out, bits);
        return out + 8;
}

static uint8_t *pb_float(uint8_t *out, int field, float v) {
        uint32_t bits;
        memcpy(&bits, &v, 4);
        out = pb_key(out, field, WIRE_FIXED32);
        put_le32(out, bits);
        return out + 4;
}

static uint8_t *pb_bytes(uint8_t *out, int field, const void *data, size_t len) {
        out = pb_key(out, field, WIRE_LEN);
        out = pb_varint(out, len);
        memcpy(out, data, len);
        return out + len;
}

static double wall_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Frames and writes one Event. */
static int write_record(sf_tfevents_t *w, const uint8_t *event, size_t len, char *errstr,
                        size_t errstr_size) {
        uint8_t small[512];
        uint8_t *rec = len + 16 <= sizeof(small) ? small : malloc(len + 16);
        if (!rec) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", w->path);
                return -1;
        }
        size_t n = sf_tfrecord_frame(rec, event, len);
        int ret = 0;
        if (fwrite(rec, 1, n, w->fp) != n) {
                sf_seterr(errstr, errstr_size, "%s: write failed: %s", w->path, strerror(errno));
                ret = -1;
        }
        if (rec != small) free(rec);
        return ret;
}

/* mkdir -p */
static int make_dirs(const char *dir, char *errstr, size_t errstr_size) {
        char path[PATH_MAX];
        size_t len = strlen(dir);
        if (len == 0 || len >= sizeof(path)) {
                sf_seterr(errstr, errstr_size, "%s: bad log directory path", dir);
                return -1;
        }
        memcpy(path, dir, len + 1);
        for (size_t i = 1; i <= len; i++) {
                if (path[i] != '/' && path[i] != '\0') continue;
                char c = path[i];
                path[i] = '\0';
                if (mkdir(path, 0777) != 0 && errno != EEXIST) {
                        sf_seterr(errstr, errstr_size, "%s: cannot create directory: %s", path,
                                  strerror(errno));
                        return -1;
                }
                path[i] = c;
        }
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
                sf_seterr(errstr, errstr_size, "%s: not a directory", dir);
                return -1;
        }
        return 0;
}

int sf_tfevents_run_dir(const char *logdir, const char *name, char *out, size_t out_size, char *errstr,
                        size_t errstr_size) {
        if (make_dirs(logdir, errstr, errstr_size)) return -1;
        for (int k = 1; k < 1000; k++) {
                int n = k == 1 ? snprintf(out, out_size, "%s/%s", logdir, name)
                               : snprintf(out, out_size, "%s/%s-%d", logdir, name, k);
                if (n < 0 || (size_t)n >= out_size) break;
                if (mkdir(out, 0777) == 0) return 0;
                if (errno != EEXIST) {
                        sf_seterr(errstr, errstr_size, "%s: cannot create directory: %s", out,
                                  strerror(errno));
                        return -1;
                }
        }
        sf_seterr(errstr, errstr_size, "%s/%s: no new run directory can be made there", logdir, name);
        return -1;
}

sf_tfevents_t *sf_tfevents_open(const char *dir, char *errstr, size_t errstr_size) {
        static unsigned file_counter;
        sf_tfevents_t *w = NULL;
        if (!dir || make_dirs(dir, errstr, errstr_size)) return NULL;
        char host[256];
        if (gethostname(host, sizeof(host)) != 0) strcpy(host, "localhost");
        host[sizeof(host) - 1] = '\0';
        for (char *p = host; *p; p++)
                if (*p == '/') *p = '_';
        unsigned n = __atomic_fetch_add(&file_counter, 1, __ATOMIC_RELAXED);
        size_t size = strlen(dir) + strlen(host) + 96;
        if (!(w = calloc(1, sizeof(*w))) || !(w->path = malloc(size))) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", dir);
                goto fail;
        }
        snprintf(w->path, size, "%s/events.out.tfevents.%010lld.%s.%ld.%u.v2", dir, (long long)time(NULL),
                 host, (long)getpid(), n);
        /* "x": never append to, or clobber, another writer's file. */
        if (!(w->fp = fopen(w->path, "wbx"))) {
                sf_seterr(errstr, errstr_size, "%s: cannot create: %s", w->path, strerror(errno));
                goto fail;
        }
        uint8_t ev[64], *p = ev;
        static const char version[] = "brain.Event:2";
        p = pb_double(p, 1, wall_now());                  /* Event.wall_time */
        p = pb_bytes(p, 3, version, sizeof(version) - 1); /* Event.file_version */
        if (write_record(w, ev, (size_t)(p - ev), errstr, errstr_size) ||
            sf_tfevents_flush(w, errstr, errstr_size))
                goto fail;
        return w;
fail:
        sf_tfevents_close(w, NULL, 0);
        return NULL;
}

int sf_tfevents_scalar(sf_tfevents_t *w, const char *tag, int64_t step, float value, char *errstr,
                       size_t errstr_size) {
        size_t tlen = strlen(tag);
        if (tlen == 0 || tlen > 1024) {
                sf_seterr(errstr, errstr_size, "%s: scalar tag must be 1 to 1024 bytes", w->path);
                return -1;
        }
        /* Summary.Value { tag = 1; simple_value = 2 } */
        uint8_t val[1024 + 32], *v = val;
        v = pb_bytes(v, 1, tag, tlen);
        v = pb_float(v, 2, value);
        /* Summary { repeated Value value = 1 } */
        uint8_t sum[sizeof(val) + 16], *s = sum;
        s = pb_bytes(s, 1, val, (size_t)(v - val));
        /* Event { wall_time = 1; step = 2; summary = 5 } (proto3: a zero step is left out) */
        uint8_t ev[sizeof(sum) + 48], *e = ev;
        e = pb_double(e, 1, wall_now());
        if (step != 0) e = pb_varint(pb_key(e, 2, WIRE_VARINT), (uint64_t)step);
        e = pb_bytes(e, 5, sum, (size_t)(s - sum));
        return write_record(w, ev, (size_t)(e - ev), errstr, errstr_size);
}

int sf_tfevents_flush(sf_tfevents_t *w, char *errstr, size_t errstr_size) {
        if (fflush(w->fp) != 0) {
                sf_seterr(errstr, errstr_size, "%s: write failed: %s", w->path, strerror(errno));
                return -1;
        }
        return 0;
}

const char *sf_tfevents_path(const sf_tfevents_t *w) {
        return w ? w->path : NULL;
}

int sf_tfevents_close(sf_tfevents_t *w, char *errstr, size_t errstr_size) {
        if (!w) return 0;
        int ret = 0;
        if (w->fp && fclose(w->fp) != 0) {
                sf_seterr(errstr, errstr_size, "%s: write failed: %s", w->path, strerror(errno));
                ret = -1;
        }
        free(w->path);
        free(w);
        return ret;
}
