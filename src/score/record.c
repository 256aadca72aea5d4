#include "score/record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table/csv.h"
#include "util/decimal.h"
#include "util/utf8.h"

static const char *const reject_names[SF_REJECT_COUNT] = {
        "none",         "empty",      "too_long",      "binary",           "field_count",
        "not_a_number", "non_finite", "not_json",      "missing_field",    "wrong_type",
        "bad_utf8",     "bad_quote",  "invalid_field", "too_many_records",
};

const char *sf_score_reject_str(sf_score_reject_t reason) {
        return (unsigned)reason < SF_REJECT_COUNT ? reject_names[reason] : "invalid_field";
}

int sf_score_format_parse(const char *name, sf_score_format_t *out) {
        static const char *const names[] = {"auto", "csv", "json"};
        for (int i = 0; i < 3; i++)
                if (strcmp(name, names[i]) == 0) {
                        *out = (sf_score_format_t)i;
                        return 0;
                }
        return -1;
}

static int is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* value[0..len) holds only blanks. */
static int all_blank(const char *value, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (!is_blank(value[i])) return 0;
        return 1;
}

sf_score_format_t sf_score_message_format(sf_score_format_t format, const char *value, size_t len) {
        if (format != SF_SCORE_AUTO) return format;
        size_t i = 0;
        while (i < len && is_blank(value[i])) i++;
        return i < len && value[i] == '{' ? SF_SCORE_JSON : SF_SCORE_CSV;
}

size_t sf_score_split(sf_score_format_t format, const char *value, size_t len, sf_score_span_t *spans,
                      size_t max) {
        size_t n = 0;
        int json = sf_score_message_format(format, value, len) == SF_SCORE_JSON;
        for (size_t pos = 0; pos < len && n <= max;) {
                size_t rec_len, used;
                if (json) {
                        const char *nl = memchr(value + pos, '\n', len - pos);
                        rec_len = nl ? (size_t)(nl - (value + pos)) : len - pos;
                        used = nl ? rec_len + 1 : rec_len;
                        if (rec_len > 0 && value[pos + rec_len - 1] == '\r') rec_len--;
                } else {
                        used = sf_csv_record_end(value + pos, len - pos, &rec_len);
                }
                if (!all_blank(value + pos, rec_len)) spans[n++] = (sf_score_span_t){pos, rec_len};
                pos += used;
        }
        return n;
}

/* s as a JSON string, quoted: at most 6 bytes per input byte, plus 2. A
 * byte that is not valid UTF-8 becomes U+FFFD, so the output stays valid
 * JSON whatever the input. */
static char *put_json(char *o, const char *s, size_t len) {
        size_t i = 0, valid = 0;
        *o++ = '"';
        /* plain ASCII (a topic, most values) needs no UTF-8 check */
        for (; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
                *o++ = (char)c;
        }
        if (i < len) valid = i + sf_utf8_valid_len(s + i, len - i);
        for (; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (i == valid) {
                        memcpy(o, "\\ufffd", 6);
                        o += 6;
                        valid = i + 1 + sf_utf8_valid_len(s + i + 1, len - i - 1);
                } else if (c == '"' || c == '\\') {
                        *o++ = '\\';
                        *o++ = (char)c;
                } else if (c == '\n' || c == '\r' || c == '\t') {
                        *o++ = '\\';
                        *o++ = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
                } else if (c < 0x20) {
                        o += sprintf(o, "\\u%04x", c);
                } else {
                        *o++ = (char)c;
                }
        }
        *o++ = '"';
        return o;
}

static char *json_dup(const char *s) {
        size_t len = strlen(s);
        char *j = malloc(6 * len + 3);
        if (!j) return NULL;
        *put_json(j, s, len) = '\0';
        return j;
}

void sf_score_decoder_free(sf_score_decoder_t *d) {
        if (!d) return;
        for (int k = 0; d->class_json && k < d->schema->n_classes; k++) free(d->class_json[k]);
        for (int i = 0; d->col_json && i < d->schema->n_cols; i++) free(d->col_json[i]);
        free(d->class_json);
        free(d->class_json_len);
        free(d->col_json);
        free(d->unlabeled.cols);
        memset(d, 0, sizeof(*d));
}

