/* NSL-KDD reading, the label table, the encoder and the split, against the
 * shipped files and against malformed input. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/kdd.h"
#include "fuzz.h"
#include "test.h"
#include "utf8_cases.h"
#include "util/lines.h"
#include "util/utf8.h"

static char tmpdir[512];
static char datadir[512];

static const char *good43 = "0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,0.00,0.00,"
                            "1.00,0.00,0.00,150,25,"
                            "0.17,0.03,0.17,0.00,0.00,0.00,0.05,0.00,normal,20";

/* Writes text to tmpdir/name and returns the path (static buffer per call
 * site is not needed: callers copy). */
static const char *write_file(const char *name, const void *data, size_t len) {
        static char path[1024];
        snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        FILE *fp = fopen(path, "wb");
        if (!fp) return NULL;
        if (len && fwrite(data, 1, len, fp) != len) {
                fclose(fp);
                return NULL;
        }
        fclose(fp);
        return path;
}

static const char *write_text(const char *name, const char *text) {
        return write_file(name, text, strlen(text));
}

/* good43 with field i (0-based) replaced by value, and field2 (-1: none) by value2. */
static void with_fields(char *out, size_t size, int field, const char *value, int field2,
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
}

static void with_field(char *out, size_t size, int field, const char *value) {
        with_fields(out, size, field, value, -1, NULL);
}

static void test_class_and_field_names(void) {
        CHECK_STR(sf_kdd_class_name(0), "normal");
        CHECK_STR(sf_kdd_class_name(1), "DoS");
        CHECK_STR(sf_kdd_class_name(2), "Probe");
        CHECK_STR(sf_kdd_class_name(3), "R2L");
        CHECK_STR(sf_kdd_class_name(4), "U2R");
        CHECK(sf_kdd_class_name(5) == NULL);
        CHECK(sf_kdd_class_name(-1) == NULL);
        CHECK_STR(sf_kdd_field_name(0), "duration");
        CHECK_STR(sf_kdd_field_name(1), "protocol_type");
        CHECK_STR(sf_kdd_field_name(19), "num_outbound_cmds");
        CHECK_STR(sf_kdd_field_name(40), "dst_host_srv_rerror_rate");
        CHECK_STR(sf_kdd_field_name(41), "label");
        CHECK_STR(sf_kdd_field_name(42), "difficulty");
        CHECK(sf_kdd_field_name(43) == NULL);
}

static void test_label_table(void) {
        static const struct {
                const char *name;
                int cls;
        } cases[] = {
                {"normal", SF_CLASS_NORMAL},
                {"neptune", SF_CLASS_DOS},
                {"smurf", SF_CLASS_DOS},
                {"apache2", SF_CLASS_DOS},
                {"mailbomb", SF_CLASS_DOS},
                {"processtable", SF_CLASS_DOS},
                {"udpstorm", SF_CLASS_DOS},
                {"worm", SF_CLASS_DOS},
                {"back", SF_CLASS_DOS},
                {"land", SF_CLASS_DOS},
                {"pod", SF_CLASS_DOS},
                {"teardrop", SF_CLASS_DOS},
                {"ipsweep", SF_CLASS_PROBE},
                {"mscan", SF_CLASS_PROBE},
                {"nmap", SF_CLASS_PROBE},
                {"portsweep", SF_CLASS_PROBE},
                {"saint", SF_CLASS_PROBE},
                {"satan", SF_CLASS_PROBE},
                {"ftp_write", SF_CLASS_R2L},
                {"guess_passwd", SF_CLASS_R2L},
                {"httptunnel", SF_CLASS_R2L},
                {"imap", SF_CLASS_R2L},
                {"multihop", SF_CLASS_R2L},
                {"named", SF_CLASS_R2L},
                {"phf", SF_CLASS_R2L},
                {"sendmail", SF_CLASS_R2L},
                {"snmpgetattack", SF_CLASS_R2L},
                {"snmpguess", SF_CLASS_R2L},
                {"spy", SF_CLASS_R2L},
                {"warezclient", SF_CLASS_R2L},
                {"warezmaster", SF_CLASS_R2L},
                {"xlock", SF_CLASS_R2L},
                {"xsnoop", SF_CLASS_R2L},
                {"buffer_overflow", SF_CLASS_U2R},
                {"loadmodule", SF_CLASS_U2R},
                {"perl", SF_CLASS_U2R},
                {"ps", SF_CLASS_U2R},
                {"rootkit", SF_CLASS_U2R},
                {"sqlattack", SF_CLASS_U2R},
                {"xterm", SF_CLASS_U2R},
                {"unknown", -1},
                {"", -1},
                {"Normal", -1},
                {"neptune.", -1},
                {"smurf ", -1},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                CHECK_MSG(sf_kdd_label_class(cases[i].name) == cases[i].cls,
                          "label \"%s\" -> %d, expected %d", cases[i].name, sf_kdd_label_class(cases[i].name),
                          cases[i].cls);
        CHECK(sf_kdd_label_class(NULL) == -1);
}

/* Every row of the four shipped files parses, every label maps, and the
 * files hold exactly the 40 attack names + normal of the table. */
static void test_shipped_files_all_map(void) {
        static const char *files[] = {"KDDTrain+.txt", "KDDTrain+_20Percent.txt", "KDDTest+.txt",
                                      "KDDTest-21.txt"};
        static const size_t expect_rows[] = {125973, 25192, 22544, 11850};
        char names[64][32];
        int nnames = 0;
        size_t per_class[SF_KDD_NCLASSES] = {0};
        for (size_t f = 0; f < 4; f++) {
                char path[1024], err[512];
                if (sf_kdd_find_file(datadir, files[f], path, sizeof(path), err, sizeof(err))) {
                        CHECK_MSG(0, "%s", err);
                        continue;
                }
                sf_kdd_rows_t rows = {0};
                int rc = sf_kdd_read_file(path, &rows, err, sizeof(err));
                CHECK_MSG(rc == 0, "%s", err);
                CHECK_INT(rows.n, expect_rows[f]);
                for (size_t i = 0; i < rows.n; i++) {
                        const sf_kdd_row_t *r = &rows.rows[i];
                        if (r->label < 0 || r->difficulty < 0) {
                                CHECK_MSG(0, "%s row %zu: label %d difficulty %d", files[f], i + 1, r->label,
                                          r->difficulty);
                                break;
                        }
                        if (f == 2) per_class[r->label]++;
                        int seen = 0;
                        for (int k = 0; k < nnames && !seen; k++) seen = strcmp(names[k], r->label_name) == 0;
                        if (!seen && nnames < 64)
                                snprintf(names[nnames++], sizeof(names[0]), "%s", r->label_name);
                }
                sf_kdd_rows_free(&rows);
        }
        CHECK_INT(nnames, 40); /* 39 attack names + normal */
        /* KDDTest+ per class, counted from the label column with awk and
         * summed by hand over the table (U2R: buffer_overflow 20, loadmodule 2,
         * perl 2, ps 15, rootkit 13, sqlattack 2, xterm 13 = 67). The often
         * quoted 7458 / 2754 / 200 come from putting worm (2 rows) in R2L and
         * httptunnel (133) in U2R instead. */
        CHECK_INT(per_class[SF_CLASS_NORMAL], 9711);
        CHECK_INT(per_class[SF_CLASS_DOS], 7460);
        CHECK_INT(per_class[SF_CLASS_PROBE], 2421);
        CHECK_INT(per_class[SF_CLASS_R2L], 2885);
        CHECK_INT(per_class[SF_CLASS_U2R], 67);
}

static void test_parse_good_rows(void) {
        sf_kdd_row_t row;
        char err[256], line[1024];
        CHECK_MSG(sf_kdd_parse_line(good43, strlen(good43), &row, err, sizeof(err)) == 0, "%s", err);
        CHECK_STR(row.proto, "tcp");
        CHECK_STR(row.service, "ftp_data");
        CHECK_STR(row.flag, "SF");
        CHECK_STR(row.label_name, "normal");
        CHECK_INT(row.label, SF_CLASS_NORMAL);
        CHECK_INT(row.difficulty, 20);
        CHECK_NEAR(row.num[0], 0, 0);        /* duration */
        CHECK_NEAR(row.num[1], 491, 0);      /* src_bytes */
        CHECK_NEAR(row.num[19], 2, 0);       /* count (field 23) */
        CHECK_NEAR(row.num[25], 1.0, 1e-7);  /* same_srv_rate (field 29) */
        CHECK_NEAR(row.num[28], 150, 0);     /* dst_host_count (field 32) */
        CHECK_NEAR(row.num[30], 0.17, 1e-6); /* dst_host_same_srv_rate */
        CHECK_NEAR(row.num[36], 0.05, 1e-6); /* dst_host_rerror_rate */
        CHECK_NEAR(row.num[37], 0.0, 0);     /* dst_host_srv_rerror_rate */

        /* CRLF, 42 fields (no difficulty), 41 fields (no label) */
        static const char *const ends[] = {"\r", "\n", "\r\n"};
        for (int e = 0; e < 3; e++) {
                snprintf(line, sizeof(line), "%s%s", good43, ends[e]);
                CHECK(sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err)) == 0);
                CHECK_INT(row.difficulty, 20);
        }
        snprintf(line, sizeof(line), "%s\n\n", good43); /* only one line end */
        CHECK(sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err)) == -1);
        snprintf(line, sizeof(line), "%s\r", good43);
        char *comma = strrchr(line, ',');
        *comma = '\0';
        CHECK_MSG(sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err)) == 0, "%s", err);
        CHECK_INT(row.label, SF_CLASS_NORMAL);
        CHECK_INT(row.difficulty, -1);
        *strrchr(line, ',') = '\0';
        CHECK_MSG(sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err)) == 0, "%s", err);
        CHECK_INT(row.label, -1);
        CHECK_STR(row.label_name, "");
        CHECK_INT(row.difficulty, -1);

        /* numbers in every accepted spelling */
        static const struct {
                const char *text;
                float value;
        } nums[] = {{"7", 7},       {"-3", -3},
                    {"+2.5", 2.5f}, {"1e3", 1000},
                    {".5", 0.5f},   {"4294967295", 4294967295.0f},
                    {"0.000", 0},   {"123456789", 123456789}};
        for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
                with_field(line, sizeof(line), 4, nums[i].text);
                int rc = sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err));
                CHECK_MSG(rc == 0, "\"%s\": %s", nums[i].text, err);
                CHECK_MSG(rc != 0 || row.num[1] == nums[i].value, "\"%s\" -> %g", nums[i].text,
                          (double)row.num[1]);
        }
        /* the parser must not read past len: a line inside a longer buffer */
        snprintf(line, sizeof(line), "%s999", good43);
        CHECK(sf_kdd_parse_line(line, strlen(good43), &row, err, sizeof(err)) == 0);
        CHECK_INT(row.difficulty, 20);
}

