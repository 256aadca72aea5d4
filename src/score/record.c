#include "score/record.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "util/utf8.h"

const char *sf_score_reject_str(sf_score_reject_t reason) {
        switch (reason) {
        case SF_REJECT_NONE:
                return "none";
        case SF_REJECT_EMPTY:
                return "empty";
        case SF_REJECT_TOO_LONG:
                return "too_long";
        case SF_REJECT_BINARY:
                return "binary";
        case SF_REJECT_FIELD_COUNT:
                return "field_count";
        case SF_REJECT_NON_NUMERIC:
                return "non_numeric";
        case SF_REJECT_NON_FINITE:
                return "non_finite";
        case SF_REJECT_INVALID:
                return "invalid_field";
        }
        return "invalid_field";
}

/* Control bytes other than TAB, DEL, or bytes that are not UTF-8: the
 * record is not text. Returns the offending byte's index or -1, and in
 * *utf8 whether it is a bad UTF-8 sequence (not a control byte). */
static long find_binary(const unsigned char *s, size_t len, int *utf8) {
        size_t valid = sf_utf8_valid_len((const char *)s, len);
        for (size_t i = 0; i < valid; i++) {
                unsigned char c = s[i];
                if ((c < 0x20 && c != '\t') || c == 0x7f) {
                        *utf8 = 0;
                        return (long)i;
                }
        }
        *utf8 = 1;
        return valid < len ? (long)valid : -1;
}

static int is_numeric_field(int i) {
        return i < SF_KDD_NFEATURES && (i < 1 || i > 3);
}

/* After the parser refused the 41 feature fields, find the first numeric
 * field that is not a finite number to give the precise reason. */
static sf_score_reject_t classify_numeric(const char *s, size_t len, char *errstr, size_t errstr_size) {
        size_t start = 0;
        for (int f = 0; f < SF_KDD_NFEATURES && start <= len; f++) {
                const char *comma = memchr(s + start, ',', len - start);
                size_t end = comma ? (size_t)(comma - s) : len;
                if (is_numeric_field(f)) {
                        char tmp[64];
                        size_t n = end - start;
                        int toolong = n >= sizeof(tmp);
                        if (toolong) n = sizeof(tmp) - 1;
                        memcpy(tmp, s + start, n);
                        tmp[n] = '\0';
                        char *endp = NULL;
                        errno = 0;
                        double v = n ? strtod(tmp, &endp) : 0.0;
                        int ok = n > 0 && !toolong && endp && *endp == '\0';
                        if (!ok) {
                                snprintf(errstr, errstr_size, "field %d (%s): '%.*s%s' is not a number",
                                         f + 1, sf_kdd_field_name(f), (int)(n > 32 ? 32 : n), tmp,
                                         n > 32 || toolong ? "..." : "");
                                return SF_REJECT_NON_NUMERIC;
                        }
                        if (!isfinite(v) || !isfinite((float)v)) {
                                snprintf(errstr, errstr_size, "field %d (%s): '%s' is not a finite number",
                                         f + 1, sf_kdd_field_name(f), tmp);
                                return SF_REJECT_NON_FINITE;
                        }
                }
                start = end + 1;
        }
        return SF_REJECT_INVALID;
}

/* The label and difficulty after fast-parsed features at value[pos], in
 * their usual form (a printable ASCII label, a difficulty of digits only):
 * 0 with row filled as the checks below would fill it, -1 to take them. */
static int parse_tail_fast(const char *value, size_t len, size_t pos, sf_kdd_row_t *row, int *unknown_label) {
        long at = sf_kdd_parse_label_fast(value, len, pos, row);
        if (at < 0) return -1;
        if ((size_t)at == len) {
                *unknown_label = row->label_name[0] && row->label < 0;
                return 0;
        }
        const char *p = value + at + 1, *end = value + len;
        size_t n = (size_t)(end - p);
        if (n == 0 || n > 7) return -1;
        long d = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned digit = (unsigned)(unsigned char)p[i] - '0';
                if (digit > 9) return -1;
                d = d * 10 + digit;
        }
        if (d > 1000000) return -1;
        row->difficulty = (int)d;
        *unknown_label = row->label_name[0] && row->label < 0;
        return 0;
}

sf_score_reject_t sf_score_parse(const char *value, size_t len, sf_kdd_row_t *row, int *unknown_label,
                                 char *errstr, size_t errstr_size) {
        size_t n = len;
        if (n > 0 && value[n - 1] == '\n') n--;
        if (n > 0 && value[n - 1] == '\r') n--;
        /* The usual record in one pass; anything else, valid or not, takes
         * the full checks, which say what is wrong. */
        *unknown_label = 0;
        long pos = n ? sf_kdd_parse_features_fast(value, n, row) : -1;
        if (pos >= 0 && parse_tail_fast(value, n, (size_t)pos, row, unknown_label) == 0)
                return SF_REJECT_NONE;
        return sf_score_parse_full(value, len, row, unknown_label, errstr, errstr_size);
}

