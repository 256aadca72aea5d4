/* NSL-KDD rows through the table path (src/table with the shipped
 * data/nsl-kdd/schema.json): the 40 label names and their five classes
 * through the schema's map, every row of the four shipped files, numbers in
 * every spelling, malformed rows, RFC 4180 quoting, the 64 KiB field limit,
 * invalid UTF-8 and NUL bytes, JSON records, and numbers that parse but
 * overflow once scaled. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "model/dataset.h"
#include "table/csv.h"
#include "table/encoder.h"
#include "table/row.h"
#include "table/schema.h"
#include "table/table.h"
#include "test.h"
#include "utf8_cases.h"
#include "util/lines.h"

static char rootdir[512];
static sf_schema_t *nsl; /* data/nsl-kdd/schema.json */
static sf_row_t row;

enum { NORMAL, DOS, PROBE, R2L, U2R };
enum { NCOLS = 43, LABEL = 41 };

static const char *good43 = "0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,0.00,0.00,"
                            "1.00,0.00,0.00,150,25,"
                            "0.17,0.03,0.17,0.00,0.00,0.00,0.05,0.00,normal,20";

/* good43 with field i (0-based) replaced by value, and field2 (-1: none) by
 * value2. Returns the length. */
static size_t with_fields(char *out, size_t size, int field, const char *value, int field2,
                          const char *value2) {
        char copy[1024];
        snprintf(copy, sizeof(copy), "%s", good43);
        out[0] = '\0';
        size_t len = 0;
        int f = 0;
        for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ","), f++)
                len += (size_t)snprintf(out + len, size - len, "%s%s", f ? "," : "",
                                        f == field    ? value
                                        : f == field2 ? value2
                                                      : tok);
        return len;
}

static size_t with_field(char *out, size_t size, int field, const char *value) {
        return with_fields(out, size, field, value, -1, NULL);
}

/* sf_row_from_csv_text over text[0..len) into the shared row. */
static int decode(const char *text, size_t len, sf_row_error_t *err) {
        memset(err, 0, sizeof(*err));
        return sf_row_from_csv_text(nsl, text, len, &row, err);
}

static int str_is(const sf_value_t *v, const char *s) {
        return v->kind == SF_VAL_STRING && v->len == strlen(s) && memcmp(v->str, s, v->len) == 0;
}

/* Every label of KDDTrain+, KDDTrain+_20Percent, KDDTest+ and KDDTest-21:
 * normal and 39 attack names, grouped as in the DARPA 1998/1999
 * evaluations. */
static const struct {
        const char *name;
        int cls;
} labels[] = {
        {"normal", NORMAL},
        {"apache2", DOS},
        {"back", DOS},
        {"land", DOS},
        {"mailbomb", DOS},
        {"neptune", DOS},
        {"pod", DOS},
        {"processtable", DOS},
        {"smurf", DOS},
        {"teardrop", DOS},
        {"udpstorm", DOS},
        {"worm", DOS},
        {"ipsweep", PROBE},
        {"mscan", PROBE},
        {"nmap", PROBE},
        {"portsweep", PROBE},
        {"saint", PROBE},
        {"satan", PROBE},
        {"ftp_write", R2L},
        {"guess_passwd", R2L},
        {"httptunnel", R2L},
        {"imap", R2L},
        {"multihop", R2L},
        {"named", R2L},
        {"phf", R2L},
        {"sendmail", R2L},
        {"snmpgetattack", R2L},
        {"snmpguess", R2L},
        {"spy", R2L},
        {"warezclient", R2L},
        {"warezmaster", R2L},
        {"xlock", R2L},
        {"xsnoop", R2L},
        {"buffer_overflow", U2R},
        {"loadmodule", U2R},
        {"perl", U2R},
        {"ps", U2R},
        {"rootkit", U2R},
        {"sqlattack", U2R},
        {"xterm", U2R},
};