/* Plain decimals skip strtod (Clinger's fast path): every value must still be
 * the float that (float)strtod gives, across digit counts and scales, and the
 * spellings the fast path leaves to strtod must keep their old meaning. */
static void test_parse_numbers_match_strtod(void) {
        sf_kdd_row_t row;
        char err[256], line[1024], num[64];
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
                with_field(line, sizeof(line), 4, num);
                float want = (float)strtod(num, NULL);
                if (sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err)) != 0 ||
                    row.num[1] != want) {
                        if (mismatches++ < 5)
                                CHECK_MSG(0, "\"%s\" -> %.9g, strtod %.9g", num, (double)row.num[1],
                                          (double)want);
                }
        }
        CHECK_INT(mismatches, 0);
        /* every rate of two decimals, 0.00 to 1.00, and past it (a table
         * serves the first 101) */
        for (int m = 0; m <= 300; m++) {
                snprintf(num, sizeof(num), "%d.%02d", m / 100, m % 100);
                with_field(line, sizeof(line), 4, num);
                float want = (float)strtod(num, NULL);
                if (sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err)) != 0 || row.num[1] != want)
                        CHECK_MSG(0, "\"%s\" -> %.9g, strtod %.9g", num, (double)row.num[1], (double)want);
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
                with_field(line, sizeof(line), 4, edge[i]);
                int rc = sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err));
                CHECK_MSG(rc == 0, "\"%s\": %s", edge[i], err);
                CHECK_MSG(rc != 0 || row.num[1] == (float)strtod(edge[i], NULL), "\"%s\" -> %.9g", edge[i],
                          (double)row.num[1]);
        }
        static const char *const bad[] = {".", "1..2", "1.2.3", "..5"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                with_field(line, sizeof(line), 4, bad[i]);
                CHECK_MSG(sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err)) == -1,
                          "\"%s\" accepted", bad[i]);
        }
}

/* The one-pass fast path must give what the full parser gives, on every
 * row of a shipped file and on 300,000 damaged copies: the same verdict,
 * the same message, the same row. */
static void test_parse_fast_matches_full(void) {
        char err[256], err_full[256], path[1024], *out = malloc(65536);
        snprintf(path, sizeof(path), "%s/KDDTest+.txt", datadir);
        sf_lines_t *lr = sf_lines_open(path, 0, err, sizeof(err));
        if (!lr) {
                snprintf(path, sizeof(path), "%s/KDDTest+.txt.gz", datadir);
                lr = sf_lines_open(path, 0, err, sizeof(err));
        }
        CHECK_MSG(lr != NULL, "%s", err);
        if (!lr || !out) {
                free(out);
                return;
        }
        uint64_t state = 42;
        int fast = 0, rows = 0, accepted = 0, rejected = 0, differ = 0;
        const char *line;
        size_t len;
        uint64_t lineno;
        while (sf_lines_next(lr, &line, &len, &lineno, err, sizeof(err)) == SF_LINES_OK) {
                rows++;
                sf_kdd_row_t a, b;
                if (sf_kdd_parse_features_fast(line, len, &a) >= 0) fast++;
                for (int m = 0; m < (rows <= 3000 ? 100 : 0) + 1; m++) {
                        size_t n = m == 0 ? len : fuzz_mutate(&state, line, len, out, 65536);
                        const char *text = m == 0 ? line : out;
                        memset(&a, 0x55, sizeof(a));
                        memset(&b, 0x55, sizeof(b));
                        err[0] = err_full[0] = '\0';
                        int ra = sf_kdd_parse_line(text, n, &a, err, sizeof(err));
                        int rb = sf_kdd_parse_line_full(text, n, &b, err_full, sizeof(err_full));
                        int same = ra == rb && strcmp(err, err_full) == 0;
                        if (same && ra == 0)
                                same = memcmp(a.num, b.num, sizeof(a.num)) == 0 &&
                                       !strcmp(a.proto, b.proto) && !strcmp(a.service, b.service) &&
                                       !strcmp(a.flag, b.flag) && a.label == b.label &&
                                       !strcmp(a.label_name, b.label_name) && a.difficulty == b.difficulty;
                        if (!same && differ++ < 5)
                                CHECK_MSG(0, "\"%.*s\": %d \"%s\", full parser %d \"%s\"",
                                          (int)(n > 200 ? 200 : n), text, ra, err, rb, err_full);
                        if (ra == 0)
                                accepted++;
                        else
                                rejected++;
                }
        }
        sf_lines_close(lr);
        free(out);
        CHECK_INT(differ, 0);
        CHECK_INT(fast, rows); /* every shipped row takes the fast path */
        CHECK_MSG(rows > 20000 && accepted > 50000 && rejected > 100000, "%d rows, %d accepted, %d rejected",
                  rows, accepted, rejected);
}