sf_score_reject_t sf_score_parse_full(const char *value, size_t len, sf_kdd_row_t *row, int *unknown_label,
                                      char *errstr, size_t errstr_size) {
        *unknown_label = 0;
        if (len > 0 && value[len - 1] == '\n') len--;
        if (len > 0 && value[len - 1] == '\r') len--;
        if (len == 0) {
                snprintf(errstr, errstr_size, "empty record");
                return SF_REJECT_EMPTY;
        }
        if (len > SF_KDD_MAX_LINE) {
                snprintf(errstr, errstr_size, "record of %zu bytes is longer than the %d-byte limit", len,
                         SF_KDD_MAX_LINE);
                return SF_REJECT_TOO_LONG;
        }
        int utf8 = 0;
        long bad = find_binary((const unsigned char *)value, len, &utf8);
        if (bad >= 0) {
                snprintf(errstr, errstr_size, "binary data: byte 0x%02x at position %ld (%s)",
                         (unsigned char)value[bad], bad, utf8 ? "not valid UTF-8" : "a control character");
                return SF_REJECT_BINARY;
        }

        /* Where the 41 features end, and the label / difficulty after them. */
        size_t commas[SF_KDD_NFEATURES + 2];
        int nfields = 1;
        for (size_t i = 0; i < len; i++) {
                if (value[i] != ',') continue;
                if (nfields <= SF_KDD_NFEATURES + 1) commas[nfields - 1] = i;
                nfields++;
        }
        if (nfields < SF_KDD_NFEATURES || nfields > SF_KDD_NFEATURES + 2) {
                snprintf(errstr, errstr_size,
                         "%d fields, expected %d (features), %d (+ label) or %d (+ difficulty)", nfields,
                         SF_KDD_NFEATURES, SF_KDD_NFEATURES + 1, SF_KDD_NFEATURES + 2);
                return SF_REJECT_FIELD_COUNT;
        }
        size_t feat_len = nfields == SF_KDD_NFEATURES ? len : commas[SF_KDD_NFEATURES - 1];
        char perr[256];
        if (sf_kdd_parse_line(value, feat_len, row, perr, sizeof(perr)) != 0) {
                sf_score_reject_t r = classify_numeric(value, feat_len, errstr, errstr_size);
                if (r == SF_REJECT_INVALID) snprintf(errstr, errstr_size, "%s", perr);
                return r;
        }
        row->label = -1;
        row->label_name[0] = '\0';
        row->difficulty = -1;
        if (nfields >= SF_KDD_NFEATURES + 1) {
                size_t ls = commas[SF_KDD_NFEATURES - 1] + 1;
                size_t le = nfields == SF_KDD_NFEATURES + 2 ? commas[SF_KDD_NFEATURES] : len;
                size_t n = le - ls;
                if (n == 0 || n >= sizeof(row->label_name)) {
                        snprintf(errstr, errstr_size, "field %d (%s): %s", SF_KDD_NFEATURES + 1,
                                 sf_kdd_field_name(SF_KDD_NFEATURES), n ? "longer than 31 bytes" : "empty");
                        return SF_REJECT_INVALID;
                }
                memcpy(row->label_name, value + ls, n);
                row->label_name[n] = '\0';
                row->label = sf_kdd_label_class(row->label_name);
                if (row->label < 0) *unknown_label = 1;
        }
        if (nfields == SF_KDD_NFEATURES + 2) {
                size_t ds = commas[SF_KDD_NFEATURES] + 1;
                char tmp[32];
                size_t n = len - ds;
                char *endp = NULL;
                long d = -1;
                if (n > 0 && n < sizeof(tmp)) {
                        memcpy(tmp, value + ds, n);
                        tmp[n] = '\0';
                        errno = 0;
                        d = strtol(tmp, &endp, 10);
                }
                if (n == 0 || n >= sizeof(tmp) || *endp != '\0' || errno || d < 0 || d > 1000000) {
                        snprintf(errstr, errstr_size, "field %d (%s): '%.*s' is not a non-negative integer",
                                 SF_KDD_NFEATURES + 2, sf_kdd_field_name(SF_KDD_NFEATURES + 1),
                                 (int)(n > 32 ? 32 : n), value + ds);
                        return SF_REJECT_NON_NUMERIC;
                }
                row->difficulty = (int)d;
        }
        return SF_REJECT_NONE;
}