static void test_label_map(void) {
        static const char *const classes[] = {"normal", "DoS", "Probe", "R2L", "U2R"};
        CHECK_INT(nsl->n_classes, 5);
        for (int k = 0; k < 5 && k < nsl->n_classes; k++) CHECK_STR(nsl->classes[k], classes[k]);
        CHECK_INT(sizeof(labels) / sizeof(labels[0]), 40);
        /* the map holds these names and nothing else */
        CHECK_INT(nsl->n_map, 40);
        for (int k = 0; k < nsl->n_map; k++) {
                int found = 0;
                for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
                        found |= strcmp(labels[i].name, nsl->map_from[k]) == 0 &&
                                 labels[i].cls == nsl->map_to[k];
                CHECK_MSG(found, "map entry %s -> %d", nsl->map_from[k], nsl->map_to[k]);
        }
        /* each name in a row gives its class */
        char line[1024];
        for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
                sf_row_error_t err;
                size_t n = with_field(line, sizeof(line), LABEL, labels[i].name);
                int rc = decode(line, n, &err);
                CHECK_MSG(rc == 0 && row.label == labels[i].cls,
                          "label \"%s\": rc %d (%s), class %d, expected %d", labels[i].name, rc, err.msg,
                          row.label, labels[i].cls);
                CHECK_INT(sf_schema_class(nsl, labels[i].name, strlen(labels[i].name)), labels[i].cls);
        }
        /* near misses are unknown; a class name is itself a label */
        static const char *const unknown[] = {"unknown", "Normal", "neptune.", "smurf ", "nept", "DOS"};
        for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
                sf_row_error_t err;
                size_t n = with_field(line, sizeof(line), LABEL, unknown[i]);
                CHECK_MSG(decode(line, n, &err) == -1 && err.reason == SF_ROW_UNKNOWN_LABEL &&
                                  err.col == LABEL,
                          "\"%s\": reason %s, column %d", unknown[i], sf_row_reason_str(err.reason), err.col);
        }
        CHECK_INT(sf_schema_class(nsl, "Probe", 5), PROBE);
}

/* Every row of the four shipped files decodes with a label, and the files
 * hold exactly the 40 names of the table above. */
static void test_shipped_files(void) {
        static const char *files[] = {"KDDTrain+.txt.gz", "KDDTrain+_20Percent.txt.gz", "KDDTest+.txt.gz",
                                      "KDDTest-21.txt.gz"};
        static const size_t expect_rows[] = {125973, 25192, 22544, 11850};
        char names[64][32];
        int nnames = 0;
        size_t per_class[5] = {0};
        for (size_t f = 0; f < 4; f++) {
                char path[1024], err[512];
                snprintf(path, sizeof(path), "%s/data/nsl-kdd/%s", rootdir, files[f]);
                sf_csv_reader_t *r = sf_csv_open(path, NCOLS, err, sizeof(err));
                CHECK_MSG(r != NULL, "%s", err);
                if (!r) continue;
                size_t rows = 0;
                for (;;) {
                        const char *text;
                        size_t len;
                        uint64_t lineno;
                        sf_csv_read_status_t st = sf_csv_next_text(r, &text, &len, &lineno, err, sizeof(err));
                        if (st == SF_CSV_READ_EOF) break;
                        sf_row_error_t rerr;
                        if (st != SF_CSV_READ_OK || decode(text, len, &rerr) || row.label < 0) {
                                CHECK_MSG(0, "%s:%llu: %s", files[f], (unsigned long long)lineno,
                                          st ? err : rerr.msg);
                                break;
                        }
                        rows++;
                        if (f == 2) per_class[row.label]++;
                        const sf_value_t *v = &row.v[LABEL];
                        int seen = 0;
                        for (int k = 0; k < nnames && !seen; k++) seen = str_is(v, names[k]);
                        if (!seen && nnames < 64)
                                snprintf(names[nnames++], sizeof(names[0]), "%.*s", (int)v->len, v->str);
                }
                sf_csv_close(r);
                CHECK_INT(rows, expect_rows[f]);
        }
        CHECK_INT(nnames, 40);
        /* KDDTest+ per class, counted from the label column with awk and
         * summed by hand over the table (U2R: buffer_overflow 20, loadmodule 2,
         * perl 2, ps 15, rootkit 13, sqlattack 2, xterm 13 = 67). The often
         * quoted 7458 / 2754 / 200 come from putting worm (2 rows) in R2L and
         * httptunnel (133) in U2R instead. */
        CHECK_INT(per_class[NORMAL], 9711);
        CHECK_INT(per_class[DOS], 7460);
        CHECK_INT(per_class[PROBE], 2421);
        CHECK_INT(per_class[R2L], 2885);
        CHECK_INT(per_class[U2R], 67);
}

