#include "report/tfevents_read.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/tfevents.h"
#include "util/util.h"

/* Event files of more than this are not ours to check. */
#define MAX_FILE (256u << 20)

static uint32_t get_le32(const uint8_t *p) {
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p) {
        return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

typedef struct pb {
        const uint8_t *p, *end;
} pb_t;

static int pb_varint(pb_t *b, uint64_t *v) {
        uint64_t x = 0;
        for (int shift = 0; shift < 64; shift += 7) {
                if (b->p >= b->end) return -1;
                uint8_t c = *b->p++;
                x |= (uint64_t)(c & 0x7f) << shift;
                if (!(c & 0x80)) {
                        *v = x;
                        return 0;
                }
        }
        return -1; /* more than 10 bytes */
}

/* Skips a field of the given wire type. */
static int pb_skip(pb_t *b, int wire) {
        uint64_t v;
        switch (wire) {
        case 0:
                return pb_varint(b, &v);
        case 1:
                if (b->end - b->p < 8) return -1;
                b->p += 8;
                return 0;
        case 2:
                if (pb_varint(b, &v) || v > (uint64_t)(b->end - b->p)) return -1;
                b->p += v;
                return 0;
        case 5:
                if (b->end - b->p < 4) return -1;
                b->p += 4;
                return 0;
        default:
                return -1;
        }
}

/* A length-delimited field's body. */
static int pb_len(pb_t *b, pb_t *sub) {
        uint64_t n;
        if (pb_varint(b, &n) || n > (uint64_t)(b->end - b->p)) return -1;
        sub->p = b->p;
        sub->end = b->p + n;
        b->p += n;
        return 0;
}

static int decode_value(pb_t *b, sf_tfevent_t *ev, char *errstr, size_t errstr_size) {
        if (ev->n_values >= SF_TFEVENT_MAX_VALUES) {
                sf_seterr(errstr, errstr_size, "more than %d summary values", SF_TFEVENT_MAX_VALUES);
                return -1;
        }
        int i = ev->n_values++;
        ev->values[i].tag[0] = '\0';
        ev->values[i].has_simple_value = 0;
        ev->values[i].simple_value = 0;
        while (b->p < b->end) {
                uint64_t key;
                if (pb_varint(b, &key)) goto trunc;
                int field = (int)(key >> 3), wire = (int)(key & 7);
                if (field == 1) { /* tag */
                        pb_t s;
                        if (wire != 2) goto wiretype;
                        if (pb_len(b, &s)) goto trunc;
                        size_t n = (size_t)(s.end - s.p);
                        if (n >= sizeof(ev->values[i].tag)) {
                                sf_seterr(errstr, errstr_size, "Summary.Value.tag of %zu bytes is too long",
                                          n);
                                return -1;
                        }
                        memcpy(ev->values[i].tag, s.p, n);
                        ev->values[i].tag[n] = '\0';
                } else if (field == 2) { /* simple_value */
                        if (wire != 5) goto wiretype;
                        if (b->end - b->p < 4) goto trunc;
                        uint32_t bits = get_le32(b->p);
                        memcpy(&ev->values[i].simple_value, &bits, 4);
                        ev->values[i].has_simple_value = 1;
                        b->p += 4;
                } else if (pb_skip(b, wire)) {
                        goto trunc;
                }
        }
        return 0;
wiretype:
        sf_seterr(errstr, errstr_size, "Summary.Value field has the wrong wire type");
        return -1;
trunc:
        sf_seterr(errstr, errstr_size, "truncated Summary.Value");
        return -1;
}

int sf_tfevent_decode(const uint8_t *data, size_t len, sf_tfevent_t *ev, char *errstr, size_t errstr_size) {
        memset(ev, 0, sizeof(*ev));
        pb_t b = {data, data + len};
        while (b.p < b.end) {
                uint64_t key;
                if (pb_varint(&b, &key)) goto trunc;
                int field = (int)(key >> 3), wire = (int)(key & 7);
                switch (field) {
                case 1: /* double wall_time */
                        if (wire != 1) goto wiretype;
                        if (b.end - b.p < 8) goto trunc;
                        {
                                uint64_t bits = get_le64(b.p);
                                memcpy(&ev->wall_time, &bits, 8);
                        }
                        b.p += 8;
                        ev->has_wall_time = 1;
                        break;
                case 2: /* int64 step */
                        if (wire != 0) goto wiretype;
                        {
                                uint64_t v;
                                if (pb_varint(&b, &v)) goto trunc;
                                ev->step = (int64_t)v;
                        }
                        ev->has_step = 1;
                        break;
                case 3: { /* string file_version */
                        pb_t s;
                        if (wire != 2) goto wiretype;
                        if (pb_len(&b, &s)) goto trunc;
                        size_t n = (size_t)(s.end - s.p);
                        if (n >= sizeof(ev->file_version)) {
                                sf_seterr(errstr, errstr_size, "Event.file_version of %zu bytes is too long",
                                          n);
                                return -1;
                        }
                        memcpy(ev->file_version, s.p, n);
                        ev->file_version[n] = '\0';
                        ev->has_file_version = 1;
                        break;
                }
                case 5: { /* Summary summary { repeated Value value = 1 } */
                        pb_t s;
                        if (wire != 2) goto wiretype;
                        if (pb_len(&b, &s)) goto trunc;
                        ev->has_summary = 1;
                        while (s.p < s.end) {
                                uint64_t k2;
                                if (pb_varint(&s, &k2)) goto trunc;
                                if ((k2 >> 3) == 1) {
                                        pb_t v;
                                        if ((k2 & 7) != 2) goto wiretype;
                                        if (pb_len(&s, &v)) goto trunc;
                                        if (decode_value(&v, ev, errstr, errstr_size)) return -1;
                                } else if (pb_skip(&s, (int)(k2 & 7))) {
                                        goto trunc;
                                }
                        }
                        break;
                }
                default:
                        if (pb_skip(&b, wire)) goto trunc;
                }
        }
        return 0;
wiretype:
        sf_seterr(errstr, errstr_size, "a field has the wrong wire type for Event");
        return -1;
trunc:
        sf_seterr(errstr, errstr_size, "truncated or malformed protobuf");
        return -1;
}

int sf_tfevents_read_file(const char *path, sf_tfevent_t **events, size_t *n, char *errstr,
                          size_t errstr_size) {
        uint8_t *data = NULL;
        sf_tfevent_t *evs = NULL;
        size_t nev = 0, cap = 0, size = 0;
        int ret = -1;
        *events = NULL;
        *n = 0;
        FILE *fp = fopen(path, "rb");
        if (!fp) {
                sf_seterr(errstr, errstr_size, "%s: %s", path, strerror(errno));
                return -1;
        }
        size_t room = 0;
        for (;;) {
                if (size == room) {
                        if (room >= MAX_FILE) {
                                sf_seterr(errstr, errstr_size, "%s: larger than %u bytes", path, MAX_FILE);
                                goto out;
                        }
                        room = room ? room * 2 : 65536;
                        uint8_t *d = realloc(data, room);
                        if (!d) goto oom;
                        data = d;
                }
                size_t got = fread(data + size, 1, room - size, fp);
                size += got;
                if (got == 0) break;
        }
        if (ferror(fp)) {
                sf_seterr(errstr, errstr_size, "%s: read error: %s", path, strerror(errno));
                goto out;
        }
        size_t off = 0;
        for (size_t rec = 0; off < size; rec++) {
                if (size - off < 12) {
                        sf_seterr(errstr, errstr_size, "%s: record %zu at byte %zu: truncated header", path,
                                  rec, off);
                        goto out;
                }
                uint64_t len = get_le64(data + off);
                uint32_t want = get_le32(data + off + 8), got = sf_tfrecord_mask(sf_crc32c(data + off, 8));
                if (want != got) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: record %zu at byte %zu: length CRC mismatch (0x%08x != 0x%08x)", path,
                                  rec, off, want, got);
                        goto out;
                }
                if (len > size - off - 12 || size - off - 12 - len < 4) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: record %zu at byte %zu: truncated data (%llu bytes announced)", path,
                                  rec, off, (unsigned long long)len);
                        goto out;
                }
                const uint8_t *body = data + off + 12;
                want = get_le32(body + len);
                got = sf_tfrecord_mask(sf_crc32c(body, (size_t)len));
                if (want != got) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: record %zu at byte %zu: data CRC mismatch (0x%08x != 0x%08x)", path,
                                  rec, off, want, got);
                        goto out;
                }
                if (nev == cap) {
                        cap = cap ? cap * 2 : 16;
                        sf_tfevent_t *e = realloc(evs, cap * sizeof(*e));
                        if (!e) goto oom;
                        evs = e;
                }
                char why[160];
                if (sf_tfevent_decode(body, (size_t)len, &evs[nev], why, sizeof(why))) {
                        sf_seterr(errstr, errstr_size, "%s: record %zu at byte %zu: %s", path, rec, off, why);
                        goto out;
                }
                nev++;
                off += 12 + (size_t)len + 4;
        }
        *events = evs;
        *n = nev;
        evs = NULL;
        ret = 0;
        goto out;
oom:
        sf_seterr(errstr, errstr_size, "%s: out of memory", path);
out:
        free(evs);
        free(data);
        fclose(fp);
        return ret;
}