sf_score_reject_t sf_score_check_encoded(const sf_kdd_row_t *row, const float *num, char *errstr,
                                         size_t errstr_size) {
        return sf_kdd_check_scaled(row, num, errstr, errstr_size) == 0 ? SF_REJECT_NONE
                                                                       : SF_REJECT_NON_FINITE;
}

sf_score_reject_t sf_score_check_probs(const float *probs, char *errstr, size_t errstr_size) {
        int finite = 1;
        for (int k = 0; k < SF_KDD_NCLASSES; k++) finite &= isfinite(probs[k]) != 0;
        if (finite) return SF_REJECT_NONE;
        snprintf(
                errstr, errstr_size,
                "the model's output is not finite (NaN or infinite probabilities); the record is not scored");
        return SF_REJECT_NON_FINITE;
}

/* p in [0, 1] as "0.dddddd": snprintf("%.6f") is a large share of the time
 * spent per record, and probabilities need nothing more general. */
static char *put_prob(char *o, float p) {
        if (!(p > 0)) p = 0; /* also NaN */
        if (p > 1) p = 1;
        long v = lrintf(p * 1e6f);
        if (v >= 1000000) {
                memcpy(o, "1.000000", 8);
                return o + 8;
        }
        o[0] = '0';
        o[1] = '.';
        for (int i = 7; i >= 2; i--) {
                o[i] = (char)('0' + v % 10);
                v /= 10;
        }
        return o + 8;
}

static char *put_str(char *o, const char *s) {
        size_t n = strlen(s);
        memcpy(o, s, n);
        return o + n;
}

/* s as a JSON string, quoted; at most 6 bytes per input byte. */
static char *put_json(char *o, const char *s) {
        *o++ = '"';
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\') {
                        *o++ = '\\';
                        *o++ = (char)c;
                } else if (c < 0x20) {
                        o += sprintf(o, "\\u%04x", c);
                } else {
                        *o++ = (char)c;
                }
        }
        *o++ = '"';
        return o;
}

static char *put_i64(char *o, int64_t v) {
        char tmp[24];
        int n = 0;
        uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
        do {
                tmp[n++] = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        if (v < 0) *o++ = '-';
        while (n) *o++ = tmp[--n];
        return o;
}

size_t sf_score_format(char *buf, size_t size, const float *probs, const sf_kdd_row_t *row, int unseen,
                       int unknown_label, const sf_score_source_t *src) {
        /* Bound: fixed text ~250 bytes + topic (<= 249) + escaped label (<= 186). */
        size_t need = 300 + strlen(src->topic) + 6 * strlen(row->label_name);
        if (size < need) return 0;
        int cls = 0;
        for (int k = 1; k < SF_KDD_NCLASSES; k++)
                if (probs[k] > probs[cls]) cls = k;
        char *o = buf;
        o = put_str(o, "{\"class\":\"");
        o = put_str(o, sf_kdd_class_name(cls));
        o = put_str(o, "\",\"class_index\":");
        *o++ = (char)('0' + cls);
        o = put_str(o, ",\"confidence\":");
        o = put_prob(o, probs[cls]);
        o = put_str(o, ",\"probabilities\":{");
        for (int k = 0; k < SF_KDD_NCLASSES; k++) {
                if (k) *o++ = ',';
                *o++ = '"';
                o = put_str(o, sf_kdd_class_name(k));
                o = put_str(o, "\":");
                o = put_prob(o, probs[k]);
        }
        o = put_str(o, "},\"topic\":");
        o = put_json(o, src->topic);
        o = put_str(o, ",\"partition\":");
        o = put_i64(o, src->partition);
        o = put_str(o, ",\"offset\":");
        o = put_i64(o, src->offset);
        if (row->label >= 0) {
                o = put_str(o, ",\"label\":\"");
                o = put_str(o, sf_kdd_class_name(row->label));
                o = put_str(o, "\",\"label_index\":");
                *o++ = (char)('0' + row->label);
        }
        if (row->label_name[0]) {
                o = put_str(o, ",\"attack\":");
                o = put_json(o, row->label_name);
        }
        if (unknown_label) o = put_str(o, ",\"unknown_label\":true");
        if (unseen) {
                static const char *const names[] = {"protocol_type", "service", "flag"};
                o = put_str(o, ",\"unseen\":[");
                int first = 1;
                for (int i = 0; i < 3; i++) {
                        if (!(unseen & (1 << i))) continue;
                        if (!first) *o++ = ',';
                        first = 0;
                        *o++ = '"';
                        o = put_str(o, names[i]);
                        *o++ = '"';
                }
                *o++ = ']';
        }
        *o++ = '}';
        *o = '\0';
        return (size_t)(o - buf);
}