static void test_good_rows(void) {
        sf_row_error_t err;
        char line[1024];
        CHECK_MSG(decode(good43, strlen(good43), &err) == 0, "%s", err.msg);
        CHECK(str_is(&row.v[1], "tcp") && str_is(&row.v[2], "ftp_data") && str_is(&row.v[3], "SF"));
        CHECK_INT(row.label, NORMAL);
        CHECK(row.v[42].kind == SF_VAL_MISSING); /* difficulty: ignored */
        CHECK(row.v[0].kind == SF_VAL_NUMBER && row.v[0].num == 0);
        CHECK(row.v[4].num == 491);             /* src_bytes */
        CHECK(row.v[22].num == 2);              /* count */
        CHECK(row.v[28].num == 1.0f);           /* same_srv_rate */
        CHECK(row.v[31].num == 150);            /* dst_host_count */
        CHECK(row.v[33].num == 0.17f);          /* dst_host_same_srv_rate */
        CHECK(row.v[39].num == 0.05f);          /* dst_host_rerror_rate */
        CHECK(row.v[40].kind == SF_VAL_NUMBER); /* dst_host_srv_rerror_rate */

        /* 42 fields (no difficulty), 41 (no label: a row to score) */
        snprintf(line, sizeof(line), "%s", good43);
        *strrchr(line, ',') = '\0';
        CHECK_MSG(decode(line, strlen(line), &err) == 0 && row.label == NORMAL, "%s", err.msg);
        *strrchr(line, ',') = '\0';
        CHECK_MSG(decode(line, strlen(line), &err) == 0 && row.label == -1, "%s", err.msg);
        CHECK(row.v[LABEL].kind == SF_VAL_MISSING);
        /* the decoder must not read past len: "normal" inside "normalx" */
        snprintf(line, sizeof(line), "%s", good43);
        *strrchr(line, ',') = '\0';
        size_t n = strlen(line);
        snprintf(line + n, sizeof(line) - n, "x");
        CHECK_MSG(decode(line, n, &err) == 0 && row.label == NORMAL, "%s", err.msg);

        /* numbers in every accepted spelling, quoted or not */
        static const struct {
                const char *text;
                float value;
        } nums[] = {{"7", 7},         {"-3", -3},
                    {"+2.5", 2.5f},   {"1e3", 1000},
                    {".5", 0.5f},     {"4294967295", 4294967295.0f},
                    {"0.000", 0},     {"123456789", 123456789},
                    {"\"491\"", 491}, {"3.4e38", 3.4e38f}};
        for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
                n = with_field(line, sizeof(line), 4, nums[i].text);
                int rc = decode(line, n, &err);
                CHECK_MSG(rc == 0 && row.v[4].kind == SF_VAL_NUMBER && row.v[4].num == nums[i].value,
                          "\"%s\": rc %d (%s) -> %g", nums[i].text, rc, err.msg, (double)row.v[4].num);
        }
        /* an empty field is a missing value, in a numeric and a categorical column */
        n = with_fields(line, sizeof(line), 4, "", 2, "");
        CHECK_MSG(decode(line, n, &err) == 0, "%s", err.msg);
        CHECK(row.v[4].kind == SF_VAL_MISSING && row.v[2].kind == SF_VAL_MISSING);
}

/* Plain decimals skip strtod: every value must still be the float that
 * (float)strtod gives, across digit counts and scales. */
static void test_numbers_match_strtod(void) {
        sf_row_error_t err;
        char line[1024], num[64];
        uint64_t state = 0x9e3779b97f4a7c15ull;
        int mismatches = 0;
        for (int i = 0; i < 200000; i++) {
                state = state * 6364136223846793005ull + 1442695040888963407ull;
                int digits = 1 + (int)((state >> 33) % 17); /* 1..17: past the 15-digit limit too */
                int frac = (int)((state >> 40) % (unsigned)(digits + 1));
                uint64_t r = state ^ (state >> 29);
                char d[32];
                for (int k = 0; k < digits; k++, r = r * 2862933555777941757ull + 3037000493ull)
                        d[k] = (char)('0' + (r >> 60) % 10);
                if (frac == 0 || frac == digits)
                        snprintf(num, sizeof(num), "%.*s", digits, d);
                else
                        snprintf(num, sizeof(num), "%.*s.%.*s", digits - frac, d, frac, d + digits - frac);
                size_t n = with_field(line, sizeof(line), 4, num);
                float want = (float)strtod(num, NULL);
                if ((decode(line, n, &err) != 0 || row.v[4].num != want) && mismatches++ < 5)
                        CHECK_MSG(0, "\"%s\" -> %.9g, strtod %.9g", num, (double)row.v[4].num, (double)want);
        }
        CHECK_INT(mismatches, 0);
        /* every rate of two decimals, 0.00 to 1.00, and past it */
        for (int m = 0; m <= 300; m++) {
                snprintf(num, sizeof(num), "%d.%02d", m / 100, m % 100);
                size_t n = with_field(line, sizeof(line), 4, num);
                if (decode(line, n, &err) != 0 || row.v[4].num != (float)strtod(num, NULL))
                        CHECK_MSG(0, "\"%s\" -> %.9g", num, (double)row.v[4].num);
        }
        static const char *const edge[] = {"5.",
                                           ".5",
                                           "0.1",
                                           "0.30",
                                           "999999999999999",
                                           "9999999999999999",
                                           "1.000000000000001",
                                           "123456.789012345",
                                           "0",
                                           "00.00"};
        for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
                size_t n = with_field(line, sizeof(line), 4, edge[i]);
                int rc = decode(line, n, &err);
                CHECK_MSG(rc == 0 && row.v[4].num == (float)strtod(edge[i], NULL),
                          "\"%s\": rc %d (%s) -> %.9g", edge[i], rc, err.msg, (double)row.v[4].num);
        }
}