static void test_parse_bad_rows(void) {
        static const struct {
                int field; /* field to replace, -1: use text as the whole line */
                const char *text;
                const char *error; /* expected substring of the error */
        } cases[] = {
                {4, "abc", "field 5 (src_bytes): not a number: \"abc\""},
                {4, "", "field 5 (src_bytes): empty field"},
                {0, "1.5x", "field 1 (duration): not a number"},
                {0, "12abc", "field 1 (duration): not a number"},
                {5, "nan", "field 6 (dst_bytes): not a number"},
                {5, "-nan", "field 6 (dst_bytes)"},
                {5, "inf", "field 6 (dst_bytes): not a number"},
                {5, "1e999", "field 6 (dst_bytes): number out of range"},
                {5, "1e39", "field 6 (dst_bytes): number out of range"},
                {5, "0x10", "field 6 (dst_bytes): not a number"},
                {5, " 1", "field 6 (dst_bytes): not a number"},
                {5, "1 ", "field 6 (dst_bytes): not a number"},
                {5, "1-", "field 6 (dst_bytes): not a number"},
                {5, "-", "field 6 (dst_bytes): not a number"},
                {1, "", "field 2 (protocol_type): empty field"},
                {1, "t cp", "field 2 (protocol_type): unexpected character"},
                {2, "a_service_name_of_more_than_31_bytes", "field 3 (service): value too long"},
                {3, "S\xc3\xa9", "field 4 (flag): unexpected character"},
                {41, "notanattack", "field 42 (label): unknown label \"notanattack\""},
                {41, "", "field 42 (label): empty field"},
                {42, "22", "field 43 (difficulty): expected a whole number from 0 to 21"},
                {42, "1.5", "field 43 (difficulty): expected a whole number"},
                {42, "x", "field 43 (difficulty): not a number"},
                {-1, "", "empty line"},
                {-1, "\r", "empty line"},
                {-1, "1,2,3", "found 3"},
                {-1, "0,tcp,http,SF,1,2", "found 6"},
        };
        char line[2048], err[256];
        sf_kdd_row_t row;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                if (cases[i].field >= 0)
                        with_field(line, sizeof(line), cases[i].field, cases[i].text);
                else
                        snprintf(line, sizeof(line), "%s", cases[i].text);
                err[0] = '\0';
                int rc = sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err));
                CHECK_MSG(rc == -1, "case %zu (\"%s\") accepted", i, cases[i].text);
                CHECK_MSG(strstr(err, cases[i].error) != NULL, "case %zu: error \"%s\", expected \"%s\"", i,
                          err, cases[i].error);
        }
        /* 40 and 44 fields */
        snprintf(line, sizeof(line), "%s,7", good43);
        CHECK(sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err)) == -1);
        CHECK(strstr(err, "expected 41 fields (features), 42 (+ label) or 43 (+ difficulty), found 44") !=
              NULL);
        snprintf(line, sizeof(line), "%s", good43);
        for (int k = 0; k < 3; k++) *strrchr(line, ',') = '\0';
        CHECK(sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err)) == -1);
        CHECK(strstr(err, "found 40") != NULL);
        /* a NUL byte inside the line */
        size_t len = strlen(good43);
        memcpy(line, good43, len);
        line[10] = '\0';
        CHECK(sf_kdd_parse_line(line, len, &row, err, sizeof(err)) == -1);
        CHECK_MSG(strstr(err, "NUL byte at column 11") != NULL, "%s", err);
        /* a tiny errstr is still terminated and nothing overflows */
        char tiny[8];
        CHECK(sf_kdd_parse_line("x", 1, &row, tiny, sizeof(tiny)) == -1);
        CHECK(strlen(tiny) == 7);
}

/* The line reader: numbering, CRLF, empty lines, an over-long line, NUL
 * bytes, a last line without newline. */
/* The validator over the shared table, alone and at every offset of a
 * longer ASCII run (the 8-byte fast path must hand over at any byte). */
static void test_utf8_validator(void) {
        for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
                const utf8_case_t *c = &utf8_cases[i];
                size_t n = strlen(c->text);
                CHECK_MSG(sf_utf8_valid_len(c->text, n) == c->valid, "%s: %zu valid bytes, expected %zu",
                          c->name, sf_utf8_valid_len(c->text, n), c->valid);
                for (size_t pad = 1; pad <= 17; pad++) {
                        char buf[64];
                        memset(buf, 'a', pad);
                        memcpy(buf + pad, c->text, n);
                        size_t got = sf_utf8_valid_len(buf, pad + n);
                        size_t want = c->valid == n ? pad + n : pad + c->valid;
                        CHECK_MSG(got == want, "%s after %zu ascii bytes: %zu valid, expected %zu", c->name,
                                  pad, got, want);
                }
        }
        CHECK(sf_utf8_valid_len("", 0) == 0);
        CHECK(sf_utf8_valid_len("\0\t\x7f", 3) == 3); /* control bytes are UTF-8 */
        /* The length is respected: a valid sequence cut by len is truncated. */
        CHECK(sf_utf8_valid_len("\xc3\xa9", 1) == 0);
}

/* A label of each table entry: an invalid one is refused as not UTF-8,
 * naming its column; a valid one is not (it fails later, as a label). */
static void test_parse_invalid_utf8(void) {
        char line[2048], err[256];
        sf_kdd_row_t row;
        for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
                const utf8_case_t *c = &utf8_cases[i];
                with_field(line, sizeof(line), 41, c->text);
                size_t label_at = (size_t)(strrchr(line, ',') - line) - strlen(c->text);
                err[0] = '\0';
                int rc = sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err));
                if (c->valid == strlen(c->text)) {
                        CHECK_MSG(strstr(err, "UTF-8") == NULL, "%s: %s", c->name, err);
                        continue;
                }
                char want[64];
                snprintf(want, sizeof(want), "invalid UTF-8 at column %zu ", label_at + c->valid + 1);
                CHECK_MSG(rc == -1 && strstr(err, want) != NULL, "%s: rc %d, error '%s', expected '%s'",
                          c->name, rc, err, want);
        }
}

static void test_lines_reader(void) {
        char err[512];
        size_t big = 1024 * 1024;
        char *text = malloc(big + 256);
        if (!text) SKIP("out of memory");
        size_t n = 0;
        n += (size_t)sprintf(text + n, "first\r\n\n\r\nfourth\n");
        memset(text + n, 'x', big); /* line 5: 1 MB */
        n += big;
        text[n++] = '\n';
        n += (size_t)sprintf(text + n, "six\n");
        memcpy(text + n, "se\0en\n", 6); /* line 7: a NUL */
        n += 6;
        n += (size_t)sprintf(text + n, "eight");
        const char *path = write_file("lines.txt", text, n);
        free(text);
        CHECK(path != NULL);
        char saved[1024];
        snprintf(saved, sizeof(saved), "%s", path);
        sf_lines_t *lr = sf_lines_open(saved, 0, err, sizeof(err));
        CHECK_MSG(lr != NULL, "%s", err);
        if (!lr) return;
        CHECK_STR(sf_lines_path(lr), saved);
        const char *line;
        size_t len;
        uint64_t no;
        CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_OK);
        CHECK_STR(line, "first");
        CHECK_INT(len, 5);
        CHECK_INT(no, 1);
        CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_OK);
        CHECK_STR(line, "fourth");
        CHECK_INT(no, 4);
        CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_BAD);
        CHECK_INT(no, 5);
        CHECK_MSG(strstr(err, ":5: line too long (1048576 bytes, the limit is 65536)") != NULL, "%s", err);
        CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_OK);
        CHECK_STR(line, "six");
        CHECK_INT(no, 6);
        CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_BAD);
        CHECK_INT(no, 7);
        CHECK_MSG(strstr(err, ":7: NUL byte at column 3") != NULL, "%s", err);
        CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_OK);
        CHECK_STR(line, "eight");
        CHECK_INT(no, 8);
        CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_EOF);
        CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_EOF);
        sf_lines_close(lr);
        sf_lines_close(NULL);

        /* a line of exactly the limit is fine, one more byte is not */
        char buf[64];
        memset(buf, 'a', 10);
        buf[10] = '\n';
        memset(buf + 11, 'b', 11);
        buf[22] = '\n';
        path = write_file("limit.txt", buf, 23);
        lr = sf_lines_open(path, 10, err, sizeof(err));
        CHECK(lr != NULL);
        if (!lr) return;
        CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_OK);
        CHECK_INT(len, 10);
        CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_BAD);
        CHECK_INT(no, 2);
        CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_EOF);
        sf_lines_close(lr);
}