int sf_score_decoder_init(sf_score_decoder_t *d, const sf_schema_t *schema, const sf_encoder_t *enc,
                          sf_score_format_t format) {
        memset(d, 0, sizeof(*d));
        d->schema = schema;
        d->enc = enc;
        d->format = format;
        d->n_dense = enc ? enc->n_num + enc->n_flags : 0;
        int n = schema->n_cols;
        d->unlabeled = *schema;
        d->unlabeled.cols = malloc((size_t)n * sizeof(*schema->cols));
        d->class_json = calloc((size_t)schema->n_classes, sizeof(char *));
        d->class_json_len = calloc((size_t)schema->n_classes, sizeof(size_t));
        d->col_json = calloc((size_t)n, sizeof(char *));
        if (!d->unlabeled.cols || !d->class_json || !d->class_json_len || !d->col_json) goto oom;
        memcpy(d->unlabeled.cols, schema->cols, (size_t)n * sizeof(*schema->cols));
        d->unlabeled.cols[schema->label_col].type = SF_COL_CATEGORICAL;
        for (int k = 0; k < schema->n_classes; k++) {
                if (!(d->class_json[k] = json_dup(schema->classes[k]))) goto oom;
                d->class_json_len[k] = strlen(d->class_json[k]);
                d->names_len += 3 * strlen(d->class_json[k]); /* class, probabilities, label */
        }
        for (int i = 0; i < schema->n_cols; i++) {
                if (!(d->col_json[i] = json_dup(schema->cols[i].name))) goto oom;
                d->names_len += strlen(d->col_json[i]) + 1;
        }
        return 0;
oom:
        sf_score_decoder_free(d);
        return -1;
}

/* A NUL or control byte other than TAB/CR/LF, or invalid UTF-8: the index
 * of the first such byte, or -1. */
static long find_binary(const char *s, size_t len) {
        size_t valid = sf_utf8_valid_len(s, len);
        for (size_t i = 0; i < valid; i++) {
                unsigned char c = (unsigned char)s[i];
                if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return (long)i;
        }
        return valid < len ? (long)valid : -1;
}

static sf_score_reject_t reject_of(sf_row_reason_t reason) {
        switch (reason) {
        case SF_ROW_OK:
                return SF_REJECT_NONE;
        case SF_ROW_NOT_JSON:
                return SF_REJECT_NOT_JSON;
        case SF_ROW_MISSING_FIELD:
                return SF_REJECT_MISSING_FIELD;
        case SF_ROW_WRONG_TYPE:
                return SF_REJECT_WRONG_TYPE;
        case SF_ROW_NOT_A_NUMBER:
                return SF_REJECT_NOT_A_NUMBER;
        case SF_ROW_NON_FINITE:
                return SF_REJECT_NON_FINITE;
        case SF_ROW_FIELD_COUNT:
                return SF_REJECT_FIELD_COUNT;
        case SF_ROW_BAD_UTF8:
                return SF_REJECT_BAD_UTF8;
        case SF_ROW_BAD_QUOTE:
                return SF_REJECT_BAD_QUOTE;
        case SF_ROW_TOO_LONG:
                return SF_REJECT_TOO_LONG;
        case SF_ROW_UNKNOWN_LABEL:
                break;
        }
        return SF_REJECT_INVALID;
}

/* The reject of a record the row layer refused, errstr naming the column. */
static sf_score_reject_t refused(const sf_score_decoder_t *d, const char *value, size_t len,
                                 const sf_row_error_t *err, sf_score_info_t *info, char *errstr,
                                 size_t errstr_size) {
        long bad = find_binary(value, len);
        info->col = err->col >= 0 && err->col < d->schema->n_cols ? err->col : -1;
        if (bad >= 0) {
                /* The column only when the row layer found the bytes there. */
                if (err->reason != SF_ROW_BAD_UTF8) info->col = -1;
                snprintf(errstr, errstr_size, "binary data: byte 0x%02x at position %ld (%s)",
                         (unsigned char)value[bad], bad,
                         sf_utf8_valid_len(value, len) == (size_t)bad ? "not valid UTF-8"
                                                                      : "a control character");
                return SF_REJECT_BINARY;
        }
        snprintf(errstr, errstr_size, "%s", err->msg);
        return reject_of(err->reason);
}