/* The one-pass decode and the split + field by field decode agree on every
 * row of KDDTest+ and on 300,000 damaged copies: the same verdict, the same
 * reason, column and message, the same values. */
static void test_fast_matches_full(void) {
        char err[512], path[1024];
        char *out = malloc(65536), *scratch = malloc(65536);
        sf_row_t full = {0};
        sf_csv_field_t fields[NCOLS];
        snprintf(path, sizeof(path), "%s/data/nsl-kdd/KDDTest+.txt.gz", rootdir);
        sf_lines_t *lr = sf_lines_open(path, 0, err, sizeof(err));
        CHECK_MSG(lr != NULL, "%s", err);
        if (!lr || !out || !scratch || sf_row_init(&full, nsl)) goto out;
        uint64_t state = 42;
        int rows = 0, accepted = 0, rejected = 0, differ = 0;
        const char *line;
        size_t len;
        uint64_t lineno;
        while (sf_lines_next(lr, &line, &len, &lineno, err, sizeof(err)) == SF_LINES_OK) {
                rows++;
                for (int m = 0; m < (rows <= 3000 ? 100 : 0) + 1; m++) {
                        size_t n = m == 0 ? len : fuzz_mutate(&state, line, len, out, 65536);
                        const char *text = m == 0 ? line : out;
                        sf_row_error_t e1, e2 = {0};
                        int r1 = decode(text, n, &e1);
                        int nf, bad = -1;
                        const char *why = "";
                        sf_csv_status_t st = sf_csv_split(text, n, fields, NCOLS, &nf, scratch, &bad, &why);
                        int r2 = -1;
                        if (st == SF_CSV_OK)
                                r2 = sf_row_from_csv(nsl, fields, nf, &full, &e2);
                        else if (bad < NCOLS)
                                e2.col = bad, snprintf(e2.msg, sizeof(e2.msg), "%s", why);
                        else /* bad quoting past the last column: too many fields */
                                e2.col = NCOLS, snprintf(e2.msg, sizeof(e2.msg), "%s", e1.msg);
                        int same = r1 == r2 && (r1 == 0 || (e1.col == e2.col && !strcmp(e1.msg, e2.msg) &&
                                                            (st != SF_CSV_OK || e1.reason == e2.reason)));
                        for (int c = 0; same && r1 == 0 && c < NCOLS; c++) {
                                const sf_value_t *a = &row.v[c], *b = &full.v[c];
                                same = a->kind == b->kind && (a->kind != SF_VAL_NUMBER || a->num == b->num) &&
                                       (a->kind != SF_VAL_STRING ||
                                        (a->len == b->len && !memcmp(a->str, b->str, a->len)));
                        }
                        same = same && (r1 != 0 || row.label == full.label);
                        if (!same && differ++ < 5)
                                CHECK_MSG(0, "\"%.*s\": %d \"%s\", split first %d \"%s\"",
                                          (int)(n > 200 ? 200 : n), text, r1, e1.msg, r2, e2.msg);
                        if (r1 == 0)
                                accepted++;
                        else
                                rejected++;
                }
        }
        CHECK_INT(differ, 0);
        CHECK_MSG(rows == 22544 && accepted > 50000 && rejected > 100000, "%d rows, %d accepted, %d rejected",
                  rows, accepted, rejected);
out:
        sf_lines_close(lr);
        sf_row_free(&full);
        free(out);
        free(scratch);
}