/* Many short lines across the reader's internal chunks, gzip and stdin. */
static void test_lines_gzip_and_stdin(void) {
        char err[512], path[1024];
        snprintf(path, sizeof(path), "%s/many.txt.gz", tmpdir);
        gzFile gz = gzopen(path, "wb");
        CHECK(gz != NULL);
        if (!gz) return;
        for (int i = 1; i <= 100000; i++) gzprintf(gz, "line %d\n", i);
        gzclose(gz);
        for (int pass = 0; pass < 2; pass++) {
                int saved_stdin = -1;
                if (pass == 1) { /* the same file as stdin */
                        saved_stdin = dup(0);
                        int fd = open(path, O_RDONLY);
                        CHECK(fd >= 0 && saved_stdin >= 0);
                        if (fd < 0 || saved_stdin < 0) return;
                        dup2(fd, 0);
                        close(fd);
                }
                sf_lines_t *lr = sf_lines_open(pass ? "-" : path, 0, err, sizeof(err));
                CHECK_MSG(lr != NULL, "%s", err);
                int ok = 1;
                uint64_t count = 0;
                if (lr) {
                        const char *line;
                        size_t len;
                        uint64_t no;
                        sf_lines_status_t st;
                        char want[32];
                        while ((st = sf_lines_next(lr, &line, &len, &no, err, sizeof(err))) == SF_LINES_OK) {
                                count++;
                                snprintf(want, sizeof(want), "line %llu", (unsigned long long)count);
                                if (no != count || strcmp(line, want) != 0) ok = 0;
                        }
                        CHECK_INT(st, SF_LINES_EOF);
                        if (pass == 1) CHECK_STR(sf_lines_path(lr), "-");
                        sf_lines_close(lr);
                }
                CHECK(ok);
                CHECK_INT(count, 100000);
                if (pass == 1) {
                        dup2(saved_stdin, 0);
                        close(saved_stdin);
                }
        }
}

/* A pipe that stays open: each line must come out as soon as it is written,
 * not when a buffer fills or the writer closes (replay - and predict - read
 * live streams). alarm() turns a hang into a failure. */
static void test_lines_live_pipe(void) {
        char err[512];
        int fds[2];
        CHECK(pipe(fds) == 0);
        int saved_stdin = dup(0);
        dup2(fds[0], 0);
        close(fds[0]);
        alarm(10);
        CHECK(write(fds[1], "0,tcp,http\r\n", 12) == 12);
        sf_lines_t *lr = sf_lines_open("-", 0, err, sizeof(err));
        CHECK_MSG(lr != NULL, "%s", err);
        if (lr) {
                const char *line;
                size_t len;
                uint64_t no;
                CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_OK);
                CHECK_STR(line, "0,tcp,http");
                CHECK(write(fds[1], "second\nthi", 10) == 10);
                CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_OK);
                CHECK_STR(line, "second");
                CHECK_INT(no, 2);
                CHECK(write(fds[1], "rd", 2) == 2);
                close(fds[1]);
                fds[1] = -1;
                CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_OK);
                CHECK_STR(line, "third");
                CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_EOF);
                sf_lines_close(lr);
        }
        alarm(0);
        if (fds[1] >= 0) close(fds[1]);
        dup2(saved_stdin, 0);
        close(saved_stdin);
}

/* Writes text as one gzip member to fp (appending, so members concatenate). */
static int gzip_member(const char *path, const char *mode, const char *text) {
        gzFile gz = gzopen(path, mode);
        if (!gz) return -1;
        int ok = gzputs(gz, text) >= 0;
        return gzclose(gz) == Z_OK && ok ? 0 : -1;
}

static void test_lines_gzip_members_and_corruption(void) {
        char err[512], path[1024];
        const char *line;
        size_t len;
        uint64_t no;
        /* two members, as `cat a.gz b.gz` gives: both are read */
        snprintf(path, sizeof(path), "%s/two.gz", tmpdir);
        CHECK(gzip_member(path, "wb", "a\nb\n") == 0);
        CHECK(gzip_member(path, "ab", "c\n") == 0);
        sf_lines_t *lr = sf_lines_open(path, 0, err, sizeof(err));
        CHECK(lr != NULL);
        if (!lr) return;
        int n = 0;
        while (sf_lines_next(lr, &line, &len, &no, err, sizeof(err)) == SF_LINES_OK) n++;
        CHECK_INT(n, 3);
        CHECK_STR(line, "c");
        sf_lines_close(lr);
        /* bytes after the gzip data that are not another member */
        FILE *fp = fopen(path, "ab");
        if (fp) {
                fputs("junk after the end\n", fp);
                fclose(fp);
        }
        lr = sf_lines_open(path, 0, err, sizeof(err));
        CHECK(lr != NULL);
        if (!lr) return;
        sf_lines_status_t st;
        n = 0;
        while ((st = sf_lines_next(lr, &line, &len, &no, err, sizeof(err))) == SF_LINES_OK) n++;
        CHECK_INT(n, 3);
        CHECK_INT(st, SF_LINES_ERROR);
        CHECK_MSG(strstr(err, "two.gz:4: read error: corrupt gzip data") != NULL, "%s", err);
        CHECK_INT(no, 4); /* the line of the error, as the message says */
        sf_lines_close(lr);
        /* a flipped byte inside the compressed data */
        snprintf(path, sizeof(path), "%s/flip.gz", tmpdir);
        char text[8192];
        size_t k = 0;
        for (int i = 0; i < 500; i++) k += (size_t)snprintf(text + k, sizeof(text) - k, "%d\n", i * 7919);
        CHECK(gzip_member(path, "wb", text) == 0);
        unsigned char raw[8192];
        fp = fopen(path, "rb");
        size_t size = fp ? fread(raw, 1, sizeof(raw), fp) : 0;
        if (fp) fclose(fp);
        CHECK(size > 40);
        raw[size / 2] ^= 0xff;
        lr = sf_lines_open(write_file("flip2.gz", raw, size), 0, err, sizeof(err));
        CHECK(lr != NULL);
        if (!lr) return;
        while ((st = sf_lines_next(lr, &line, &len, &no, err, sizeof(err))) == SF_LINES_OK) {
        }
        CHECK_INT(st, SF_LINES_ERROR);
        CHECK_MSG(strstr(err, "flip2.gz:") && strstr(err, "read error: corrupt gzip data"), "%s", err);
        sf_lines_close(lr);
        /* a one-byte file and an empty file */
        lr = sf_lines_open(write_text("one.txt", "x"), 0, err, sizeof(err));
        CHECK(lr && sf_lines_next(lr, &line, &len, &no, err, sizeof(err)) == SF_LINES_OK &&
              strcmp(line, "x") == 0);
        CHECK(lr && sf_lines_next(lr, &line, &len, &no, err, sizeof(err)) == SF_LINES_EOF);
        sf_lines_close(lr);
        lr = sf_lines_open(write_text("zero.txt", ""), 0, err, sizeof(err));
        CHECK(lr && sf_lines_next(lr, &line, &len, &no, err, sizeof(err)) == SF_LINES_EOF);
        sf_lines_close(lr);
}