static int decode_as(const sf_score_decoder_t *d, int unlabeled, int json, const char *value, size_t len,
                     sf_row_t *row, sf_row_error_t *err) {
        const sf_schema_t *schema = unlabeled ? &d->unlabeled : d->schema;
        return json ? sf_row_from_json(schema, value, len, row, err)
                    : sf_row_from_csv_text(schema, value, len, row, err);
}

/* A record as format; whole: it is a whole message, which may hold blank
 * lines around its record and must not hold a second one (a record that
 * sf_score_split found is one already). */
static sf_score_reject_t decode_record(const sf_score_decoder_t *d, sf_score_format_t format, int whole,
                                       const char *value, size_t len, sf_row_t *row, sf_score_info_t *info,
                                       char *errstr, size_t errstr_size) {
        info->unknown_label = 0;
        info->col = -1;
        info->odd = 1;
        if (len > 0 && value[len - 1] == '\n') len--;
        if (len > 0 && value[len - 1] == '\r') len--;
        size_t i = 0;
        while (i < len && is_blank(value[i])) i++;
        if (i == len) {
                snprintf(errstr, errstr_size, "empty record");
                return SF_REJECT_EMPTY;
        }
        if (len > SF_CSV_MAX_RECORD) {
                snprintf(errstr, errstr_size, "record of %zu bytes is longer than the %d-byte limit", len,
                         SF_CSV_MAX_RECORD);
                return SF_REJECT_TOO_LONG;
        }
        int json = format == SF_SCORE_JSON || (format == SF_SCORE_AUTO && value[i] == '{');
        if (!json && whole) { /* blank lines around the record are not data, a second record is refused */
                sf_score_span_t spans[2];
                if (sf_score_split(SF_SCORE_CSV, value, len, spans, 1) > 1) {
                        snprintf(errstr, errstr_size,
                                 "more than one record: a line break outside quotes after byte %zu; a "
                                 "message holds one record (score --records-per-message many reads one a "
                                 "line)",
                                 spans[0].off + spans[0].len);
                        return SF_REJECT_TOO_MANY;
                }
                value += spans[0].off, len = spans[0].len;
        }
        sf_row_error_t err;
        if (decode_as(d, 0, json, value, len, row, &err) == 0) return SF_REJECT_NONE;
        if (err.reason == SF_ROW_UNKNOWN_LABEL) {
                /* Its features can still be scored: read the label as text. */
                sf_row_error_t err2;
                if (decode_as(d, 1, json, value, len, row, &err2) == 0) {
                        row->label = -1;
                        info->unknown_label = 1;
                        return SF_REJECT_NONE;
                }
                err = err2;
        }
        return refused(d, value, len, &err, info, errstr, errstr_size);
}

sf_score_reject_t sf_score_decode(const sf_score_decoder_t *d, const char *value, size_t len, sf_row_t *row,
                                  sf_score_info_t *info, char *errstr, size_t errstr_size) {
        return decode_record(d, d->format, 1, value, len, row, info, errstr, errstr_size);
}

sf_score_reject_t sf_score_decode_as(const sf_score_decoder_t *d, sf_score_format_t format, const char *value,
                                     size_t len, sf_row_t *row, sf_score_info_t *info, char *errstr,
                                     size_t errstr_size) {
        return decode_record(d, format, 0, value, len, row, info, errstr, errstr_size);
}

sf_score_reject_t sf_score_encode(const sf_score_decoder_t *d, const sf_row_t *row, float *dense,
                                  int32_t *hot, uint8_t *status, sf_score_info_t *info, char *errstr,
                                  size_t errstr_size) {
        const sf_encoder_t *enc = d->enc;
        /* unseen and missing categories, missing numbers without a "was missing" input ... */
        int odd = sf_encoder_encode_sparse(enc, row, dense, hot, status);
        /* ... and with one */
        for (int i = enc->n_num; i < d->n_dense; i++) odd += dense[i] != 0;
        info->odd = odd != 0;
        info->col = -1;
        if (sf_encoder_check_scaled(enc, d->schema, row, dense, &info->col, errstr, errstr_size) == 0)
                return SF_REJECT_NONE;
        /* The column goes in *col: leave it out of the text. */
        const char *named = strstr(errstr, "): ");
        if (strncmp(errstr, "column ", 7) == 0 && named) memmove(errstr, named + 3, strlen(named + 3) + 1);
        return SF_REJECT_NON_FINITE;
}

