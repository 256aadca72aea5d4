#include "table/csv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/lines.h"
#include "util/util.h"

static const char *const too_long = "field longer than 65536 bytes";

/* A record without quotes: split on commas with memchr. */
static sf_csv_status_t split_plain(const char *rec, size_t len, sf_csv_field_t *fields, int max_fields,
                                   int *n_fields, int *bad_field, const char **why) {
        const char *p = rec, *end = rec + len;
        int nf = 0;
        for (;;) {
                const char *comma = memchr(p, ',', (size_t)(end - p));
                const char *stop = comma ? comma : end;
                size_t flen = (size_t)(stop - p);
                if (flen > SF_CSV_MAX_FIELD) {
                        *n_fields = nf + 1, *bad_field = nf, *why = too_long;
                        return SF_CSV_BAD;
                }
                if (nf < max_fields) fields[nf] = (sf_csv_field_t){p, flen, 0};
                nf++;
                if (!comma) break;
                p = comma + 1;
        }
        *n_fields = nf;
        return SF_CSV_OK;
}

/* A quoted field starting after its opening quote at *pp: unquotes it into
 * *outp (or, outp NULL, only finds its end). Returns SF_CSV_OK with *pp
 * after the closing quote, or SF_CSV_OPEN_QUOTE when the record ends first. */
static sf_csv_status_t unquote(const char **pp, const char *end, char **outp) {
        const char *p = *pp;
        char *o = outp ? *outp : NULL;
        for (;;) {
                const char *q = memchr(p, '"', (size_t)(end - p));
                if (!q) return SF_CSV_OPEN_QUOTE;
                if (o) {
                        memcpy(o, p, (size_t)(q - p));
                        o += q - p;
                }
                if (q + 1 < end && q[1] == '"') { /* "" is one quote */
                        if (o) *o++ = '"';
                        p = q + 2;
                        continue;
                }
                *pp = q + 1;
                if (outp) *outp = o;
                return SF_CSV_OK;
        }
}

/* p (< end) is a line end: "\n" or "\r\n". */
static int at_eol(const char *p, const char *end) {
        return *p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n');
}

/* The tokenizer behind sf_csv_split (lines 0: rec is one record) and
 * sf_csv_record_end (lines 1: a line end outside quotes ends the record,
 * *stop says where; scratch may be NULL, fields are then not unquoted). */
static sf_csv_status_t tokenize(const char *rec, size_t len, int lines, sf_csv_field_t *fields,
                                int max_fields, int *n_fields, char *scratch, int *bad_field,
                                const char **why, const char **stop) {
        const char *p = rec, *end = rec + len;
        const char *nl = lines ? memchr(p, '\n', len) : NULL; /* the next line end, or NULL */
        char *out = scratch;
        int nf = 0;
        for (;;) {
                sf_csv_field_t f;
                *n_fields = nf + 1, *bad_field = nf;
                if (nl && nl < p) nl = memchr(p, '\n', (size_t)(end - p));
                if (p < end && *p == '"') {
                        p++;
                        char *start = out;
                        if (unquote(&p, end, scratch ? &out : NULL) != SF_CSV_OK) {
                                *why = "unterminated quoted field";
                                if (stop) *stop = end;
                                return SF_CSV_OPEN_QUOTE;
                        }
                        f = (sf_csv_field_t){start, (size_t)(out - start), 1};
                        if (!scratch) f.len = 0;
                        if (p < end && *p != ',' && !(lines && at_eol(p, end))) {
                                *why = "text after the closing quote (a quote inside a quoted field is "
                                       "written \"\")";
                                if (stop) *stop = p;
                                return SF_CSV_BAD;
                        }
                } else {
                        const char *line_end = nl ? nl : end;
                        const char *comma = memchr(p, ',', (size_t)(line_end - p));
                        const char *stop_at = comma ? comma : line_end;
                        if (memchr(p, '"', (size_t)(stop_at - p))) {
                                *why = "quote inside an unquoted field (quote the whole field and write the "
                                       "quote as \"\")";
                                if (stop) *stop = p;
                                return SF_CSV_BAD;
                        }
                        f = (sf_csv_field_t){p, (size_t)(stop_at - p), 0};
                        p = stop_at;
                }
                if (f.len > SF_CSV_MAX_FIELD) {
                        *why = too_long;
                        if (stop) *stop = p;
                        return SF_CSV_BAD;
                }
                if (nf < max_fields) fields[nf] = f;
                nf++;
                if (p == end || (lines && at_eol(p, end))) break;
                p++; /* the comma; a record ending in one has one more, empty, field */
        }
        *n_fields = nf;
        if (stop) *stop = p;
        return SF_CSV_OK;
}

sf_csv_status_t sf_csv_split(const char *rec, size_t len, sf_csv_field_t *fields, int max_fields,
                             int *n_fields, char *scratch, int *bad_field, const char **why) {
        if (!memchr(rec, '"', len))
                return split_plain(rec, len, fields, max_fields, n_fields, bad_field, why);
        return tokenize(rec, len, 0, fields, max_fields, n_fields, scratch, bad_field, why, NULL);
}