/* *lineno is set for every status but EOF, read errors included: in the
 * middle of a line, and while skipping a line that is too long. */
static void test_lines_error_lineno(void) {
        static const struct {
                const char *text;
                size_t max_len;
                int ok_lines;    /* lines read before the error */
                uint64_t lineno; /* the error's line */
        } cases[] = {
                {"one\ntwo\nthree and more text to cut off\n", 0, 2, 3},
                {"one\n", 0, 0, 1},
                /* line 2 is too long: the error comes while skipping it */
                {"a\nThe quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs.\n",
                 8, 1, 2},
        };
        char err[512], path[1024];
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                snprintf(path, sizeof(path), "%s/cut%zu.gz", tmpdir, i);
                CHECK(gzip_member(path, "wb", cases[i].text) == 0);
                unsigned char raw[4096];
                FILE *fp = fopen(path, "rb");
                size_t size = fp ? fread(raw, 1, sizeof(raw), fp) : 0;
                if (fp) fclose(fp);
                CHECK(size > 20);
                if (size <= 20) continue;
                /* drop the trailer and the end of the data: the stream stops short */
                sf_lines_t *lr = sf_lines_open(write_file("cut.gz", raw, size - 12), cases[i].max_len, err,
                                               sizeof(err));
                CHECK(lr != NULL);
                if (!lr) continue;
                const char *line;
                size_t len;
                uint64_t no = 0;
                int ok = 0;
                sf_lines_status_t st;
                while ((st = sf_lines_next(lr, &line, &len, &no, err, sizeof(err))) == SF_LINES_OK) {
                        ok++;
                        no = 999; /* must be overwritten by the next call */
                }
                CHECK_MSG(st == SF_LINES_ERROR, "case %zu: status %d (%s)", i, (int)st, err);
                CHECK_INT(ok, cases[i].ok_lines);
                CHECK_MSG(no == cases[i].lineno, "case %zu: *lineno = %llu, expected %llu (%s)", i,
                          (unsigned long long)no, (unsigned long long)cases[i].lineno, err);
                char want[64];
                snprintf(want, sizeof(want), "cut.gz:%llu: read error", (unsigned long long)cases[i].lineno);
                CHECK_MSG(strstr(err, want) != NULL, "%s", err);
                sf_lines_close(lr);
        }
}

static void test_lines_errors(void) {
        char err[512], path[1024];
        /* missing file */
        snprintf(path, sizeof(path), "%s/does-not-exist.txt", tmpdir);
        err[0] = '\0';
        CHECK(sf_lines_open(path, 0, err, sizeof(err)) == NULL);
        CHECK_MSG(strstr(err, "does-not-exist.txt: No such file or directory") != NULL, "%s", err);
        /* a directory */
        CHECK(sf_lines_open(tmpdir, 0, err, sizeof(err)) == NULL);
        CHECK_MSG(strstr(err, "Is a directory") != NULL, "%s", err);
        /* unreadable (root reads everything, so only when not root) */
        if (geteuid() != 0) {
                const char *p = write_text("noread.txt", "x\n");
                chmod(p, 0);
                CHECK(sf_lines_open(p, 0, err, sizeof(err)) == NULL);
                CHECK_MSG(strstr(err, "Permission denied") != NULL, "%s", err);
        }
        /* a gzip file cut in half: a read error, not a silent short read */
        snprintf(path, sizeof(path), "%s/cut.gz", tmpdir);
        gzFile gz = gzopen(path, "wb");
        CHECK(gz != NULL);
        if (!gz) return;
        for (int i = 0; i < 20000; i++) gzprintf(gz, "%d,%d,%d\n", i, i * 7, i * 13);
        gzclose(gz);
        struct stat st;
        CHECK(stat(path, &st) == 0);
        CHECK(truncate(path, st.st_size / 2) == 0);
        sf_lines_t *lr = sf_lines_open(path, 0, err, sizeof(err));
        CHECK(lr != NULL);
        if (!lr) return;
        const char *line;
        size_t len;
        uint64_t no;
        sf_lines_status_t s;
        int lines = 0;
        while ((s = sf_lines_next(lr, &line, &len, &no, err, sizeof(err))) == SF_LINES_OK) lines++;
        CHECK_INT(s, SF_LINES_ERROR);
        CHECK(lines > 0 && lines < 20000);
        CHECK_MSG(strstr(err, "cut.gz:") != NULL && strstr(err, "read error") != NULL, "%s", err);
        sf_lines_close(lr);
}

static void test_read_file_errors(void) {
        char err[1024], text[4096];
        sf_kdd_rows_t rows = {0};
        /* empty lines and CRLF are fine */
        snprintf(text, sizeof(text), "\n%s\r\n\r\n%s\n\n", good43, good43);
        const char *p = write_text("ok.txt", text);
        CHECK_MSG(sf_kdd_read_file(p, &rows, err, sizeof(err)) == 0, "%s", err);
        CHECK_INT(rows.n, 2);
        /* appends */
        CHECK(sf_kdd_read_file(p, &rows, err, sizeof(err)) == 0);
        CHECK_INT(rows.n, 4);
        sf_kdd_rows_free(&rows);
        CHECK(rows.rows == NULL && rows.n == 0);

        static const struct {
                const char *name, *line3, *error;
        } cases[] = {
                {"fields.txt", "0,tcp,http,SF,1",
                 "fields.txt:3: expected 41 fields (features), 42 (+ label) or 43 "
                 "(+ difficulty), found 5"},
                {"nonnum.txt",
                 "0,tcp,http,SF,12x,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0,0,0,0,1,0,0,150,25,0.17,0.03,"
                 "0.17,0,0,0,0.05,0,normal,20",
                 "nonnum.txt:3: field 5 (src_bytes): not a number: \"12x\""},
                {"label.txt",
                 "0,tcp,http,SF,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0,0,0,0,1,0,0,150,25,0.17,0.03,"
                 "0.17,0,0,0,0.05,0,zeroday,20",
                 "label.txt:3: field 42 (label): unknown label \"zeroday\""},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                snprintf(text, sizeof(text), "%s\n%s\n%s\n%s\n", good43, good43, cases[i].line3, good43);
                p = write_text(cases[i].name, text);
                CHECK(sf_kdd_read_file(p, &rows, err, sizeof(err)) == -1);
                CHECK_MSG(strstr(err, cases[i].error) != NULL, "error \"%s\", expected \"%s\"", err,
                          cases[i].error);
                CHECK_INT(rows.n, 0); /* a failed read appends nothing */
        }
        /* a line of 1 MB */
        size_t big = 1 << 20;
        char *blob = malloc(big + 2 * strlen(good43) + 4);
        if (!blob) SKIP("out of memory");
        size_t n = (size_t)sprintf(blob, "%s\n", good43);
        memset(blob + n, '7', big);
        n += big;
        n += (size_t)sprintf(blob + n, "\n%s\n", good43);
        p = write_file("long.txt", blob, n);
        CHECK(sf_kdd_read_file(p, &rows, err, sizeof(err)) == -1);
        CHECK_MSG(strstr(err, "long.txt:2: line too long") != NULL, "%s", err);
        /* a binary file */
        for (size_t i = 0; i < 4096; i++) blob[i] = (char)((i * 2654435761u) >> 13);
        memcpy(blob,
               "\x7f"
               "ELF\x02\x01\x01\0",
               8); /* starts like an executable */
        p = write_file("binary.bin", blob, 4096);
        CHECK(sf_kdd_read_file(p, &rows, err, sizeof(err)) == -1);
        CHECK_MSG(strstr(err, "binary.bin:1: NUL byte at column 8") != NULL, "%s", err);
        free(blob);
        /* an empty file, and a missing one */
        p = write_text("empty.txt", "\n\n");
        CHECK(sf_kdd_read_file(p, &rows, err, sizeof(err)) == -1);
        CHECK_MSG(strstr(err, "empty.txt: no rows") != NULL, "%s", err);
        char missing[1024];
        snprintf(missing, sizeof(missing), "%s/missing.txt", tmpdir);
        CHECK(sf_kdd_read_file(missing, &rows, err, sizeof(err)) == -1);
        CHECK_MSG(strstr(err, "missing.txt: No such file or directory") != NULL, "%s", err);
        CHECK_INT(rows.n, 0);
        sf_kdd_rows_free(&rows);
}

