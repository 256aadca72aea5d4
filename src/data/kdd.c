#include "data/kdd.h"
#include "table/encoder.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/decimal.h"
#include "util/utf8.h"
#include "util/util.h"

static const char *const class_names[SF_KDD_NCLASSES] = {"normal", "DoS", "Probe", "R2L", "U2R"};

/* The one attack-name -> class table: every label of KDDTrain+,
 * KDDTrain+_20Percent, KDDTest+ and KDDTest-21 (39 attack names + normal), with
 * the grouping of the DARPA 1998/1999 evaluations used throughout the
 * NSL-KDD literature. Names marked "test only" never occur in training. */
static const struct {
        const char *name;
        int cls;
} label_table[] = {
        {"normal", SF_CLASS_NORMAL},
        /* DoS: denial of service */
        {"apache2", SF_CLASS_DOS}, /* test only */
        {"back", SF_CLASS_DOS},
        {"land", SF_CLASS_DOS},
        {"mailbomb", SF_CLASS_DOS}, /* test only */
        {"neptune", SF_CLASS_DOS},
        {"pod", SF_CLASS_DOS},
        {"processtable", SF_CLASS_DOS}, /* test only */
        {"smurf", SF_CLASS_DOS},
        {"teardrop", SF_CLASS_DOS},
        {"udpstorm", SF_CLASS_DOS}, /* test only */
        {"worm", SF_CLASS_DOS},     /* test only; some papers put it in R2L */
        /* Probe: surveillance and scanning */
        {"ipsweep", SF_CLASS_PROBE},
        {"mscan", SF_CLASS_PROBE}, /* test only */
        {"nmap", SF_CLASS_PROBE},
        {"portsweep", SF_CLASS_PROBE},
        {"saint", SF_CLASS_PROBE}, /* test only */
        {"satan", SF_CLASS_PROBE},
        /* R2L: remote to local */
        {"ftp_write", SF_CLASS_R2L},
        {"guess_passwd", SF_CLASS_R2L},
        {"httptunnel", SF_CLASS_R2L}, /* test only; some papers put it in U2R */
        {"imap", SF_CLASS_R2L},
        {"multihop", SF_CLASS_R2L},
        {"named", SF_CLASS_R2L}, /* test only */
        {"phf", SF_CLASS_R2L},
        {"sendmail", SF_CLASS_R2L},      /* test only */
        {"snmpgetattack", SF_CLASS_R2L}, /* test only */
        {"snmpguess", SF_CLASS_R2L},     /* test only */
        {"spy", SF_CLASS_R2L},
        {"warezclient", SF_CLASS_R2L},
        {"warezmaster", SF_CLASS_R2L},
        {"xlock", SF_CLASS_R2L},  /* test only */
        {"xsnoop", SF_CLASS_R2L}, /* test only */
        /* U2R: user to root */
        {"buffer_overflow", SF_CLASS_U2R},
        {"loadmodule", SF_CLASS_U2R},
        {"perl", SF_CLASS_U2R},
        {"ps", SF_CLASS_U2R}, /* test only */
        {"rootkit", SF_CLASS_U2R},
        {"sqlattack", SF_CLASS_U2R}, /* test only */
        {"xterm", SF_CLASS_U2R},     /* test only */
};

static const char *const field_names[SF_KDD_NFEATURES + 2] = {
        "duration",
        "protocol_type",
        "service",
        "flag",
        "src_bytes",
        "dst_bytes",
        "land",
        "wrong_fragment",
        "urgent",
        "hot",
        "num_failed_logins",
        "logged_in",
        "num_compromised",
        "root_shell",
        "su_attempted",
        "num_root",
        "num_file_creations",
        "num_shells",
        "num_access_files",
        "num_outbound_cmds",
        "is_host_login",
        "is_guest_login",
        "count",
        "srv_count",
        "serror_rate",
        "srv_serror_rate",
        "rerror_rate",
        "srv_rerror_rate",
        "same_srv_rate",
        "diff_srv_rate",
        "srv_diff_host_rate",
        "dst_host_count",
        "dst_host_srv_count",
        "dst_host_same_srv_rate",
        "dst_host_diff_srv_rate",
        "dst_host_same_src_port_rate",
        "dst_host_srv_diff_host_rate",
        "dst_host_serror_rate",
        "dst_host_srv_serror_rate",
        "dst_host_rerror_rate",
        "dst_host_srv_rerror_rate",
        "label",
        "difficulty",
};