static void test_bad_rows(void) {
        static const struct {
                int field; /* field to replace, -1: text is the whole record */
                const char *text;
                sf_row_reason_t reason;
                int col;
                const char *msg; /* the whole message */
        } cases[] = {
                {4, "abc", SF_ROW_NOT_A_NUMBER, 4, "not a number: \"abc\""},
                {0, "1.5x", SF_ROW_NOT_A_NUMBER, 0, "not a number: \"1.5x\""},
                {0, "12abc", SF_ROW_NOT_A_NUMBER, 0, "not a number: \"12abc\""},
                {5, "nan", SF_ROW_NOT_A_NUMBER, 5, "not a number: \"nan\""},
                {5, "-nan", SF_ROW_NOT_A_NUMBER, 5, "not a number: \"-nan\""},
                {5, "inf", SF_ROW_NOT_A_NUMBER, 5, "not a number: \"inf\""},
                {5, "0x10", SF_ROW_NOT_A_NUMBER, 5, "not a number: \"0x10\""},
                {5, " 1", SF_ROW_NOT_A_NUMBER, 5, "not a number: \" 1\""},
                {5, "1 ", SF_ROW_NOT_A_NUMBER, 5, "not a number: \"1 \""},
                {5, "1-", SF_ROW_NOT_A_NUMBER, 5, "not a number: \"1-\""},
                {5, "-", SF_ROW_NOT_A_NUMBER, 5, "not a number: \"-\""},
                {5, ".", SF_ROW_NOT_A_NUMBER, 5, "not a number: \".\""},
                {5, "1..2", SF_ROW_NOT_A_NUMBER, 5, "not a number: \"1..2\""},
                {5, "1.2.3", SF_ROW_NOT_A_NUMBER, 5, "not a number: \"1.2.3\""},
                {5, "\"\"", SF_ROW_NOT_A_NUMBER, 5,
                 "an empty string \"\" is not a number (leave the field empty for a missing value)"},
                {5, "1e39", SF_ROW_NON_FINITE, 5, "number out of range (not finite as a float): \"1e39\""},
                {5, "1e999", SF_ROW_NON_FINITE, 5, "number out of range (not finite as a float): \"1e999\""},
                {5, "-3.5e38", SF_ROW_NON_FINITE, 5,
                 "number out of range (not finite as a float): \"-3.5e38\""},
                {LABEL, "notanattack", SF_ROW_UNKNOWN_LABEL, LABEL,
                 "unknown label \"notanattack\" (not a class, not in the schema's map)"},
                {-1, "1,2,3", SF_ROW_FIELD_COUNT, 3,
                 "3 fields, expected 41 to 43 (the label and ignored columns at the end may be left off)"},
                {-1, "0,tcp,http,SF,1,2", SF_ROW_FIELD_COUNT, 6,
                 "6 fields, expected 41 to 43 (the label and ignored columns at the end may be left off)"},
                {-1, "", SF_ROW_FIELD_COUNT, 1,
                 "1 field, expected 41 to 43 (the label and ignored columns at the end may be left off)"},
                /* RFC 4180: a quote only around a whole field, doubled inside it */
                {2, "\"ftp", SF_ROW_BAD_QUOTE, 2, ""},
                {2, "ft\"p", SF_ROW_BAD_QUOTE, 2, ""},
                {2, "\"ftp\"x", SF_ROW_BAD_QUOTE, 2, ""},
                {2, "\"ftp\"\"", SF_ROW_BAD_QUOTE, 2, ""},
        };
        char line[2048];
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t n = cases[i].field >= 0 ? with_field(line, sizeof(line), cases[i].field, cases[i].text)
                                               : (size_t)snprintf(line, sizeof(line), "%s", cases[i].text);
                sf_row_error_t err;
                int rc = decode(line, n, &err);
                CHECK_MSG(rc == -1 && err.reason == cases[i].reason && err.col == cases[i].col,
                          "case %zu (%s): rc %d, %s at column %d, expected %s at %d", i, cases[i].text, rc,
                          sf_row_reason_str(err.reason), err.col, sf_row_reason_str(cases[i].reason),
                          cases[i].col);
                if (cases[i].msg[0])
                        CHECK_MSG(strcmp(err.msg, cases[i].msg) == 0,
                                  "case %zu:\n#     got  %s\n#     want %s", i, err.msg, cases[i].msg);
                else
                        CHECK_MSG(err.msg[0] != '\0', "case %zu: no message", i);
        }
        /* 40 and 44 fields */
        sf_row_error_t err;
        snprintf(line, sizeof(line), "%s,7", good43);
        CHECK(decode(line, strlen(line), &err) == -1 && err.reason == SF_ROW_FIELD_COUNT && err.col == 43);
        CHECK_MSG(strncmp(err.msg, "44 fields, expected 41 to 43", 28) == 0, "%s", err.msg);
        snprintf(line, sizeof(line), "%s", good43);
        for (int k = 0; k < 3; k++) *strrchr(line, ',') = '\0';
        CHECK(decode(line, strlen(line), &err) == -1 && err.reason == SF_ROW_FIELD_COUNT && err.col == 40);
        /* too many fields, and bad quoting past the schema's last column: a
         * field count error at the column after the last, not a column that
         * is not there */
        snprintf(line, sizeof(line), "%s,7,\"x", good43);
        CHECK(decode(line, strlen(line), &err) == -1);
        CHECK_MSG(err.reason == SF_ROW_FIELD_COUNT && err.col == 43, "%s at column %d: %s",
                  sf_row_reason_str(err.reason), err.col, err.msg);
        CHECK_STR(err.msg,
                  "at least 45 fields, expected 41 to 43 (the label and ignored columns at the end may be "
                  "left off)");
        CHECK_STR(sf_row_reason_str(SF_ROW_BAD_QUOTE), "bad_quote");
        CHECK_STR(sf_row_reason_str(SF_ROW_TOO_LONG), "too_long");
        /* a NUL byte: in a categorical field, and in a number */
        size_t len = strlen(good43);
        memcpy(line, good43, len);
        line[10] = '\0'; /* the 'd' of ftp_data */
        CHECK(decode(line, len, &err) == -1 && err.reason == SF_ROW_BAD_UTF8 && err.col == 2);
        CHECK_STR(err.msg, "invalid UTF-8 (or a NUL byte) at byte 5 of the field");
        memcpy(line, good43, len);
        line[0] = '\0';
        CHECK(decode(line, len, &err) == -1 && err.reason == SF_ROW_NOT_A_NUMBER && err.col == 0);
}