static void test_find_file(void) {
        char path[1024], err[1024];
        CHECK_MSG(sf_kdd_find_file(datadir, "KDDTrain+.txt", path, sizeof(path), err, sizeof(err)) == 0, "%s",
                  err);
        CHECK(strstr(path, "KDDTrain+.txt.gz") != NULL);
        write_text("plain.txt", good43);
        CHECK(sf_kdd_find_file(tmpdir, "plain.txt", path, sizeof(path), err, sizeof(err)) == 0);
        CHECK(strstr(path, "/plain.txt") != NULL && !strstr(path, ".gz"));
        CHECK(sf_kdd_find_file(tmpdir, "nope.txt", path, sizeof(path), err, sizeof(err)) == -1);
        CHECK_MSG(strstr(err, "nope.txt: No such file") && strstr(err, "nope.txt.gz: No such file"), "%s",
                  err);
        char tiny[8];
        CHECK(sf_kdd_find_file(datadir, "KDDTrain+.txt", tiny, sizeof(tiny), err, sizeof(err)) == -1);
}

static sf_kdd_rows_t train_rows;
static sf_kdd_encoder_t *train_enc;

static int load_train(void) {
        if (train_enc) return 0;
        char path[1024], err[1024];
        if (sf_kdd_find_file(datadir, "KDDTrain+.txt", path, sizeof(path), err, sizeof(err)) ||
            sf_kdd_read_file(path, &train_rows, err, sizeof(err))) {
                printf("# %s\n", err);
                return -1;
        }
        train_enc = sf_kdd_encoder_fit(&train_rows, err, sizeof(err));
        if (!train_enc) printf("# %s\n", err);
        return train_enc ? 0 : -1;
}

static int is_sorted(char **v, int n) {
        for (int i = 1; i < n; i++)
                if (strcmp(v[i - 1], v[i]) >= 0) return 0;
        return 1;
}

static void test_encoder_on_train(void) {
        CHECK(load_train() == 0);
        if (!train_enc) return;
        const sf_kdd_encoder_t *e = train_enc;
        CHECK_INT(e->n_proto, 3);
        CHECK_INT(e->n_service, 70);
        CHECK_INT(e->n_flag, 11);
        CHECK_INT(e->n_inputs, 122);
        CHECK(is_sorted(e->proto, e->n_proto));
        CHECK(is_sorted(e->service, e->n_service));
        CHECK(is_sorted(e->flag, e->n_flag));
        CHECK_STR(e->proto[0], "icmp");
        CHECK_STR(e->proto[1], "tcp");
        CHECK_STR(e->proto[2], "udp");
        CHECK_STR(e->flag[0], "OTH");
        CHECK_STR(e->flag[10], "SH");
        CHECK_STR(e->service[0], "IRC");
        /* Every numeric column scales to mean 0 and std 1 over the training
         * rows, except num_outbound_cmds (always 0): std stored as 1, values 0. */
        size_t n = train_rows.n;
        float *x = malloc(n * 122 * sizeof(float));
        CHECK(x != NULL);
        if (!x) return;
        size_t unseen = sf_kdd_encode_rows(e, &train_rows, NULL, n, x);
        CHECK_INT(unseen, 0);
        for (int j = 0; j < SF_KDD_NNUMERIC; j++) {
                double s = 0, ss = 0;
                for (size_t i = 0; i < n; i++) s += x[i * 122 + j];
                double mean = s / (double)n;
                for (size_t i = 0; i < n; i++) ss += (x[i * 122 + j] - mean) * (x[i * 122 + j] - mean);
                double sd = sqrt(ss / (double)n);
                if (j == 16) { /* num_outbound_cmds, field 20 */
                        CHECK_NEAR(e->std[j], 1.0, 0);
                        CHECK_NEAR(e->mean[j], 0.0, 0);
                        CHECK_NEAR(sd, 0.0, 0);
                        CHECK_NEAR(mean, 0.0, 0);
                } else {
                        CHECK_MSG(fabs(mean) < 1e-3, "column %d (%s): mean %g", j,
                                  sf_kdd_field_name(j == 0 ? 0 : j + 3), mean);
                        CHECK_MSG(fabs(sd - 1) < 1e-3, "column %d (%s): std %g", j,
                                  sf_kdd_field_name(j == 0 ? 0 : j + 3), sd);
                }
        }
        /* exactly one hot value in each categorical block */
        int ok = 1;
        for (size_t i = 0; i < n && ok; i++) {
                const float *r = x + i * 122;
                double sp = 0, ssv = 0, sfl = 0;
                for (int k = 38; k < 41; k++) sp += r[k];
                for (int k = 41; k < 111; k++) ssv += r[k];
                for (int k = 111; k < 122; k++) sfl += r[k];
                if (sp != 1 || ssv != 1 || sfl != 1) ok = 0;
        }
        CHECK(ok);
        /* row 1 of KDDTrain+: tcp, ftp_data, SF */
        CHECK_STR(train_rows.rows[0].service, "ftp_data");
        CHECK_NEAR(x[38 + 1], 1, 0); /* tcp */
        int svc = -1;
        for (int k = 0; k < e->n_service; k++)
                if (strcmp(e->service[k], "ftp_data") == 0) svc = k;
        CHECK(svc >= 0);
        CHECK_NEAR(x[41 + svc], 1, 0);
        CHECK_NEAR(x[0], (0 - e->mean[0]) / e->std[0], 1e-6);
        free(x);
}