/* Vocabularies larger than this are not NSL-KDD (it has 3, 70 and 11). */
#define MAX_VOCAB 4096

const char *sf_kdd_class_name(int cls) {
        if (cls < 0 || cls >= SF_KDD_NCLASSES) return NULL;
        return class_names[cls];
}

int sf_kdd_label_class(const char *label) {
        if (!label) return -1;
        for (size_t i = 0; i < sizeof(label_table) / sizeof(label_table[0]); i++)
                if (label[0] == label_table[i].name[0] && strcmp(label, label_table[i].name) == 0)
                        return label_table[i].cls;
        return -1;
}

const char *sf_kdd_field_name(int i) {
        if (i < 0 || i >= SF_KDD_NFEATURES + 2) return NULL;
        return field_names[i];
}

/* Shows at most 40 bytes of a bad field, with non-printable bytes as '?'. */
static void quote_field(char *out, size_t out_size, const char *s, size_t len) {
        size_t n = len < 40 ? len : 40, j = 0;
        for (size_t i = 0; i < n && j + 1 < out_size; i++)
                out[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        if (len > n && j + 4 < out_size) out[j++] = '.', out[j++] = '.', out[j++] = '.';
        out[j] = '\0';
}

/* A numeric field: digits, sign, '.', exponent only (rejects nan, inf, hex,
 * blanks); the value must be finite as a float. Plain decimals, all of
 * NSL-KDD, skip strtod. */
static int parse_number(const char *s, size_t len, float *out, const char **why) {
        if (len == 0) {
                *why = "empty field, expected a number";
                return -1;
        }
        double plain;
        if (len <= 16 && sf_decimal_parse_plain(s, len, &plain) == 0) {
                *out = (float)plain;
                return 0;
        }
        if (len > 63) {
                *why = "not a number (field too long)";
                return -1;
        }
        char tmp[64];
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')) {
                        *why = "not a number";
                        return -1;
                }
                tmp[i] = c;
        }
        tmp[len] = '\0';
        char *end;
        errno = 0;
        double v = strtod(tmp, &end);
        if (end != tmp + len || end == tmp) {
                *why = "not a number";
                return -1;
        }
        if (!isfinite(v) || fabs(v) > FLT_MAX) {
                *why = "number out of range";
                return -1;
        }
        *out = (float)v;
        return 0;
}

/* A categorical or label field: 1..size-1 printable bytes, no blanks. */
static int copy_word(char *dst, size_t size, const char *s, size_t len, const char **why) {
        if (len == 0) {
                *why = "empty field";
                return -1;
        }
        if (len >= size) {
                *why = "value too long";
                return -1;
        }
        for (size_t i = 0; i < len; i++) {
                if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
                        *why = "unexpected character (blank, control or non-ASCII byte)";
                        return -1;
                }
                dst[i] = s[i];
        }
        dst[len] = '\0';
        return 0;
}