/* RFC 4180 quoting on NSL-KDD rows: commas, doubled quotes and line breaks
 * inside quoted fields; and the 64 KiB limit of one field. */
static void test_quoting_and_field_limit(void) {
        static const struct {
                int field;
                const char *text, *value;
        } cases[] = {
                {2, "\"ftp,data\"", "ftp,data"},
                {2, "\"ftp\"\"data\"", "ftp\"data"},
                {2, "\"ftp\ndata\"", "ftp\ndata"},
                {2, "\"\"", ""},
                {1, "\"tcp\"", "tcp"},
                {LABEL, "\"neptune\"", "neptune"},
        };
        char line[2048];
        sf_row_error_t err;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t n = with_field(line, sizeof(line), cases[i].field, cases[i].text);
                int rc = decode(line, n, &err);
                CHECK_MSG(rc == 0 && str_is(&row.v[cases[i].field], cases[i].value),
                          "case %zu (%s): rc %d (%s)", i, cases[i].text, rc, err.msg);
        }
        CHECK_INT(row.label, DOS);
        /* a service of exactly 64 KiB is a value (unseen at encoding); one
         * byte more is too_long, quoted or not */
        size_t big = SF_CSV_MAX_FIELD + 1;
        char *value = malloc(big + 3), *rec = malloc(big + 2048);
        if (!value || !rec) {
                free(value), free(rec);
                SKIP("out of memory");
        }
        for (int quoted = 0; quoted < 2; quoted++) {
                for (size_t size = big - 1; size <= big; size++) {
                        size_t k = 0;
                        if (quoted) value[k++] = '"';
                        memset(value + k, 's', size);
                        k += size;
                        if (quoted) value[k++] = '"';
                        value[k] = '\0';
                        size_t n = with_field(rec, big + 2048, 2, value);
                        int rc = decode(rec, n, &err);
                        if (size < big) {
                                CHECK_MSG(rc == 0 && row.v[2].len == size, "quoted %d: %zu bytes: rc %d (%s)",
                                          quoted, size, rc, err.msg);
                        } else {
                                CHECK_MSG(rc == -1 && err.reason == SF_ROW_TOO_LONG && err.col == 2,
                                          "quoted %d: %zu bytes: rc %d, %s at column %d", quoted, size, rc,
                                          sf_row_reason_str(err.reason), err.col);
                                CHECK_STR(err.msg, "field longer than 65536 bytes");
                        }
                }
        }
        free(value);
        free(rec);
}

/* Each entry of the UTF-8 table as a label and as a service: an invalid
 * one is refused as bad_utf8 at its first bad byte; a valid one is a
 * string (a label, known or not; a service to encode). */
static void test_invalid_utf8(void) {
        char line[2048];
        for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
                const utf8_case_t *c = &utf8_cases[i];
                size_t len = strlen(c->text);
                if (len == 0) continue;
                for (int col = 2; col <= LABEL; col += LABEL - 2) {
                        size_t n = with_field(line, sizeof(line), col, c->text);
                        sf_row_error_t err;
                        int rc = decode(line, n, &err);
                        if (c->valid == len) {
                                CHECK_MSG(col == LABEL ? (rc == 0 ? row.label >= 0
                                                                  : err.reason == SF_ROW_UNKNOWN_LABEL)
                                                       : rc == 0 && str_is(&row.v[col], c->text),
                                          "%s in column %d: rc %d (%s)", c->name, col, rc, err.msg);
                                continue;
                        }
                        char want[96];
                        snprintf(want, sizeof(want), "invalid UTF-8 (or a NUL byte) at byte %zu of the field",
                                 c->valid + 1);
                        CHECK_MSG(rc == -1 && err.reason == SF_ROW_BAD_UTF8 && err.col == col &&
                                          strcmp(err.msg, want) == 0,
                                  "%s in column %d: rc %d, %s at %d: '%s', expected '%s'", c->name, col, rc,
                                  sf_row_reason_str(err.reason), err.col, err.msg, want);
                }
        }
}