sf_score_reject_t sf_score_check_probs(const float *probs, int classes, char *errstr, size_t errstr_size) {
        for (int k = 0; k < classes; k++)
                if (!isfinite(probs[k])) {
                        snprintf(errstr, errstr_size,
                                 "the model's output is not finite (NaN or infinite probabilities); the "
                                 "record is not scored");
                        return SF_REJECT_NON_FINITE;
                }
        return SF_REJECT_NONE;
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

static char *put_mem(char *o, const char *s, size_t n) {
        memcpy(o, s, n);
        return o + n;
}

static char *put_str(char *o, const char *s) {
        size_t n = strlen(s);
        memcpy(o, s, n);
        return o + n;
}

static char *put_u64(char *o, uint64_t u) {
        char tmp[24];
        int n = 0;
        do {
                tmp[n++] = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        while (n) *o++ = tmp[--n];
        return o;
}

static char *put_i64(char *o, int64_t v) {
        if (v < 0) *o++ = '-';
        return put_u64(o, v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v);
}

/* "topic","partition","offset" or "file","line". */
static char *put_source(char *o, const sf_score_source_t *src) {
        if (src->topic) {
                o = put_str(o, ",\"topic\":");
                o = put_json(o, src->topic, strlen(src->topic));
                o = put_str(o, ",\"partition\":");
                o = put_i64(o, src->partition);
                o = put_str(o, ",\"offset\":");
                o = put_i64(o, src->offset);
                if (src->indexed) {
                        o = put_str(o, ",\"index\":");
                        o = put_u64(o, src->index);
                }
                return o;
        }
        if (src->file) {
                o = put_str(o, ",\"file\":");
                o = put_json(o, src->file, strlen(src->file));
        }
        o = put_str(o, ",\"line\":");
        return put_u64(o, src->line);
}

/* ,"unseen":["col",...] or ,"missing":[...], the feature columns in file
 * order; nothing when there are none (the usual case, checked first). */
static char *put_cols(char *o, const sf_score_decoder_t *d, const char *key, const sf_row_t *row,
                      const uint8_t *status, int missing) {
        const sf_encoder_t *enc = d->enc;
        uint8_t want = missing ? SF_ENC_MISSING : SF_ENC_UNSEEN;
        int any = 0;
        for (int k = 0; k < enc->n_cat; k++) any |= status[k] == want;
        for (int j = 0; missing && j < enc->n_num; j++) any |= row->v[enc->num_col[j]].kind == SF_VAL_MISSING;
        if (!any) return o;
        /* File order: walk both of the encoder's column lists in step. */
        int first = 1;
        for (int j = 0, k = 0; j < enc->n_num || k < enc->n_cat;) {
                int take_num = j < enc->n_num && (k == enc->n_cat || enc->num_col[j] < enc->cat[k].col);
                int col = take_num ? enc->num_col[j++] : enc->cat[k].col;
                int hit = take_num ? missing && row->v[col].kind == SF_VAL_MISSING : status[k++] == want;
                if (!hit) continue;
                o = put_str(o, first ? key : ",");
                first = 0;
                o = put_str(o, d->col_json[col]);
        }
        *o++ = ']';
        return o;
}

size_t sf_score_format(const sf_score_decoder_t *d, char *buf, size_t size, const float *probs,
                       const sf_row_t *row, const uint8_t *status, const sf_score_info_t *info,
                       const sf_score_source_t *src) {
        int unknown_label = info->unknown_label;
        const sf_schema_t *s = d->schema;
        const sf_value_t *raw = &row->v[s->label_col];
        int show_raw = raw->kind == SF_VAL_STRING && (unknown_label || (row->label >= 0 && s->n_map > 0));
        size_t need = 256 + d->names_len + 16 * (size_t)s->n_classes +
                      6 * (src->topic  ? strlen(src->topic)
                           : src->file ? strlen(src->file)
                                       : 0) +
                      (show_raw ? 6 * raw->len : 0);
        if (size < need + 1) return need;
        int cls = 0;
        for (int k = 1; k < s->n_classes; k++)
                if (probs[k] > probs[cls]) cls = k;
        char *o = buf;
        o = put_str(o, "{\"class\":");
        o = put_mem(o, d->class_json[cls], d->class_json_len[cls]);
        o = put_str(o, ",\"class_index\":");
        o = put_i64(o, cls);
        o = put_str(o, ",\"confidence\":");
        o = put_prob(o, probs[cls]);
        o = put_str(o, ",\"probabilities\":{");
        for (int k = 0; k < s->n_classes; k++) {
                if (k) *o++ = ',';
                o = put_mem(o, d->class_json[k], d->class_json_len[k]);
                *o++ = ':';
                o = put_prob(o, probs[k]);
        }
        *o++ = '}';
        o = put_source(o, src);
        if (row->label >= 0) {
                o = put_str(o, ",\"label\":");
                o = put_mem(o, d->class_json[row->label], d->class_json_len[row->label]);
                o = put_str(o, ",\"label_index\":");
                o = put_i64(o, row->label);
        }
        if (show_raw) {
                o = put_str(o, ",\"label_value\":");
                o = put_json(o, raw->str, raw->len);
        }
        if (unknown_label) o = put_str(o, ",\"unknown_label\":true");
        if (info->odd) {
                o = put_cols(o, d, ",\"unseen\":[", row, status, 0);
                o = put_cols(o, d, ",\"missing\":[", row, status, 1);
        }
        *o++ = '}';
        *o = '\0';
        return (size_t)(o - buf);
}

/* s[0..len) is a number in JSON's syntax. */
static int json_number_syntax(const char *s, size_t len) {
        size_t i = 0;
        if (i < len && s[i] == '-') i++;
        if (i < len && s[i] == '0') {
                i++;
        } else {
                if (i == len || s[i] < '1' || s[i] > '9') return 0;
                while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        }
        if (i < len && s[i] == '.') {
                if (++i == len || s[i] < '0' || s[i] > '9') return 0;
                while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        }
        if (i < len && (s[i] == 'e' || s[i] == 'E')) {
                i++;
                if (i < len && (s[i] == '+' || s[i] == '-')) i++;
                if (i == len || s[i] < '0' || s[i] > '9') return 0;
                while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        }
        return i == len;
}

/* A numeric field as a JSON number, or NULL when it is not one that a CSV
 * record's numeric field takes (sf_decimal_parse_float: no hex, nan, inf,
 * blanks, nor a value beyond float range): then it goes as a string, which
 * the scorer refuses as it refuses the CSV field. */
static char *put_number(char *o, const char *s, size_t len) {
        float f;
        if (sf_decimal_parse_float(s, len, &f) != SF_DECIMAL_OK) return NULL;
        if (json_number_syntax(s, len)) {
                memcpy(o, s, len);
                return o + len;
        }
        char tmp[64];
        if (len >= sizeof(tmp)) return NULL;
        memcpy(tmp, s, len);
        tmp[len] = '\0';
        return o + sprintf(o, "%.17g", strtod(tmp, NULL)); /* "+1.5", ".5", "5." */
}

size_t sf_score_csv_to_json(const sf_score_decoder_t *d, const sf_csv_field_t *fields, int n_fields,
                            char *buf, size_t size) {
        size_t need = 2 + d->names_len;
        for (int i = 0; i < n_fields; i++) need += 32 + 6 * fields[i].len;
        if (size < need + 1) return need;
        char *o = buf;
        *o++ = '{';
        for (int i = 0; i < n_fields && i < d->schema->n_cols; i++) {
                const sf_csv_field_t *f = &fields[i];
                sf_col_type_t type = d->schema->cols[i].type;
                if (i) *o++ = ',';
                o = put_str(o, d->col_json[i]);
                *o++ = ':';
                char *num = NULL;
                if (f->len == 0 && !f->quoted)
                        num = put_str(o, "null");
                else if (type == SF_COL_NUMERIC || type == SF_COL_IGNORE)
                        num = put_number(o, f->s, f->len);
                o = num ? num : put_json(o, f->s, f->len);
        }
        *o++ = '}';
        *o = '\0';
        return (size_t)(o - buf);
}