long sf_kdd_parse_features_fast(const char *line, size_t len, sf_kdd_row_t *row) {
        const char *p = line, *end = line + len;
        int k = 0;
        for (int f = 0; f < SF_KDD_NFEATURES; f++) {
                if (f >= 1 && f <= 3) {
                        /* copy_word's rule: printable ASCII, no blank */
                        char *dst = f == 1 ? row->proto : f == 2 ? row->service : row->flag;
                        size_t size = f == 1   ? sizeof(row->proto)
                                      : f == 2 ? sizeof(row->service)
                                               : sizeof(row->flag);
                        const char *q = p;
                        while (q < end && *q != ',') {
                                unsigned char c = (unsigned char)*q;
                                if (c <= 0x20 || c >= 0x7f) return -1;
                                q++;
                        }
                        size_t n = (size_t)(q - p);
                        if (n == 0 || n >= size) return -1;
                        memcpy(dst, p, n);
                        dst[n] = '\0';
                        p = q;
                } else {
                        const char *q = sf_decimal_scan_float(p, end, &row->num[k++]);
                        if (!q || (q < end && *q != ',')) return -1;
                        p = q;
                }
                if (f < SF_KDD_NFEATURES - 1) {
                        if (p == end) return -1; /* too few fields */
                        p++;                     /* the ',' */
                }
        }
        return (long)(p - line);
}

long sf_kdd_parse_label_fast(const char *line, size_t len, size_t pos, sf_kdd_row_t *row) {
        row->label = -1;
        row->label_name[0] = '\0';
        row->difficulty = -1;
        if (pos == len) return (long)len;
        const char *p = line + pos + 1, *end = line + len, *q = p;
        while (q < end && *q != ',') {
                unsigned char c = (unsigned char)*q;
                if (c <= 0x20 || c >= 0x7f) return -1;
                q++;
        }
        size_t n = (size_t)(q - p);
        if (n == 0 || n >= sizeof(row->label_name)) return -1;
        memcpy(row->label_name, p, n);
        row->label_name[n] = '\0';
        row->label = sf_kdd_label_class(row->label_name);
        return (long)(q - line);
}

/* The label (and difficulty) after fast-parsed features at line[pos]: 0 when
 * they are as sf_kdd_parse_line accepts them in the usual form, -1 when the
 * full parser must look. */
static int parse_tail_fast(const char *line, size_t len, size_t pos, sf_kdd_row_t *row) {
        long at = sf_kdd_parse_label_fast(line, len, pos, row);
        if (at < 0 || (row->label_name[0] && row->label < 0)) return -1;
        if ((size_t)at == len) return 0;
        /* difficulty: one or two digits, 0 to 21 */
        const char *p = line + at + 1, *end = line + len;
        size_t n = (size_t)(end - p);
        if (n == 0 || n > 2 || p[0] < '0' || p[0] > '9' || (n == 2 && (p[1] < '0' || p[1] > '9'))) return -1;
        int d = n == 2 ? (p[0] - '0') * 10 + (p[1] - '0') : p[0] - '0';
        if (d > 21) return -1;
        row->difficulty = d;
        return 0;
}

static int parse_line_full(const char *line, size_t len, sf_kdd_row_t *row, char *errstr, size_t errstr_size);

int sf_kdd_parse_line(const char *line, size_t len, sf_kdd_row_t *row, char *errstr, size_t errstr_size) {
        size_t n = len;
        if (n > 0 && line[n - 1] == '\n') n--;
        if (n > 0 && line[n - 1] == '\r') n--;
        /* The usual row in one pass; anything else, valid or not, takes the
         * full parser, which says what is wrong. */
        long pos = n ? sf_kdd_parse_features_fast(line, n, row) : -1;
        if (pos >= 0 && parse_tail_fast(line, n, (size_t)pos, row) == 0) return 0;
        return parse_line_full(line, len, row, errstr, errstr_size);
}