/* A JSON record of the same row decodes to the same values as the CSV text. */
static void test_json_record(void) {
        sf_row_error_t err;
        sf_row_t csv = {0};
        json_t *o = json_object();
        char *text = NULL;
        if (!o || sf_row_init(&csv, nsl) || sf_row_from_csv_text(nsl, good43, strlen(good43), &csv, &err)) {
                CHECK(0);
                goto out;
        }
        for (int c = 0; c < NCOLS; c++) {
                const sf_value_t *v = &csv.v[c];
                json_object_set_new(o, nsl->cols[c].name,
                                    v->kind == SF_VAL_NUMBER   ? json_real(v->num)
                                    : v->kind == SF_VAL_STRING ? json_stringn(v->str, v->len)
                                                               : json_null());
        }
        text = json_dumps(o, JSON_COMPACT);
        CHECK_MSG(text && sf_row_from_json(nsl, text, strlen(text), &row, &err) == 0, "%s", err.msg);
        if (!text) goto out;
        CHECK_INT(row.label, NORMAL);
        for (int c = 0; c < NCOLS; c++) {
                const sf_value_t *a = &row.v[c], *b = &csv.v[c];
                CHECK_MSG(a->kind == b->kind && (a->kind != SF_VAL_NUMBER || a->num == b->num) &&
                                  (a->kind != SF_VAL_STRING ||
                                   (a->len == b->len && !memcmp(a->str, b->str, a->len))),
                          "column %d (%s) differs", c, nsl->cols[c].name);
        }
        /* a number as a string, and an absent feature */
        const char *bad = "{\"duration\":\"0\"}";
        CHECK(sf_row_from_json(nsl, bad, strlen(bad), &row, &err) == -1 && err.reason == SF_ROW_WRONG_TYPE &&
              err.col == 0);
        json_object_del(o, "flag");
        free(text);
        text = json_dumps(o, JSON_COMPACT);
        CHECK(text && sf_row_from_json(nsl, text, strlen(text), &row, &err) == -1 &&
              err.reason == SF_ROW_MISSING_FIELD && err.col == 3);
out:
        free(text);
        json_decref(o);
        sf_row_free(&csv);
}

/* An encoder of the NSL-KDD schema from its JSON form: mean 0 and std 1
 * but where mean or std say otherwise; one word per vocabulary. */
static sf_encoder_t *encoder_with(const float *mean, const float *std, char *err, size_t err_size) {
        static const char *const vocab[] = {"tcp", "ftp_data", "SF"};
        json_t *num = json_array(), *cat = json_array();
        for (int j = 0; j < nsl->n_numeric; j++)
                json_array_append_new(
                        num, json_pack("{s:s,s:f,s:f,s:b}", "column", nsl->cols[nsl->numeric_cols[j]].name,
                                       "mean", (double)mean[j], "std", (double)std[j], "missing_flag", 0));
        for (int k = 0; k < nsl->n_categorical; k++)
                json_array_append_new(cat, json_pack("{s:s,s:[s]}", "column",
                                                     nsl->cols[nsl->categorical_cols[k]].name, "vocabulary",
                                                     vocab[k]));
        json_t *root = json_pack("{s:i,s:o,s:o}", "inputs", nsl->n_numeric + nsl->n_categorical, "numeric",
                                 num, "categorical", cat);
        sf_encoder_t *enc = root ? sf_encoder_from_json(root, nsl, "test", err, err_size) : NULL;
        json_decref(root);
        return enc;
}

/* Numbers that parse as floats but overflow once scaled: the check names
 * the first column whose scaled value is not finite, dense or compact. */