static void test_encoder_unseen(void) {
        CHECK(load_train() == 0);
        if (!train_enc) return;
        const sf_kdd_encoder_t *e = train_enc;
        sf_kdd_row_t row;
        char err[256], line[1024];
        with_field(line, sizeof(line), 2, "zz_new_service");
        CHECK(sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err)) == 0);
        float x[122], num[38];
        for (int i = 0; i < 122; i++) x[i] = 42; /* every slot must be written */
        int mask = sf_kdd_encode(e, &row, x);
        CHECK_INT(mask, SF_KDD_UNSEEN_SERVICE);
        double svc = 0;
        for (int k = 41; k < 111; k++) svc += x[k];
        CHECK_NEAR(svc, 0, 0);
        CHECK_NEAR(x[38 + 1], 1, 0); /* tcp still set */
        double flag = 0;
        for (int k = 111; k < 122; k++) flag += x[k];
        CHECK_NEAR(flag, 1, 0);
        int32_t hot[3];
        CHECK_INT(sf_kdd_encode_sparse(e, &row, num, hot), SF_KDD_UNSEEN_SERVICE);
        CHECK_INT(hot[0], 39);
        CHECK_INT(hot[1], -1);
        CHECK(hot[2] >= 111 && hot[2] < 122 && x[hot[2]] == 1);
        for (int j = 0; j < 38; j++) CHECK(num[j] == x[j]);

        with_field(line, sizeof(line), 1, "sctp");
        CHECK(sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err)) == 0);
        snprintf(row.flag, sizeof(row.flag), "XX");
        CHECK_INT(sf_kdd_encode(e, &row, x), SF_KDD_UNSEEN_PROTO | SF_KDD_UNSEEN_FLAG);
        double all = 0;
        for (int k = 38; k < 122; k++) all += x[k];
        CHECK_NEAR(all, 1, 0); /* only ftp_data */

        /* encode_rows counts rows with unseen values, honours idx */
        sf_kdd_rows_t rows = {0};
        sf_kdd_row_t three[3];
        CHECK(sf_kdd_parse_line(good43, strlen(good43), &three[0], err, sizeof(err)) == 0);
        three[1] = row;
        three[2] = three[0];
        rows.rows = three;
        rows.n = rows.cap = 3;
        float xs[3 * 122];
        CHECK_INT(sf_kdd_encode_rows(e, &rows, NULL, 3, xs), 1);
        size_t idx[2] = {1, 1};
        CHECK_INT(sf_kdd_encode_rows(e, &rows, idx, 2, xs), 2);
        CHECK_NEAR(xs[122 + 38 + 1], 0, 0);

        /* Every value of every vocabulary finds its own slot through the
         * hash index; near misses (a prefix, one byte more, another case)
         * are unseen. */
        char *const *vocab[3] = {e->proto, e->service, e->flag};
        int count[3] = {e->n_proto, e->n_service, e->n_flag}, base = 38, wrong = 0;
        for (int g = 0; g < 3; g++) {
                for (int i = 0; i < count[g]; i++) {
                        char *dst = g == 0 ? row.proto : g == 1 ? row.service : row.flag;
                        size_t size = g == 0   ? sizeof(row.proto)
                                      : g == 1 ? sizeof(row.service)
                                               : sizeof(row.flag);
                        CHECK(sf_kdd_parse_line(good43, strlen(good43), &row, err, sizeof(err)) == 0);
                        snprintf(dst, size, "%s", vocab[g][i]);
                        sf_kdd_encode_sparse(e, &row, num, hot);
                        wrong += hot[g] != base + i;
                        snprintf(dst, size, "%sx", vocab[g][i]);
                        wrong += sf_kdd_encode_sparse(e, &row, num, hot) != (1 << g);
                        snprintf(dst, size, "%.*s", (int)strlen(vocab[g][i]) - 1, vocab[g][i]);
                        wrong += dst[0] && sf_kdd_encode_sparse(e, &row, num, hot) != (1 << g);
                        snprintf(dst, size, "%s", vocab[g][i]);
                        dst[0] ^= 0x20; /* the other case */
                        wrong += sf_kdd_encode_sparse(e, &row, num, hot) != (1 << g);
                }
                base += count[g];
        }
        CHECK_INT(wrong, 0);
}

static void test_encoder_new(void) {
        CHECK(load_train() == 0);
        if (!train_enc) return;
        const sf_kdd_encoder_t *e = train_enc;
        char err[256];
        sf_kdd_encoder_t *copy = sf_kdd_encoder_new(
                e->n_proto, (const char *const *)e->proto, e->n_service, (const char *const *)e->service,
                e->n_flag, (const char *const *)e->flag, e->mean, e->std, err, sizeof(err));
        CHECK_MSG(copy != NULL, "%s", err);
        if (!copy) return;
        CHECK_INT(copy->n_inputs, 122);
        float a[122], b[122];
        int same = 1;
        for (size_t i = 0; i < train_rows.n; i += 97) {
                sf_kdd_encode(e, &train_rows.rows[i], a);
                sf_kdd_encode(copy, &train_rows.rows[i], b);
                if (memcmp(a, b, sizeof(a)) != 0) same = 0;
        }
        CHECK(same);
        sf_kdd_encoder_destroy(copy);
        sf_kdd_encoder_destroy(NULL);

        const char *unsorted[] = {"tcp", "icmp", "udp"};
        const char *dup[] = {"icmp", "icmp"};
        const char *ok[] = {"icmp", "tcp", "udp"};
        float std[38];
        memcpy(std, e->std, sizeof(std));
        CHECK(sf_kdd_encoder_new(3, unsorted, 1, ok, 1, ok, e->mean, std, err, sizeof(err)) == NULL);
        CHECK_MSG(strstr(err, "protocol_type vocabulary") && strstr(err, "not sorted"), "%s", err);
        CHECK(sf_kdd_encoder_new(3, ok, 2, dup, 1, ok, e->mean, std, err, sizeof(err)) == NULL);
        CHECK_MSG(strstr(err, "service vocabulary"), "%s", err);
        CHECK(sf_kdd_encoder_new(3, ok, 1, ok, 0, ok, e->mean, std, err, sizeof(err)) == NULL);
        CHECK_MSG(strstr(err, "flag vocabulary: 0 entries"), "%s", err);
        std[4] = 0;
        CHECK(sf_kdd_encoder_new(3, ok, 1, ok, 1, ok, e->mean, std, err, sizeof(err)) == NULL);
        CHECK_MSG(strstr(err, "deviation of wrong_fragment is 0"), "%s", err);
        std[4] = NAN;
        CHECK(sf_kdd_encoder_new(3, ok, 1, ok, 1, ok, e->mean, std, err, sizeof(err)) == NULL);
        std[4] = 1;
        sf_kdd_encoder_t *small = sf_kdd_encoder_new(3, ok, 1, ok, 1, ok, e->mean, std, err, sizeof(err));
        CHECK(small != NULL && small->n_inputs == 43);
        sf_kdd_encoder_destroy(small);
}

static void test_encoder_fit_small(void) {
        /* two rows: means and population deviations by hand */
        char err[256], line[1024];
        sf_kdd_row_t r[2];
        with_field(line, sizeof(line), 4, "10");
        CHECK(sf_kdd_parse_line(line, strlen(line), &r[0], err, sizeof(err)) == 0);
        with_field(line, sizeof(line), 4, "30");
        CHECK(sf_kdd_parse_line(line, strlen(line), &r[1], err, sizeof(err)) == 0);
        snprintf(r[1].proto, sizeof(r[1].proto), "udp");
        snprintf(r[1].service, sizeof(r[1].service), "domain_u");
        sf_kdd_rows_t rows = {r, 2, 2, NULL};
        sf_kdd_encoder_t *e = sf_kdd_encoder_fit(&rows, err, sizeof(err));
        CHECK(e != NULL);
        if (!e) return;
        CHECK_INT(e->n_proto, 2);
        CHECK_INT(e->n_service, 2);
        CHECK_INT(e->n_flag, 1);
        CHECK_INT(e->n_inputs, 43);
        CHECK_STR(e->service[0], "domain_u"); /* sorted, not in order seen */
        CHECK_STR(e->service[1], "ftp_data");
        CHECK_NEAR(e->mean[1], 20, 0);   /* src_bytes: (10 + 30) / 2 */
        CHECK_NEAR(e->std[1], 10, 1e-6); /* sqrt(((10-20)^2 + (30-20)^2) / 2), ddof=0 */
        CHECK_NEAR(e->std[0], 1, 0);     /* duration 0 twice: divides by 1 */
        float x[43];
        sf_kdd_encode(e, &r[1], x);
        CHECK_NEAR(x[1], 1.0, 1e-6); /* (30 - 20) / 10 */
        CHECK_NEAR(x[38 + 1], 1, 0); /* udp */
        CHECK_NEAR(x[40 + 0], 1, 0); /* domain_u */
        sf_kdd_encoder_destroy(e);
        sf_kdd_rows_t none = {0};
        CHECK(sf_kdd_encoder_fit(&none, err, sizeof(err)) == NULL);
        CHECK(strstr(err, "no training rows") != NULL);
}