size_t sf_csv_record_end(const char *text, size_t len, size_t *rec_len) {
        const char *end = text + len;
        const char *stop = memchr(text, '\n', len);
        if (!stop) stop = end;
        if (memchr(text, '"', (size_t)(stop - text))) {
                int nf, bad;
                const char *why;
                if (tokenize(text, len, 1, NULL, 0, &nf, NULL, &bad, &why, &stop) == SF_CSV_BAD) {
                        /* malformed: the record runs to the end of that line */
                        stop = memchr(stop, '\n', (size_t)(end - stop));
                        if (!stop) stop = end;
                }
        }
        size_t n = (size_t)(stop - text);
        if (n > 0 && text[n - 1] == '\r') n--;
        *rec_len = n;
        if (stop < end && *stop == '\r') stop++;
        return stop < end ? (size_t)(stop - text) + 1 : len;
}

struct sf_csv_reader {
        sf_lines_t *lines;
        int max_fields;
        sf_csv_field_t *fields;
        char *rec, *scratch; /* a record spanning lines; unquoted fields */
        size_t rec_cap, scratch_cap;
        const char *const *names;
        int n_names;
};

sf_csv_reader_t *sf_csv_open(const char *path, int max_fields, char *errstr, size_t errstr_size) {
        if (max_fields < 1) max_fields = 1;
        sf_csv_reader_t *r = calloc(1, sizeof(*r));
        if (!r || !(r->fields = calloc((size_t)max_fields, sizeof(*r->fields)))) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                sf_csv_close(r);
                return NULL;
        }
        r->max_fields = max_fields;
        if (!(r->lines = sf_lines_open(path, SF_CSV_MAX_RECORD, errstr, errstr_size))) {
                sf_csv_close(r);
                return NULL;
        }
        return r;
}

void sf_csv_set_names(sf_csv_reader_t *r, const char *const *names, int n) {
        r->names = names;
        r->n_names = n;
}

struct sf_lines *sf_csv_lines(sf_csv_reader_t *r) {
        return r->lines;
}

const char *sf_csv_path(const sf_csv_reader_t *r) {
        return sf_lines_path(r->lines);
}

void sf_csv_close(sf_csv_reader_t *r) {
        if (!r) return;
        sf_lines_close(r->lines);
        free(r->fields);
        free(r->rec);
        free(r->scratch);
        free(r);
}

void sf_csv_error(const sf_csv_reader_t *r, uint64_t lineno, int col, const char *why, char *errstr,
                  size_t errstr_size) {
        if (col >= 0 && col < r->n_names)
                sf_seterr(errstr, errstr_size, "%s:%llu:%d (%s): %s", sf_csv_path(r),
                          (unsigned long long)lineno, col + 1, r->names[col], why);
        else
                sf_seterr(errstr, errstr_size, "%s:%llu:%d: %s", sf_csv_path(r), (unsigned long long)lineno,
                          col + 1, why);
}

static int grow(char **buf, size_t *cap, size_t need) {
        if (need <= *cap) return 0;
        size_t c = *cap ? *cap : 4096;
        while (c < need) c *= 2;
        char *b = realloc(*buf, c);
        if (!b) return -1;
        *buf = b, *cap = c;
        return 0;
}

static size_t count_quotes(const char *s, size_t len) {
        size_t n = 0;
        for (const char *q = s; (q = memchr(q, '"', len - (size_t)(q - s))) != NULL; q++) n++;
        return n;
}

/* A record over SF_CSV_MAX_RECORD bytes from line start, read up to line
 * no with `quotes` quote characters so far: skips its lines up to the one
 * where its quotes close (an even count: "" inside a field counts two), so
 * that reading goes on at the next record, not inside its quoted field. */
static sf_csv_read_status_t skip_record(sf_csv_reader_t *r, size_t quotes, uint64_t start, uint64_t no,
                                        char *errstr, size_t errstr_size) {
        const char *line;
        size_t len;
        while (quotes % 2) {
                sf_lines_status_t st = sf_lines_next(r->lines, &line, &len, &no, errstr, errstr_size);
                if (st == SF_LINES_ERROR) return SF_CSV_READ_ERROR;
                if (st == SF_LINES_EOF) break;
                if (st == SF_LINES_OK) quotes += count_quotes(line, len);
        }
        sf_seterr(errstr, errstr_size,
                  "%s:%llu: record longer than %d bytes (lines %llu to %llu, a quoted field across them; an "
                  "unterminated quote?); skipped",
                  sf_csv_path(r), (unsigned long long)start, SF_CSV_MAX_RECORD, (unsigned long long)start,
                  (unsigned long long)no);
        return SF_CSV_READ_BAD;
}

/* A record whose quoted field runs past the end of its first line: appends
 * the following lines (each separated by "\n", one per line counted, so
 * the empty lines sf_lines skips come back) until the quote closes. */