static int parse_line_full(const char *line, size_t len, sf_kdd_row_t *row, char *errstr,
                           size_t errstr_size) {
        if (len > 0 && line[len - 1] == '\n') len--;
        if (len > 0 && line[len - 1] == '\r') len--;
        if (len == 0) {
                sf_seterr(errstr, errstr_size, "empty line");
                return -1;
        }
        const char *nul = memchr(line, '\0', len);
        if (nul) {
                sf_seterr(errstr, errstr_size, "NUL byte at column %zu (binary data?)",
                          (size_t)(nul - line) + 1);
                return -1;
        }
        size_t valid = sf_utf8_valid_len(line, len);
        if (valid < len) {
                sf_seterr(errstr, errstr_size,
                          "invalid UTF-8 at column %zu (byte 0x%02x): binary data or a broken encoding, not "
                          "text",
                          valid + 1, (unsigned char)line[valid]);
                return -1;
        }
        /* Split first, so a wrong field count is reported as such rather
         * than as whatever field happens to be misplaced. */
        const char *start[SF_KDD_NFEATURES + 2];
        size_t flen[SF_KDD_NFEATURES + 2];
        int nf = 0;
        const char *p = line, *end = line + len;
        for (;;) {
                const char *comma = memchr(p, ',', (size_t)(end - p));
                const char *stop = comma ? comma : end;
                if (nf < SF_KDD_NFEATURES + 2) {
                        start[nf] = p;
                        flen[nf] = (size_t)(stop - p);
                }
                nf++;
                if (!comma) break;
                p = comma + 1;
        }
        if (nf != SF_KDD_NFEATURES && nf != SF_KDD_NFEATURES + 1 && nf != SF_KDD_NFEATURES + 2) {
                sf_seterr(errstr, errstr_size,
                          "expected 41 fields (features), 42 (+ label) or 43 (+ difficulty), found %d", nf);
                return -1;
        }

        const char *why = NULL;
        int f = 0, k = 0;
        for (f = 0; f < SF_KDD_NFEATURES; f++) {
                if (f == 1) {
                        if (copy_word(row->proto, sizeof(row->proto), start[f], flen[f], &why)) goto bad;
                } else if (f == 2) {
                        if (copy_word(row->service, sizeof(row->service), start[f], flen[f], &why)) goto bad;
                } else if (f == 3) {
                        if (copy_word(row->flag, sizeof(row->flag), start[f], flen[f], &why)) goto bad;
                } else {
                        if (parse_number(start[f], flen[f], &row->num[k], &why)) goto bad;
                        k++;
                }
        }
        row->label = -1;
        row->label_name[0] = '\0';
        row->difficulty = -1;
        if (nf > SF_KDD_NFEATURES) {
                f = SF_KDD_NFEATURES;
                if (copy_word(row->label_name, sizeof(row->label_name), start[f], flen[f], &why)) goto bad;
                row->label = sf_kdd_label_class(row->label_name);
                if (row->label < 0) {
                        char q[64];
                        quote_field(q, sizeof(q), start[f], flen[f]);
                        sf_seterr(
                                errstr, errstr_size,
                                "field %d (label): unknown label \"%s\" (not normal or a known attack name)",
                                f + 1, q);
                        return -1;
                }
        }
        if (nf > SF_KDD_NFEATURES + 1) {
                f = SF_KDD_NFEATURES + 1;
                float d;
                if (parse_number(start[f], flen[f], &d, &why)) goto bad;
                if (d != floorf(d) || d < 0 || d > 21) {
                        why = "expected a whole number from 0 to 21";
                        goto bad;
                }
                row->difficulty = (int)d;
        }
        return 0;
bad : {
        char q[64];
        quote_field(q, sizeof(q), start[f], flen[f]);
        sf_seterr(errstr, errstr_size, "field %d (%s): %s: \"%s\"", f + 1, field_names[f], why, q);
        return -1;
}
}

static void strv_free(char **v, int n) {
        if (!v) return;
        for (int i = 0; i < n; i++) free(v[i]);
        free(v);
}

static uint32_t fnv1a(const char *s) {
        uint32_t h = 2166136261u;
        for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
        return h;
}

/* Builds the hash index of one vocabulary (v sorted, n <= MAX_VOCAB).
 * Returns 0 or -1 (out of memory). */