static void test_check_scaled(void) {
        float mean[38], std[38];
        for (int j = 0; j < 38; j++) mean[j] = 0, std[j] = 1;
        mean[0] = -1e38f; /* duration: 3.4e38 - (-1e38) overflows */
        std[21] = 0.1f;   /* serror_rate (column 25): 3e38 / 0.1 overflows */
        std[37] = 0.5f;   /* dst_host_srv_rerror_rate (column 41) */
        char err[512];
        sf_encoder_t *e = encoder_with(mean, std, err, sizeof(err));
        CHECK_MSG(e != NULL, "%s", err);
        if (!e) return;
        static const struct {
                int field; /* 0-based */
                const char *value;
                int field2; /* a second value, -1: none */
                const char *value2;
                int col;          /* the column named, -1: finite */
                const char *says; /* the start of the message */
        } cases[] = {
                {4, "3.4e38", -1, NULL, -1, NULL},  /* FLT_MAX / 1 is finite */
                {4, "-3.4e38", -1, NULL, -1, NULL}, /* so is -FLT_MAX */
                {24, "3e37", -1, NULL, -1, NULL},   /* 3e38 after scaling: still finite */
                {24, "3e38", -1, NULL, 24, "column 25 (serror_rate): 3e+38 is out of range: "},
                {0, "3.4e38", -1, NULL, 0, "column 1 (duration): 3.4e+38 is out of range: "},
                {40, "-3.4e38", -1, NULL, 40,
                 "column 41 (dst_host_srv_rerror_rate): -3.4e+38 is out of range: "},
                {40, "-3.4e38", 24, "3e38", 24, "column 25 (serror_rate)"}, /* the first column is named */
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char line[2048];
                size_t n = with_fields(line, sizeof(line), cases[i].field, cases[i].value, cases[i].field2,
                                       cases[i].value2);
                sf_row_error_t rerr;
                CHECK_MSG(decode(line, n, &rerr) == 0, "case %zu: %s", i, rerr.msg);
                float compact[38], dense[41];
                int32_t hot[3];
                CHECK_INT(sf_encoder_encode_sparse(e, &row, compact, hot, NULL), 0);
                CHECK_INT(sf_encoder_encode(e, &row, dense, NULL), 0);
                for (int form = 0; form < 2; form++) {
                        int col = -1;
                        err[0] = '\0';
                        int rc = sf_encoder_check_scaled(e, nsl, &row, form ? dense : compact, &col, err,
                                                         sizeof(err));
                        if (cases[i].col < 0)
                                CHECK_MSG(rc == 0, "case %zu: %s", i, err);
                        else
                                CHECK_MSG(rc == -1 && col == cases[i].col &&
                                                  strncmp(err, cases[i].says, strlen(cases[i].says)) == 0 &&
                                                  strstr(err, "inf"),
                                          "case %zu: rc %d, column %d, '%s', expected '%s'", i, rc, col, err,
                                          cases[i].says);
                }
        }
        sf_encoder_destroy(e);
}

/* bad-inputs/overflow_to_inf.csv with the encoder fitted on KDDTrain+, as
 * train encodes it: rows 1 and 2 read but cannot be encoded (row 1 is
 * 3.4e38 everywhere: land, std 0.014, is the first column to overflow;
 * duration, std 2605, does not), row 3 can. */
static void test_overflow_file(void) {
        char path[1024], bad[1024], err[1024] = "";
        snprintf(path, sizeof(path), "%s/data/nsl-kdd/KDDTrain+.txt.gz", rootdir);
        snprintf(bad, sizeof(bad), "%s/tests/data/bad-inputs/overflow_to_inf.csv", rootdir);
        sf_table_t *train = sf_table_new(nsl), *t = sf_table_new(nsl);
        sf_encoder_t *enc = NULL;
        if (!train || !t || sf_table_read_csv(train, path, err, sizeof(err)) ||
            !(enc = sf_encoder_fit(train, err, sizeof(err))) || sf_table_read_csv(t, bad, err, sizeof(err))) {
                CHECK_MSG(0, "%s", err);
                goto out;
        }
        CHECK_INT(t->n_rows, 3);
        static const char *const says[] = {":1: column 7 (land): 3.4e+38 is out of range",
                                           ":2: column 25 (serror_rate): 3e+38 is out of range", NULL};
        for (size_t i = 0; i < 3 && i < t->n_rows; i++) {
                for (int compact = 0; compact < 2; compact++) {
                        sf_dataset_t ds;
                        err[0] = '\0';
                        int rc = sf_dataset_encode(&ds, enc, t, bad, &i, 1, compact, err, sizeof(err));
                        char want[1200] = "";
                        if (says[i]) snprintf(want, sizeof(want), "%s%s", bad, says[i]);
                        CHECK_MSG(says[i] ? rc == -1 && strncmp(err, want, strlen(want)) == 0 : rc == 0,
                                  "row %zu: rc %d '%s', expected '%s'", i + 1, rc, err, want);
                        if (rc == 0) sf_dataset_free(&ds);
                }
        }
out:
        sf_encoder_destroy(enc);
        sf_table_destroy(t);
        sf_table_destroy(train);
}

int main(void) {
        const char *root = getenv("SF_ROOT");
        char path[1024], err[512];
        snprintf(rootdir, sizeof(rootdir), "%s", root ? root : ".");
        snprintf(path, sizeof(path), "%s/data/nsl-kdd/schema.json", rootdir);
        if (!(nsl = sf_schema_load(path, err, sizeof(err))) || sf_row_init(&row, nsl)) {
                printf("not ok - load %s: %s\n", path, nsl ? "out of memory" : err);
                return 1;
        }
        RUN(test_label_map);
        RUN(test_shipped_files);
        RUN(test_good_rows);
        RUN(test_numbers_match_strtod);
        RUN(test_fast_matches_full);
        RUN(test_bad_rows);
        RUN(test_quoting_and_field_limit);
        RUN(test_invalid_utf8);
        RUN(test_json_record);
        RUN(test_check_scaled);
        RUN(test_overflow_file);
        sf_row_free(&row);
        sf_schema_destroy(nsl);
        return TEST_DONE();
}