static sf_csv_read_status_t continue_record(sf_csv_reader_t *r, const char *line, size_t len, uint64_t start,
                                            size_t *rec_len, char *errstr, size_t errstr_size) {
        size_t used = len;
        uint64_t last = start;
        if (grow(&r->rec, &r->rec_cap, len + 1)) goto oom;
        memcpy(r->rec, line, len);
        for (;;) {
                uint64_t no;
                sf_lines_status_t st = sf_lines_next(r->lines, &line, &len, &no, errstr, errstr_size);
                if (st == SF_LINES_ERROR) return SF_CSV_READ_ERROR;
                if (st == SF_LINES_BAD) return SF_CSV_READ_BAD;
                int bad, nf;
                const char *why;
                if (st == SF_LINES_EOF) {
                        sf_csv_split(r->rec, used, r->fields, r->max_fields, &nf, r->scratch, &bad, &why);
                        sf_csv_error(r, start, bad, "unterminated quoted field (the file ends inside it)",
                                     errstr, errstr_size);
                        return SF_CSV_READ_BAD;
                }
                size_t need = used + (size_t)(no - last) + len;
                if (need > SF_CSV_MAX_RECORD)
                        return skip_record(r, count_quotes(r->rec, used) + count_quotes(line, len), start, no,
                                           errstr, errstr_size);
                if (grow(&r->rec, &r->rec_cap, need + 1) || grow(&r->scratch, &r->scratch_cap, need + 1))
                        goto oom;
                for (; last < no; last++) r->rec[used++] = '\n';
                memcpy(r->rec + used, line, len);
                used += len;
                sf_csv_status_t cs =
                        sf_csv_split(r->rec, used, r->fields, r->max_fields, &nf, r->scratch, &bad, &why);
                if (cs == SF_CSV_OK) {
                        r->rec[used] = '\0';
                        *rec_len = used;
                        return SF_CSV_READ_OK;
                }
                if (cs == SF_CSV_BAD) {
                        sf_csv_error(r, start, bad, why, errstr, errstr_size);
                        return SF_CSV_READ_BAD;
                }
        }
oom:
        sf_seterr(errstr, errstr_size, "%s:%llu: out of memory", sf_csv_path(r), (unsigned long long)start);
        return SF_CSV_READ_ERROR;
}

sf_csv_read_status_t sf_csv_next_text(sf_csv_reader_t *r, const char **text, size_t *text_len,
                                      uint64_t *lineno, char *errstr, size_t errstr_size) {
        const char *line;
        size_t len;
        sf_lines_status_t st = sf_lines_next(r->lines, &line, &len, lineno, errstr, errstr_size);
        if (st == SF_LINES_EOF) return SF_CSV_READ_EOF;
        if (st == SF_LINES_ERROR) return SF_CSV_READ_ERROR;
        if (st == SF_LINES_BAD) return SF_CSV_READ_BAD;
        *text = line, *text_len = len;
        if (!memchr(line, '"', len)) return SF_CSV_READ_OK; /* one line, whatever its fields */
        if (grow(&r->scratch, &r->scratch_cap, len + 1)) {
                sf_seterr(errstr, errstr_size, "%s:%llu: out of memory", sf_csv_path(r),
                          (unsigned long long)*lineno);
                return SF_CSV_READ_ERROR;
        }
        int bad, nf;
        const char *why;
        sf_csv_status_t cs = sf_csv_split(line, len, r->fields, r->max_fields, &nf, r->scratch, &bad, &why);
        if (cs == SF_CSV_OK) return SF_CSV_READ_OK;
        if (cs == SF_CSV_BAD) {
                sf_csv_error(r, *lineno, bad, why, errstr, errstr_size);
                return SF_CSV_READ_BAD;
        }
        sf_csv_read_status_t rs = continue_record(r, line, len, *lineno, text_len, errstr, errstr_size);
        *text = r->rec;
        return rs;
}

sf_csv_read_status_t sf_csv_next(sf_csv_reader_t *r, const sf_csv_field_t **fields, int *n_fields,
                                 uint64_t *lineno, char *errstr, size_t errstr_size) {
        const char *text;
        size_t len;
        sf_csv_read_status_t st = sf_csv_next_text(r, &text, &len, lineno, errstr, errstr_size);
        if (st != SF_CSV_READ_OK) return st;
        if (grow(&r->scratch, &r->scratch_cap, len + 1)) {
                sf_seterr(errstr, errstr_size, "%s:%llu: out of memory", sf_csv_path(r),
                          (unsigned long long)*lineno);
                return SF_CSV_READ_ERROR;
        }
        *fields = r->fields;
        int bad;
        const char *why;
        if (sf_csv_split(text, len, r->fields, r->max_fields, n_fields, r->scratch, &bad, &why) == SF_CSV_OK)
                return SF_CSV_READ_OK;
        sf_csv_error(r, *lineno, bad, why, errstr, errstr_size); /* a field over 64 KiB */
        return SF_CSV_READ_BAD;
}