static int index_build(sf_kdd_encoder_t *enc, int which, char *const *v, int n) {
        uint32_t size = 16;
        while (size < 2u * (uint32_t)n) size *= 2;
        uint16_t *slots = calloc(size, sizeof(*slots));
        if (!slots) return -1;
        for (int i = 0; i < n; i++) {
                uint32_t h = fnv1a(v[i]) & (size - 1);
                while (slots[h]) h = (h + 1) & (size - 1);
                slots[h] = (uint16_t)(i + 1);
        }
        enc->index[which] = slots;
        enc->index_mask[which] = size - 1;
        return 0;
}

/* Index of s in vocabulary `which`, or -1. */
static int index_find(const sf_kdd_encoder_t *enc, int which, char *const *v, const char *s) {
        const uint16_t *slots = enc->index[which];
        uint32_t mask = enc->index_mask[which];
        for (uint32_t h = fnv1a(s) & mask; slots[h]; h = (h + 1) & mask)
                if (strcmp(v[slots[h] - 1], s) == 0) return slots[h] - 1;
        return -1;
}

static int index_all(sf_kdd_encoder_t *enc) {
        return index_build(enc, 0, enc->proto, enc->n_proto) ||
                               index_build(enc, 1, enc->service, enc->n_service) ||
                               index_build(enc, 2, enc->flag, enc->n_flag)
                       ? -1
                       : 0;
}

void sf_kdd_encoder_destroy(sf_kdd_encoder_t *enc) {
        if (!enc) return;
        for (int k = 0; k < 3; k++) free(enc->index[k]);
        strv_free(enc->proto, enc->n_proto);
        strv_free(enc->service, enc->n_service);
        strv_free(enc->flag, enc->n_flag);
        free(enc);
}

static int copy_vocab(const char *what, int n, const char *const *src, char ***dst, char *errstr,
                      size_t errstr_size) {
        if (n <= 0 || n > MAX_VOCAB || !src) {
                sf_seterr(errstr, errstr_size, "%s vocabulary: %d entries (expected 1 to %d)", what, n,
                          MAX_VOCAB);
                return -1;
        }
        for (int i = 0; i < n; i++) {
                if (!src[i] || !src[i][0]) {
                        sf_seterr(errstr, errstr_size, "%s vocabulary: entry %d is empty", what, i);
                        return -1;
                }
                if (i > 0 && strcmp(src[i - 1], src[i]) >= 0) {
                        sf_seterr(errstr, errstr_size,
                                  "%s vocabulary: \"%s\" before \"%s\" is not sorted and unique", what,
                                  src[i - 1], src[i]);
                        return -1;
                }
        }
        char **v = calloc((size_t)n, sizeof(*v));
        if (!v) goto oom;
        for (int i = 0; i < n; i++) {
                if (!(v[i] = strdup(src[i]))) {
                        strv_free(v, i);
                        goto oom;
                }
        }
        *dst = v;
        return 0;
oom:
        sf_seterr(errstr, errstr_size, "out of memory copying the %s vocabulary", what);
        return -1;
}