/* Numbers that parse as floats but overflow once scaled: each table row
 * puts a value in a numeric field of good43, encodes it (sparse and dense)
 * with an encoder of known means and deviations, and expects the check to
 * name the first column whose scaled value is not finite. */
static void test_check_scaled(void) {
        const char *proto[] = {"tcp"}, *service[] = {"ftp_data"}, *flag[] = {"SF"};
        float mean[SF_KDD_NNUMERIC], std[SF_KDD_NNUMERIC];
        for (int j = 0; j < SF_KDD_NNUMERIC; j++) mean[j] = 0, std[j] = 1;
        mean[0] = -1e38f; /* duration: 3.4e38 - (-1e38) overflows */
        std[21] = 0.1f;   /* serror_rate (field 25): 3e38 / 0.1 overflows */
        std[37] = 0.5f;   /* dst_host_srv_rerror_rate (field 41) */
        char err[256];
        sf_kdd_encoder_t *e = sf_kdd_encoder_new(1, proto, 1, service, 1, flag, mean, std, err, sizeof(err));
        CHECK_MSG(e != NULL, "%s", err);
        if (!e) return;
        struct {
                int field; /* 0-based */
                const char *value;
                int field2; /* a second value, -1: none */
                const char *value2;
                const char *says; /* NULL: finite */
        } cases[] = {
                {4, "3.4e38", -1, NULL, NULL},  /* FLT_MAX / 1 is finite */
                {4, "-3.4e38", -1, NULL, NULL}, /* so is -FLT_MAX */
                {24, "3e37", -1, NULL, NULL},   /* 3e38 after scaling: still finite */
                {24, "3e38", -1, NULL, "field 25 (serror_rate): 3e+38 "},
                {0, "3.4e38", -1, NULL, "field 1 (duration): 3.4e+38 "},
                {40, "-3.4e38", -1, NULL, "field 41 (dst_host_srv_rerror_rate): -3.4e+38 "},
                {40, "-3.4e38", 24, "3e38", "field 25 (serror_rate)"}, /* the first column is named */
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char line[2048];
                with_fields(line, sizeof(line), cases[i].field, cases[i].value, cases[i].field2,
                            cases[i].value2);
                sf_kdd_row_t row;
                CHECK_MSG(sf_kdd_parse_line(line, strlen(line), &row, err, sizeof(err)) == 0, "case %zu: %s",
                          i, err);
                float num[SF_KDD_NNUMERIC], dense[64];
                int32_t hot[3];
                sf_kdd_encode_sparse(e, &row, num, hot);
                sf_kdd_encode(e, &row, dense);
                for (int form = 0; form < 2; form++) {
                        err[0] = '\0';
                        int rc = sf_kdd_check_scaled(&row, form ? dense : num, err, sizeof(err));
                        if (!cases[i].says)
                                CHECK_MSG(rc == 0, "case %zu: %s", i, err);
                        else
                                CHECK_MSG(rc == -1 && strstr(err, cases[i].says) && strstr(err, "inf"),
                                          "case %zu: rc %d, '%s', expected '%s'", i, rc, err, cases[i].says);
                }
        }
        sf_kdd_encoder_destroy(e);
}

/* The overflow rows of bad-inputs/overflow_to_inf.csv with the encoder
 * fitted on KDDTrain+: rows 1 and 2 parse but must not be scored, row 3
 * is ordinary. */
static void test_check_scaled_bad_input_file(void) {
        CHECK(load_train() == 0);
        if (!train_enc) return;
        char path[1024], err[256];
        const char *root = getenv("SF_ROOT");
        snprintf(path, sizeof(path), "%s/tests/data/bad-inputs/overflow_to_inf.csv", root ? root : ".");
        sf_kdd_rows_t rows = {0};
        CHECK_MSG(sf_kdd_read_file(path, &rows, err, sizeof(err)) == 0, "%s", err);
        CHECK_INT(rows.n, 3);
        for (size_t i = 0; i < rows.n; i++) {
                float num[SF_KDD_NNUMERIC];
                int32_t hot[3];
                sf_kdd_encode_sparse(train_enc, &rows.rows[i], num, hot);
                int rc = sf_kdd_check_scaled(&rows.rows[i], num, err, sizeof(err));
                CHECK_MSG(rc == (i < 2 ? -1 : 0), "row %zu: rc %d (%s)", i + 1, rc, err);
                if (i == 1) CHECK_MSG(strstr(err, "field 25 (serror_rate)") != NULL, "%s", err);
                CHECK_INT(rows.line[i], i + 1);
        }
        sf_kdd_rows_free(&rows);
}

static void test_split(void) {
        enum { N = 22544 };
        size_t *a = malloc(N * sizeof(size_t)), *b = malloc(N * sizeof(size_t)),
               *c = malloc(N * sizeof(size_t));
        unsigned char *seen = calloc(N, 1);
        CHECK(a && b && c && seen);
        if (!a || !b || !c || !seen) goto out;
        sf_kdd_split(N, 42, a);
        sf_kdd_split(N, 42, b);
        sf_kdd_split(N, 43, c);
        CHECK(memcmp(a, b, N * sizeof(size_t)) == 0);
        CHECK(memcmp(a, c, N * sizeof(size_t)) != 0);
        int perm = 1, moved = 0;
        for (size_t i = 0; i < N; i++) {
                if (a[i] >= N || seen[a[i]])
                        perm = 0;
                else
                        seen[a[i]] = 1;
                if (a[i] != i) moved++;
        }
        CHECK(perm);
        CHECK(moved > N / 2);
        /* the validation half is not just the first rows of the file */
        size_t low = 0;
        for (size_t i = 0; i < N / 2; i++) low += a[i] < N / 2;
        CHECK(low > N / 4 - 300 && low < N / 4 + 300);
        /* tiny sizes */
        size_t one[1] = {7};
        sf_kdd_split(1, 1, one);
        CHECK_INT(one[0], 0);
        sf_kdd_split(0, 1, one);
out:
        free(a);
        free(b);
        free(c);
        free(seen);
}

int main(void) {
        const char *root = getenv("SF_ROOT");
        const char *tmp = getenv("SF_TMP");
        snprintf(datadir, sizeof(datadir), "%s/data/nsl-kdd", root ? root : ".");
        if (tmp) {
                snprintf(tmpdir, sizeof(tmpdir), "%s", tmp);
        } else {
                snprintf(tmpdir, sizeof(tmpdir), "/tmp/sf-test-data.XXXXXX");
                if (!mkdtemp(tmpdir)) return 1;
        }
        RUN(test_class_and_field_names);
        RUN(test_label_table);
        RUN(test_shipped_files_all_map);
        RUN(test_parse_good_rows);
        RUN(test_parse_numbers_match_strtod);
        RUN(test_parse_fast_matches_full);
        RUN(test_parse_bad_rows);
        RUN(test_utf8_validator);
        RUN(test_parse_invalid_utf8);
        RUN(test_lines_reader);
        RUN(test_lines_gzip_and_stdin);
        RUN(test_lines_live_pipe);
        RUN(test_lines_gzip_members_and_corruption);
        RUN(test_lines_error_lineno);
        RUN(test_lines_errors);
        RUN(test_read_file_errors);
        RUN(test_find_file);
        RUN(test_encoder_on_train);
        RUN(test_encoder_unseen);
        RUN(test_encoder_new);
        RUN(test_encoder_fit_small);
        RUN(test_check_scaled);
        RUN(test_check_scaled_bad_input_file);
        RUN(test_split);
        sf_kdd_encoder_destroy(train_enc);
        sf_kdd_rows_free(&train_rows);
        return TEST_DONE();
}