sf_kdd_encoder_t *sf_kdd_encoder_new(int n_proto, const char *const *proto, int n_service,
                                     const char *const *service, int n_flag, const char *const *flag,
                                     const float *mean, const float *std, char *errstr, size_t errstr_size) {
        if (!mean || !std) {
                sf_seterr(errstr, errstr_size, "encoder: missing means or deviations");
                return NULL;
        }
        for (int j = 0; j < SF_KDD_NNUMERIC; j++) {
                if (!isfinite(mean[j])) {
                        sf_seterr(errstr, errstr_size, "encoder: mean of %s is not finite",
                                  field_names[j == 0 ? 0 : j + 3]);
                        return NULL;
                }
                if (!isfinite(std[j]) || std[j] <= 0) {
                        sf_seterr(errstr, errstr_size,
                                  "encoder: deviation of %s is %g (must be finite and > 0)",
                                  field_names[j == 0 ? 0 : j + 3], (double)std[j]);
                        return NULL;
                }
        }
        sf_kdd_encoder_t *enc = calloc(1, sizeof(*enc));
        if (!enc) {
                sf_seterr(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (copy_vocab("protocol_type", n_proto, proto, &enc->proto, errstr, errstr_size)) goto fail;
        enc->n_proto = n_proto;
        if (copy_vocab("service", n_service, service, &enc->service, errstr, errstr_size)) goto fail;
        enc->n_service = n_service;
        if (copy_vocab("flag", n_flag, flag, &enc->flag, errstr, errstr_size)) goto fail;
        enc->n_flag = n_flag;
        memcpy(enc->mean, mean, sizeof(enc->mean));
        memcpy(enc->std, std, sizeof(enc->std));
        enc->n_inputs = SF_KDD_NNUMERIC + n_proto + n_service + n_flag;
        if (index_all(enc) != 0) {
                sf_seterr(errstr, errstr_size, "out of memory");
                goto fail;
        }
        return enc;
fail:
        sf_kdd_encoder_destroy(enc);
        return NULL;
}

int sf_kdd_encode_sparse(const sf_kdd_encoder_t *enc, const sf_kdd_row_t *row, float *num, int32_t hot[3]) {
        for (int j = 0; j < SF_KDD_NNUMERIC; j++) num[j] = (row->num[j] - enc->mean[j]) / enc->std[j];
        int mask = 0, base = SF_KDD_NNUMERIC;
        int i = index_find(enc, 0, enc->proto, row->proto);
        if (i >= 0)
                hot[0] = base + i;
        else
                hot[0] = -1, mask |= SF_KDD_UNSEEN_PROTO;
        base += enc->n_proto;
        i = index_find(enc, 1, enc->service, row->service);
        if (i >= 0)
                hot[1] = base + i;
        else
                hot[1] = -1, mask |= SF_KDD_UNSEEN_SERVICE;
        base += enc->n_service;
        i = index_find(enc, 2, enc->flag, row->flag);
        if (i >= 0)
                hot[2] = base + i;
        else
                hot[2] = -1, mask |= SF_KDD_UNSEEN_FLAG;
        return mask;
}

int sf_kdd_check_scaled(const sf_kdd_row_t *row, const float *num, char *errstr, size_t errstr_size) {
        int bad = 0;
        for (int j = 0; j < SF_KDD_NNUMERIC; j++) bad |= !isfinite(num[j]);
        if (!bad) return 0;
        int j = 0;
        while (isfinite(num[j])) j++;
        int f = j == 0 ? 0 : j + 3; /* fields 1, 2, 3 are the categoricals */
        sf_seterr(
                errstr, errstr_size,
                "field %d (%s): %g is out of range: scaled by the model's mean and deviation it becomes %g, "
                "which cannot be scored",
                f + 1, field_names[f], (double)row->num[j], (double)num[j]);
        return -1;
}

sf_kdd_encoder_t *sf_kdd_encoder_from_table(const sf_encoder_t *enc, char *errstr, size_t errstr_size) {
        if (enc->n_num != SF_KDD_NNUMERIC || enc->n_flags != 0 || enc->n_cat != 3) {
                sf_seterr(errstr, errstr_size,
                          "this command reads NSL-KDD rows only; the model is for another table (%d numeric "
                          "and %d categorical columns)",
                          enc->n_num, enc->n_cat);
                return NULL;
        }
        return sf_kdd_encoder_new(enc->cat[0].n, (const char *const *)enc->cat[0].vocab, enc->cat[1].n,
                                  (const char *const *)enc->cat[1].vocab, enc->cat[2].n,
                                  (const char *const *)enc->cat[2].vocab, enc->mean, enc->std, errstr,
                                  errstr_size);
}
