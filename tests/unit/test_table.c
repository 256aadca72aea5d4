/* src/table/: schemas, the CSV tokenizer and reader, typed rows from CSV
 * and JSON, the encoder (NSL-KDD's 122-input layout against numbers computed
 * apart from it), splits, and the shipped data sets read with their
 * schemas. NSL-KDD's rows themselves are in test_row.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "model/dataset.h"
#include "table/csv.h"
#include "table/encoder.h"
#include "table/row.h"
#include "table/schema.h"
#include "table/split.h"
#include "table/table.h"
#include "test.h"
#include "tmpfile.h"

static char rootdir[512];

/* ---- the tokenizer ---- */

/* Expected fields, '|'-separated; a field written {q}text was quoted, {m}
 * is an unquoted empty field (missing). */
static void check_fields(const char *in, const sf_csv_field_t *f, int nf, const char *want) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", want);
        int i = 0;
        char *save = NULL;
        for (char *tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save), i++) {
                int quoted = strncmp(tok, "{q}", 3) == 0, missing = strcmp(tok, "{m}") == 0;
                const char *text = quoted ? tok + 3 : missing ? "" : tok;
                CHECK_MSG(i < nf, "%s: only %d fields", in, nf);
                if (i >= nf) return;
                CHECK_MSG(f[i].len == strlen(text) && memcmp(f[i].s, text, f[i].len) == 0,
                          "%s: field %d is \"%.*s\", expected \"%s\"", in, i, (int)f[i].len, f[i].s, text);
                CHECK_MSG(f[i].quoted == quoted, "%s: field %d quoted=%d", in, i, f[i].quoted);
        }
        CHECK_MSG(i == nf, "%s: %d fields, expected %d", in, nf, i);
}

static void test_csv_split(void) {
        static const struct {
                const char *in, *want;
        } cases[] = {
                {"a,b,c", "a|b|c"},
                {"\"a,b\",c", "{q}a,b|c"},
                {"\"say \"\"hi\"\"\",x", "{q}say \"hi\"|x"},
                {"\"a\"\"\"", "{q}a\""},
                {"\"line1\nline2\",z", "{q}line1\nline2|z"},
                {"\"line1\r\nline2\",z", "{q}line1\r\nline2|z"},
                {"a,,c", "a|{m}|c"},
                {"a,b,", "a|b|{m}"},     /* a trailing comma is one more, empty, field */
                {"a,\"\",c", "a|{q}|c"}, /* "" is an empty string, not missing */
                {",", "{m}|{m}"},
                {"\"\"", "{q}"},
                {"\"\",x,\"y\"", "{q}|x|{q}y"},
                {"\"1.5\",2", "{q}1.5|2"},
                {"\"a\",", "{q}a|{m}"},
                {"caf\xc3\xa9,\"na\xc3\xafve\"", "caf\xc3\xa9|{q}na\xc3\xafve"},
        };
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                const char *in = cases[c].in;
                sf_csv_field_t f[8];
                char scratch[64];
                int nf = -1, bad = -1;
                const char *why = NULL;
                sf_csv_status_t st = sf_csv_split(in, strlen(in), f, 8, &nf, scratch, &bad, &why);
                CHECK_MSG(st == SF_CSV_OK, "%s: status %d (%s)", in, st, why ? why : "");
                if (st == SF_CSV_OK) check_fields(in, f, nf, cases[c].want);
        }
        /* More fields than room: all counted, the first max stored. */
        sf_csv_field_t f[2];
        int nf, bad;
        const char *why;
        char scratch[16];
        CHECK(sf_csv_split("a,b,c,d", 7, f, 2, &nf, scratch, &bad, &why) == SF_CSV_OK);
        CHECK_INT(nf, 4);
        CHECK(sf_csv_split("\"a\",b,\"c\"", 9, f, 2, &nf, scratch, &bad, &why) == SF_CSV_OK);
        CHECK_INT(nf, 3);
}

static void test_csv_malformed(void) {
        static const struct {
                const char *in;
                sf_csv_status_t st;
                int field;
                const char *why;
        } cases[] = {
                {"\"abc", SF_CSV_OPEN_QUOTE, 0, "unterminated quoted field"},
                {"a,\"b", SF_CSV_OPEN_QUOTE, 1, "unterminated quoted field"},
                {"a,\"b\"\"", SF_CSV_OPEN_QUOTE, 1, "unterminated quoted field"},
                {"ab\"c,d", SF_CSV_BAD, 0, "quote inside an unquoted field"},
                {"a, \"b\"", SF_CSV_BAD, 1, "quote inside an unquoted field"},
                {"a,b\"", SF_CSV_BAD, 1, "quote inside an unquoted field"},
                {"a,\"b\"c,d", SF_CSV_BAD, 1, "text after the closing quote"},
                {"\"a\" ,b", SF_CSV_BAD, 0, "text after the closing quote"},
                {"x,y,\"z\"\"q\"w", SF_CSV_BAD, 2, "text after the closing quote"},
        };
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                const char *in = cases[c].in;
                sf_csv_field_t f[8];
                char scratch[64];
                int nf = -1, bad = -1;
                const char *why = "";
                sf_csv_status_t st = sf_csv_split(in, strlen(in), f, 8, &nf, scratch, &bad, &why);
                CHECK_MSG(st == cases[c].st, "%s: status %d, expected %d", in, st, cases[c].st);
                CHECK_MSG(bad == cases[c].field, "%s: bad field %d, expected %d", in, bad, cases[c].field);
                CHECK_MSG(strncmp(why, cases[c].why, strlen(cases[c].why)) == 0, "%s: why \"%s\"", in, why);
        }
        /* A field over 64 KiB, plain and quoted. */
        size_t n = SF_CSV_MAX_FIELD + 10;
        char *big = malloc(n + 8), *scratch = malloc(n + 8);
        if (!big || !scratch) {
                CHECK(0);
                goto out;
        }
        big[0] = 'a', big[1] = ',';
        memset(big + 2, 'x', n - 2);
        sf_csv_field_t f[4];
        int nf, bad = -1;
        const char *why = "";
        CHECK(sf_csv_split(big, n, f, 4, &nf, scratch, &bad, &why) == SF_CSV_BAD);
        CHECK_INT(bad, 1);
        CHECK_STR(why, "field longer than 65536 bytes");
        big[2] = '"', big[n] = '"';
        bad = -1;
        CHECK(sf_csv_split(big, n + 1, f, 4, &nf, scratch, &bad, &why) == SF_CSV_BAD);
        CHECK_INT(bad, 1);
        /* exactly 65536 bytes is allowed */
        CHECK(sf_csv_split(big + 2 + (n - 2 - SF_CSV_MAX_FIELD), SF_CSV_MAX_FIELD, f, 4, &nf, scratch, &bad,
                           &why) == SF_CSV_OK);
out:
        free(big);
        free(scratch);
}

/* Records one after another in one text (a Kafka message of many rows):
 * where each ends and where the next starts, quoted line breaks kept in the
 * record, malformed quoting ending at its line's end. */
static void test_csv_record_end(void) {
        static const struct {
                const char *in;
                const char *recs[4]; /* the records, in order */
        } cases[] = {
                {"a,b\nc,d", {"a,b", "c,d"}},
                {"a,b\r\nc,d\r\n", {"a,b", "c,d"}},
                {"a,\"x\ny\",b\nc,d\n", {"a,\"x\ny\",b", "c,d"}},
                {"\"x\r\n\n\",1\r\n2,3", {"\"x\r\n\n\",1", "2,3"}},
                {"a,\"q\"\"\n\"\"\"\nz", {"a,\"q\"\"\n\"\"\"", "z"}},
                {"\"a\",\"b\"\n", {"\"a\",\"b\""}},
                {"1,\"b\"\r\n2,\"c\"\r\n", {"1,\"b\"", "2,\"c\""}},
                {"\n\na\n", {"", "", "a"}},
                {"a\"b,c\nd,e", {"a\"b,c", "d,e"}},                       /* quote in an unquoted field */
                {"\"a\nb\"x,1\nd", {"\"a\nb\"x,1", "d"}},                 /* text after a closing quote */
                {"1,\"open\n2,3\n4,5", {"1,\"open\n2,3\n4,5"}},           /* never closed: the rest */
                {"1,\"a,\"\"b\",\"c\"\n2", {"1,\"a,\"\"b\",\"c\"", "2"}}, /* "" and commas inside */
        };
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                const char *in = cases[c].in;
                size_t len = strlen(in), pos = 0;
                int k = 0;
                while (pos < len && k < 4) {
                        size_t rec_len = 0, used = sf_csv_record_end(in + pos, len - pos, &rec_len);
                        const char *want = cases[c].recs[k] ? cases[c].recs[k] : "(none)";
                        CHECK_MSG(used > 0 && used <= len - pos, "%zu: record %d takes %zu bytes", c, k,
                                  used);
                        CHECK_MSG(rec_len == strlen(want) && memcmp(in + pos, want, rec_len) == 0,
                                  "%zu: record %d is \"%.*s\", expected \"%s\"", c, k, (int)rec_len, in + pos,
                                  want);
                        if (used == 0) break;
                        pos += used;
                        k++;
                }
                CHECK_MSG(k < 4 && !cases[c].recs[k], "%zu: %d records, more expected", c, k);
        }
}

/* The RFC 4180 sample file, CRLF line ends, a record over four lines (one
 * of them empty), no newline at the end. */
static const char rfc_text[] = "\"id\",\"text\",\"n\"\r\n"
                               "1,\"plain\",2\r\n"
                               "\r\n"
                               "2,\"multi\r\nline\r\n\r\nend\",3\r\n"
                               "3,\"a,b\",\r\n"
                               "4,\"\",5";

static void read_rfc_file(const char *path) {
        static const struct {
                uint64_t line;
                const char *want;
        } want[] = {
                {1, "{q}id|{q}text|{q}n"}, {2, "1|{q}plain|2"}, {4, "2|{q}multi\nline\n\nend|3"},
                {8, "3|{q}a,b|{m}"},       {9, "4|{q}|5"},
        };
        char err[512] = "";
        sf_csv_reader_t *r = sf_csv_open(path, 3, err, sizeof(err));
        CHECK_MSG(r != NULL, "%s", err);
        if (!r) return;
        for (size_t i = 0; i <= sizeof(want) / sizeof(want[0]); i++) {
                const sf_csv_field_t *f;
                int nf;
                uint64_t line = 0;
                sf_csv_read_status_t st = sf_csv_next(r, &f, &nf, &line, err, sizeof(err));
                if (i == sizeof(want) / sizeof(want[0])) {
                        CHECK_INT(st, SF_CSV_READ_EOF);
                        break;
                }
                CHECK_MSG(st == SF_CSV_READ_OK, "record %zu: %d %s", i, st, err);
                if (st != SF_CSV_READ_OK) break;
                CHECK_INT(line, want[i].line);
                check_fields(want[i].want, f, nf, want[i].want);
        }
        sf_csv_close(r);
}

static void test_csv_reader(void) {
        read_rfc_file(write_text("rfc.csv", rfc_text));
        /* the same, gzip-compressed */
        char path[1024];
        snprintf(path, sizeof(path), "%s/rfc.csv.gz", tmpdir);
        gzFile gz = gzopen(path, "wb");
        CHECK(gz != NULL);
        if (!gz) return;
        CHECK(gzwrite(gz, rfc_text, sizeof(rfc_text) - 1) == (int)sizeof(rfc_text) - 1);
        gzclose(gz);
        read_rfc_file(path);
}

/* Reads path to the end; returns the errors, one per line, and the lines
 * of the good records ("line N read"). */
static void read_all(const char *path, const char *const *names, int n_names, char *out, size_t size) {
        char err[512];
        out[0] = '\0';
        sf_csv_reader_t *r = sf_csv_open(path, 4, err, sizeof(err));
        if (!r) {
                snprintf(out, size, "open: %s", err);
                return;
        }
        if (names) sf_csv_set_names(r, names, n_names);
        for (int guard = 0; guard < 100; guard++) {
                const sf_csv_field_t *f;
                int nf;
                uint64_t line;
                sf_csv_read_status_t st = sf_csv_next(r, &f, &nf, &line, err, sizeof(err));
                size_t at = strlen(out);
                if (st == SF_CSV_READ_EOF || st == SF_CSV_READ_ERROR) break;
                if (st == SF_CSV_READ_OK)
                        snprintf(out + at, size - at, "line %llu read\n", (unsigned long long)line);
                else
                        snprintf(out + at, size - at, "%s\n", err);
        }
        sf_csv_close(r);
}

static void test_csv_reader_errors(void) {
        static const char *const names[] = {"a", "b"};
        char got[2048], want[2048];
        const char *p = write_text("eof.csv", "a,b\n1,\"x\n2,3\n");
        read_all(p, names, 2, got, sizeof(got));
        snprintf(want, sizeof(want),
                 "line 1 read\n%s:2:2 (b): unterminated quoted field (the file ends inside it)\n", p);
        CHECK_STR(got, want);
        p = write_text("mid.csv", "a,b\nx\"y,1\n3,4\n\"q\"r,5\n6,\"7\"\"\n");
        read_all(p, NULL, 0, got, sizeof(got));
        snprintf(
                want, sizeof(want),
                "line 1 read\n"
                "%s:2:1: quote inside an unquoted field (quote the whole field and write the quote as \"\")\n"
                "line 3 read\n"
                "%s:4:1: text after the closing quote (a quote inside a quoted field is written \"\")\n"
                "%s:5:2: unterminated quoted field (the file ends inside it)\n",
                p, p, p);
        CHECK_STR(got, want);
        /* a bad record after a multi-line one: its own line number */
        p = write_text("after.csv", "\"a\nb\",1\n2,x\"\n");
        read_all(p, names, 2, got, sizeof(got));
        snprintf(want, sizeof(want),
                 "line 1 read\n%s:3:2 (b): quote inside an unquoted field (quote the whole field and write "
                 "the "
                 "quote as "
                 "\"\")\n",
                 p);
        CHECK_STR(got, want);
        /* a quoted field over the record limit: skipped to where its quote
         * closes, so the records after it are read, not taken for its inside */
        size_t big = 120 * 10000 + 64;
        char *text = malloc(big + 64);
        if (text) {
                size_t n = (size_t)sprintf(text, "1,\"");
                for (int i = 0; i < 120; i++) {
                        memset(text + n, 'x', 9999);
                        n += 9999;
                        text[n++] = i == 119 ? '"' : '\n';
                }
                n += (size_t)sprintf(text + n, ",2\n3,4\n5,6\n");
                text[n] = '\0';
                p = write_text("huge.csv", text);
                free(text);
                read_all(p, names, 2, got, sizeof(got));
                snprintf(
                        want, sizeof(want),
                        "%s:1: record longer than 1048576 bytes (lines 1 to 120, a quoted field across them; "
                        "an unterminated quote?); skipped\nline 121 read\nline 122 read\n",
                        p);
                CHECK_STR(got, want);
        }
        char err[256];
        snprintf(want, sizeof(want), "%s/none.csv", tmpdir);
        CHECK(sf_csv_open(want, 4, err, sizeof(err)) == NULL);
        CHECK_MSG(strstr(err, "none.csv: No such file") != NULL, "%s", err);
}

/* ---- schemas ---- */

static void test_schema_errors(void) {
        static const struct {
                const char *json, *msg;
        } cases[] = {
                {"{\"columns\":[{\"name\":\"a\",\"type\":\"numbr\"}]}",
                 "schema.json: columns[0].type: unknown type \"numbr\" (expected numeric, categorical, label "
                 "or "
                 "ignore)"},
                {"{\"columns\":[{\"name\":\"a\",\"type\":\"numeric\"}]}",
                 "schema.json: columns: no column has type \"label\" (exactly one must)"},
                {"{\"columns\":[{\"name\":\"a\",\"type\":\"label\",\"classes\":[\"x\",\"y\"]},{\"name\":"
                 "\"b\","
                 "\"type\":\"label\",\"classes\":[\"x\",\"y\"]}]}",
                 "schema.json: columns[1].type: a second label column (columns[0] is the label)"},
                {"{\"columns\":[{\"name\":\"a\",\"type\":\"numeric\"},{\"name\":\"a\",\"type\":\"label\","
                 "\"classes\":[\"x\",\"y\"]}]}",
                 "schema.json: columns[1].name: \"a\" is also the name of columns[0]"},
                {"{\"columns\":[{\"name\":\"l\",\"type\":\"label\",\"classes\":[\"normal\",\"DoS\"],\"map\":{"
                 "\"neptune\":\"Dos\"}}]}",
                 "schema.json: columns[0].map.neptune: unknown class \"Dos\" (not in classes); did you mean "
                 "\"DoS\"?"},
                {"{\"columns\":[{\"name\":\"l\",\"type\":\"label\",\"classes\":[\"a\",\"b\"],\"map\":{\"x\":"
                 "1}}]}",
                 "schema.json: columns[0].map.x: expected a class name (a string)"},
                {"{\"columns\":[{\"name\":\"l\",\"type\":\"label\",\"classes\":[\"a\",\"b\"],\"map\":[]}]}",
                 "schema.json: columns[0].map: expected an object {\"raw value\": \"class\", ...}"},
                {"[1]", "schema.json: expected a JSON object {\"columns\": [...]}"},
                {"{\"columns\":{\"a\":1}}", "schema.json: columns: expected a non-empty array of columns"},
                {"{\"columns\":[]}", "schema.json: columns: expected a non-empty array of columns"},
                {"{}", "schema.json: columns: missing"},
                {"{\"header\":\"yes\",\"columns\":[]}", "schema.json: header: expected true or false"},
                {"{\"name\":1,\"columns\":[]}", "schema.json: name: expected a string"},
                {"{\"colums\":[]}", "schema.json: colums: unknown key; did you mean \"columns\"?"},
                {"{\"columns\":[7]}",
                 "schema.json: columns[0]: expected an object {\"name\": ..., \"type\": ...}"},
                {"{\"columns\":[{\"name\":3,\"type\":\"numeric\"}]}",
                 "schema.json: columns[0].name: expected a non-empty string"},
                {"{\"columns\":[{\"name\":\"\",\"type\":\"numeric\"}]}",
                 "schema.json: columns[0].name: expected a non-empty string"},
                {"{\"columns\":[{\"type\":\"numeric\"}]}", "schema.json: columns[0].name: missing"},
                {"{\"columns\":[{\"name\":\"a\"}]}",
                 "schema.json: columns[0].type: missing (expected numeric, categorical, label or ignore)"},
                {"{\"columns\":[{\"name\":\"a\",\"type\":[\"numeric\"]}]}",
                 "schema.json: columns[0].type: expected a string (expected numeric, categorical, label or "
                 "ignore)"},
                {"{\"columns\":[{\"name\":\"l\",\"type\":\"label\",\"clases\":[\"a\",\"b\"]}]}",
                 "schema.json: columns[0].clases: unknown key; did you mean \"classes\"?"},
                {"{\"columns\":[{\"name\":\"l\",\"type\":\"label\"}]}",
                 "schema.json: columns[0].classes: missing (the label needs its class names)"},
                {"{\"columns\":[{\"name\":\"l\",\"type\":\"label\",\"classes\":\"a\"}]}",
                 "schema.json: columns[0].classes: expected an array of strings"},
                {"{\"columns\":[{\"name\":\"l\",\"type\":\"label\",\"classes\":[\"a\"]}]}",
                 "schema.json: columns[0].classes: 1 classes (expected 2 to 1000)"},
                {"{\"columns\":[{\"name\":\"l\",\"type\":\"label\",\"classes\":[\"a\",\"a\"]}]}",
                 "schema.json: columns[0].classes[1]: \"a\" is listed twice"},
                {"{\"columns\":[{\"name\":\"l\",\"type\":\"label\",\"classes\":[\"a\",2]}]}",
                 "schema.json: columns[0].classes[1]: expected a non-empty string"},
                {"{\"columns\":[{\"name\":\"c\",\"type\":\"numeric\",\"classes\":[\"a\",\"b\"]}]}",
                 "schema.json: columns[0].classes: only the label column has classes"},
                {"{\"columns\":[{\"name\":\"c\",\"type\":\"ignore\",\"map\":{}}]}",
                 "schema.json: columns[0].map: only the label column has map"},
                {"{\"columns\":[{\"name\":\"a\",\"type\":\"numeric\",\"name\":\"b\"}]}",
                 "schema.json:1:47: not valid JSON: duplicate object key near '\"name\"'"},
                {"{\"columns\": [", "schema.json:1:13: not valid JSON: ']' expected near end of file"},
        };
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                char err[512] = "";
                sf_schema_t *s = sf_schema_parse(cases[c].json, strlen(cases[c].json), "schema.json", err,
                                                 sizeof(err));
                CHECK_MSG(s == NULL, "%s: accepted", cases[c].json);
                sf_schema_destroy(s);
                CHECK_MSG(strcmp(err, cases[c].msg) == 0, "%s:\n#     got  %s\n#     want %s", cases[c].json,
                          err, cases[c].msg);
        }
        char err[512], path[1024];
        snprintf(path, sizeof(path), "%s/no-schema.json", tmpdir);
        CHECK(sf_schema_load(path, err, sizeof(err)) == NULL);
        CHECK_MSG(strstr(err, "no-schema.json") != NULL, "%s", err);
        const char *p = write_text("typo.json", "{\"columns\":[{\"name\":\"a\",\"type\":\"numbr\"}]}");
        char want[1200];
        snprintf(want, sizeof(want),
                 "%s: columns[0].type: unknown type \"numbr\" (expected numeric, categorical, label or "
                 "ignore)",
                 p);
        CHECK(sf_schema_load(p, err, sizeof(err)) == NULL);
        CHECK_STR(err, want);
}

static sf_schema_t *load_schema(const char *dir) {
        char path[1024], err[512];
        snprintf(path, sizeof(path), "%s/data/%s/schema.json", rootdir, dir);
        sf_schema_t *s = sf_schema_load(path, err, sizeof(err));
        CHECK_MSG(s != NULL, "%s", err);
        return s;
}

static void test_schema_nsl_kdd(void) {
        static const char *const names[] = {
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
        static const char *const classes[] = {"normal", "DoS", "Probe", "R2L", "U2R"};
        sf_schema_t *s = load_schema("nsl-kdd");
        if (!s) return;
        CHECK_STR(s->name, "nsl-kdd");
        CHECK_INT(s->header, 0);
        CHECK_INT(s->n_cols, 43);
        CHECK_INT(s->n_numeric, 38);
        CHECK_INT(s->n_categorical, 3);
        CHECK_INT(s->n_classes, 5);
        CHECK_INT(s->label_col, 41);
        CHECK_INT(s->min_fields, 41);
        CHECK_INT(s->cols[42].type, SF_COL_IGNORE);
        for (int i = 0; i < s->n_cols && i < 43; i++) CHECK_STR(s->cols[i].name, names[i]);
        for (int k = 0; k < s->n_classes && k < 5; k++) CHECK_STR(s->classes[k], classes[k]);
        /* the map: normal and the 39 attack names (test_row.c checks each) */
        CHECK_INT(s->n_map, 40);
        CHECK_INT(sf_schema_class(s, "neptune", 7), 1);  /* DoS */
        CHECK_INT(sf_schema_class(s, "neptunex", 7), 1); /* a span */
        CHECK_INT(sf_schema_class(s, "nept", 4), -1);
        CHECK_INT(sf_schema_class(s, "Probe", 5), 2); /* a class name itself */
        CHECK_INT(sf_schema_class(s, "nosuch", 6), -1);
        /* to JSON and back: the same schema */
        json_t *j = sf_schema_to_json(s);
        char err[256];
        sf_schema_t *back = j ? sf_schema_from_json(j, "again", err, sizeof(err)) : NULL;
        CHECK_MSG(back != NULL, "%s", err);
        if (back) {
                CHECK_INT(back->n_cols, s->n_cols);
                CHECK_INT(back->n_map, s->n_map);
                for (int k = 0; k < s->n_map && k < back->n_map; k++) {
                        CHECK_STR(back->map_from[k], s->map_from[k]);
                        CHECK_INT(back->map_to[k], s->map_to[k]);
                }
                char *a = sf_schema_format(s), *b = sf_schema_format(back);
                CHECK(a && b && strcmp(a, b) == 0);
                free(a), free(b);
        }
        json_decref(j);
        sf_schema_destroy(back);
        sf_schema_destroy(s);
}

/* ---- typed rows ---- */

static const char small_schema[] = "{\"columns\":[{\"name\":\"x\",\"type\":\"numeric\"},"
                                   "{\"name\":\"c\",\"type\":\"categorical\"},"
                                   "{\"name\":\"y\",\"type\":\"label\",\"classes\":[\"no\",\"yes\"],"
                                   "\"map\":{\"n\":\"no\"}},{\"name\":\"z\",\"type\":\"ignore\"}]}";

static sf_schema_t *small(void) {
        char err[256];
        sf_schema_t *s = sf_schema_parse(small_schema, strlen(small_schema), "small", err, sizeof(err));
        CHECK_MSG(s != NULL, "%s", err);
        return s;
}

static void test_table_read_errors(void) {
        static const struct {
                const char *text, *msg; /* msg after "PATH" */
        } cases[] = {
                {"x,c,y,z\n1,a,yes,\nabc,b,no,\n", ":3:1 (x): not a number: \"abc\""},
                {"x,c,y,z\n1,a,yes,,9\n", ":2:5: 5 fields, expected 2 to 4 (the label and ignored columns at "
                                          "the end may be left off)"},
                {"x,c,y,z\n1\n",
                 ":2:2 (c): 1 field, expected 2 to 4 (the label and ignored columns at the end "
                 "may be left off)"},
                {"x,c,y,z\n1,a\n", ":2:3 (y): no label (every training row needs one)"},
                {"x,c,y,z\n1,a,maybe,\n",
                 ":2:3 (y): unknown label \"maybe\" (not a class, not in the schema's map)"},
                {"x,c,y,z\n1,a,,\n", ":2:3 (y): no label (every training row needs one)"},
                {"x,c,y,z\n1,a\xff,no,\n", ":2:2 (c): invalid UTF-8 (or a NUL byte) at byte 2 of the field"},
                {"x,c,y,z\n1,\xc3\x28,no,\n",
                 ":2:2 (c): invalid UTF-8 (or a NUL byte) at byte 1 of the field"},
                {"x,c,y,z\n1,\xed\xa0\x80,no,\n",
                 ":2:2 (c): invalid UTF-8 (or a NUL byte) at byte 1 of the field"},
                {"x,c,y,z\n1,\xc0\xaf,no,\n",
                 ":2:2 (c): invalid UTF-8 (or a NUL byte) at byte 1 of the field"},
                {"x,c,y,z\n1,ab\xe2\x82,no,\n",
                 ":2:2 (c): invalid UTF-8 (or a NUL byte) at byte 3 of the field"},
                {"x,cc,y,z\n", ":1:2 (c): header names column 2 \"cc\", the schema \"c\""},
                {"x,c,y\n", ":1:4 (z): header has 3 columns, the schema 4"},
                {"x,c,y,z\n\"\",a,no,\n", ":2:1 (x): an empty string \"\" is not a number (leave the field "
                                          "empty for a missing value)"},
                {"x,c,y,z\n1e39,a,no,\n", ":2:1 (x): number out of range (not finite as a float): \"1e39\""},
                {"x,c,y,z\nnan,a,no,\n", ":2:1 (x): not a number: \"nan\""},
                {"x,c,y,z\n 1,a,no,\n", ":2:1 (x): not a number: \" 1\""},
                {"x,c,y,z\n1,\"a\nb,no,\n", ":2:2 (c): unterminated quoted field (the file ends inside it)"},
                {"x,c,y,z\n", ": no rows"},
        };
        sf_schema_t *s = small();
        if (!s) return;
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                const char *p = write_text("bad.csv", cases[c].text);
                char err[512] = "", want[1200];
                snprintf(want, sizeof(want), "%s%s", p, cases[c].msg);
                sf_table_t *t = sf_table_new(s);
                CHECK(t != NULL);
                if (!t) break;
                CHECK_MSG(sf_table_read_csv(t, p, err, sizeof(err)) == -1, "%s: accepted", cases[c].text);
                CHECK_MSG(strcmp(err, want) == 0, "\n#     got  %s\n#     want %s", err, want);
                CHECK_INT(t->n_rows, 0); /* a failed read appends nothing */
                sf_table_destroy(t);
        }
        /* a NUL byte: the line reader's message, with the line and byte */
        sf_table_t *t = sf_table_new(s);
        const char *p = write_file("nul.csv", "x,c,y,z\n1,a\0b,no,\n", 19);
        char err[512] = "";
        CHECK(t && sf_table_read_csv(t, p, err, sizeof(err)) == -1);
        CHECK_MSG(strstr(err, ":2: a NUL byte (byte 4 of the line)") != NULL, "%s", err);
        /* a field over 64 KiB */
        size_t n = SF_CSV_MAX_FIELD + 100;
        char *big = malloc(n + 64);
        if (big) {
                strcpy(big, "x,c,y,z\n1,");
                memset(big + 10, 'q', n);
                strcpy(big + 10 + n, ",no,\n");
                p = write_text("big.csv", big);
                CHECK(t && sf_table_read_csv(t, p, err, sizeof(err)) == -1);
                char want[1200];
                snprintf(want, sizeof(want), "%s:2:2 (c): field longer than 65536 bytes", p);
                CHECK_STR(err, want);
        }
        free(big);
        sf_table_destroy(t);
        sf_schema_destroy(s);
}

static void test_table_read_good(void) {
        sf_schema_t *s = small();
        if (!s) return;
        sf_table_t *t = sf_table_new(s);
        const char *p =
                write_text("good.csv", "x,c,y,z\r\n1.5,a,yes,\r\n,\"b,c\",n,ignored\r\n2e2,,no,\"q\r\nq\"\r\n"
                                       "3,\"\",\"yes\",x");
        char err[512] = "";
        CHECK_MSG(t && sf_table_read_csv(t, p, err, sizeof(err)) == 0, "%s", err);
        if (!t || t->n_rows != 4) {
                CHECK_INT(t ? t->n_rows : 0, 4);
                sf_table_destroy(t);
                sf_schema_destroy(s);
                return;
        }
        CHECK(t->num[0][0] == 1.5f && t->num[0][2] == 200.0f && t->num[0][3] == 3.0f);
        CHECK(t->missing[0][1] == 1 && t->missing[0][0] == 0);
        CHECK_INT(t->n_missing[0], 1);
        CHECK_INT(t->n_missing[1], 1);
        CHECK_INT(t->label[0], 1);
        CHECK_INT(t->label[1], 0); /* "n" through the map */
        CHECK_INT(t->class_rows[0], 2);
        CHECK_INT(t->class_rows[1], 2);
        CHECK_INT(t->dict[1].n, 3); /* a, "b,c", "" */
        CHECK(t->cat[1][2] == SF_TABLE_NONE);
        CHECK(t->cat[1][1] != SF_TABLE_NONE && strcmp(t->dict[1].str[t->cat[1][1]], "b,c") == 0);
        CHECK(t->cat[1][3] != SF_TABLE_NONE && strcmp(t->dict[1].str[t->cat[1][3]], "") == 0);
        sf_table_destroy(t);
        sf_schema_destroy(s);
}

/* The one-pass decode and the split + field by field decode agree on every
 * record, good or bad (the one-pass path hands what it does not handle to
 * the other). */
static void test_csv_text_decode(void) {
        static const struct {
                const char *text;
                sf_row_reason_t reason;
                int col;
        } cases[] = {
                {"1.5,a,yes,", SF_ROW_OK, -1},
                {"0.05,b,n,ignored", SF_ROW_OK, -1},
                {"1e3,a,yes,", SF_ROW_OK, -1},
                {"-2,a,yes,", SF_ROW_OK, -1},
                {"0.1234567890123456,a,yes,", SF_ROW_OK, -1}, /* 16 digits: strtod */
                {",,,", SF_ROW_OK, -1},
                {"7,\"a,b\",\"no\",\"q\"\"\"", SF_ROW_OK, -1},
                {"7,caf\xc3\xa9,no,", SF_ROW_OK, -1},
                {"7,a\tb,no,", SF_ROW_OK, -1},
                {"7,a,no,\xff", SF_ROW_OK, -1}, /* an ignored column is not looked at */
                {"\"3\",\"\",yes,", SF_ROW_OK, -1},
                {"1,a,yes", SF_ROW_OK, -1}, /* the trailing ignore column left off */
                {"1,a", SF_ROW_OK, -1},     /* and the label: a row to score */
                {"1,a,yes,,", SF_ROW_FIELD_COUNT, 4},
                {"1", SF_ROW_FIELD_COUNT, 1},
                {"x,a,yes,", SF_ROW_NOT_A_NUMBER, 0},
                {"5.,a,yes,", SF_ROW_OK, -1}, /* strtod reads "5." */
                {".,a,yes,", SF_ROW_NOT_A_NUMBER, 0},
                {"1..2,a,yes,", SF_ROW_NOT_A_NUMBER, 0},
                {"1,a,maybe,", SF_ROW_UNKNOWN_LABEL, 2},
                {"1,a,Yes,", SF_ROW_UNKNOWN_LABEL, 2},
                {"1,a\xff,no,", SF_ROW_BAD_UTF8, 1},
                {"1,\"a,yes,", SF_ROW_BAD_QUOTE, 1},
                {"1,a\"b,yes,", SF_ROW_BAD_QUOTE, 1},
                {"1,\"a\"b,yes,", SF_ROW_BAD_QUOTE, 1},
                {"1e39,a,yes,", SF_ROW_NON_FINITE, 0},
        };
        sf_schema_t *s = small();
        sf_row_t fast = {0}, full = {0};
        if (!s || sf_row_init(&fast, s) || sf_row_init(&full, s)) {
                CHECK(0);
                goto out;
        }
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                const char *t = cases[c].text;
                sf_row_error_t e1 = {0}, e2 = {0};
                int rc = sf_row_from_csv_text(s, t, strlen(t), &fast, &e1);
                CHECK_MSG(rc == (cases[c].reason ? -1 : 0), "%s: rc %d (%s)", t, rc, e1.msg);
                CHECK_MSG(e1.reason == cases[c].reason, "%s: reason %s", t, sf_row_reason_str(e1.reason));
                if (rc) {
                        CHECK_MSG(e1.col == cases[c].col, "%s: column %d", t, e1.col);
                        continue;
                }
                sf_csv_field_t f[8];
                char scratch[64];
                int nf, bad;
                const char *why;
                CHECK(sf_csv_split(t, strlen(t), f, 8, &nf, scratch, &bad, &why) == SF_CSV_OK);
                CHECK(sf_row_from_csv(s, f, nf, &full, &e2) == 0);
                CHECK_MSG(fast.label == full.label, "%s: label %d / %d", t, fast.label, full.label);
                for (int i = 0; i < s->n_cols; i++) {
                        const sf_value_t *a = &fast.v[i], *b = &full.v[i];
                        int same = a->kind == b->kind && (a->kind != SF_VAL_NUMBER || a->num == b->num) &&
                                   (a->kind != SF_VAL_STRING ||
                                    (a->len == b->len && !memcmp(a->str, b->str, a->len)));
                        CHECK_MSG(same, "%s: column %d differs", t, i);
                }
        }
        /* the values of two */
        sf_row_error_t e;
        CHECK(sf_row_from_csv_text(s, "0.05,b,n,z", 10, &fast, &e) == 0);
        CHECK(fast.v[0].kind == SF_VAL_NUMBER && fast.v[0].num == 0.05f);
        CHECK(fast.v[1].kind == SF_VAL_STRING && fast.v[1].len == 1 && fast.v[1].str[0] == 'b');
        CHECK(fast.v[3].kind == SF_VAL_MISSING);
        CHECK_INT(fast.label, 0);
        CHECK(sf_row_from_csv_text(s, ",\"\",,", 5, &fast, &e) == 0);
        CHECK(fast.v[0].kind == SF_VAL_MISSING && fast.v[1].kind == SF_VAL_STRING && fast.v[1].len == 0 &&
              fast.label == -1);
out:
        sf_row_free(&fast);
        sf_row_free(&full);
        sf_schema_destroy(s);
}

static void test_json_records(void) {
        static const struct {
                const char *json;
                sf_row_reason_t reason;
                const char *msg;
        } cases[] = {
                {"{\"x\":1.5,\"c\":\"a\",\"y\":\"yes\"}", SF_ROW_OK, ""},
                {"{\"x\":1.5,\"c\":\"a\",\"y\":\"yes\",\"extra\":{\"nested\":[1,{\"a\":2}]},\"w\":\"v\"}",
                 SF_ROW_OK, ""},
                {"{\"x\":null,\"c\":null}", SF_ROW_OK, ""},
                {"{\"x\":true,\"c\":\"a\",\"y\":\"n\",\"z\":[1]}", SF_ROW_OK, ""},
                {"{\"c\":\"a\",\"y\":\"yes\"}", SF_ROW_MISSING_FIELD,
                 "field \"x\" is missing (use null for a missing value)"},
                {"{\"x\":1}", SF_ROW_MISSING_FIELD, "field \"c\" is missing (use null for a missing value)"},
                {"{\"x\":\"1.5\",\"c\":\"a\"}", SF_ROW_WRONG_TYPE,
                 "field \"x\": expected a number or null, found a string"},
                {"{\"x\":{\"v\":1},\"c\":\"a\"}", SF_ROW_WRONG_TYPE,
                 "field \"x\": expected a number or null, found an object"},
                {"{\"x\":[1],\"c\":\"a\"}", SF_ROW_WRONG_TYPE,
                 "field \"x\": expected a number or null, found an array"},
                {"{\"x\":1,\"c\":5}", SF_ROW_WRONG_TYPE,
                 "field \"c\": expected a string or null, found a number"},
                {"{\"x\":1,\"c\":false}", SF_ROW_WRONG_TYPE,
                 "field \"c\": expected a string or null, found a boolean"},
                {"{\"x\":1,\"c\":\"a\",\"y\":1}", SF_ROW_WRONG_TYPE,
                 "field \"y\": expected a string or null, found a number"},
                {"{\"x\":1e39,\"c\":\"a\"}", SF_ROW_NON_FINITE,
                 "field \"x\": number out of range (not finite as a float)"},
                {"{\"x\":1,\"c\":\"a\",\"y\":\"maybe\"}", SF_ROW_UNKNOWN_LABEL,
                 "unknown label \"maybe\" (not a class, not in the schema's map) in field \"y\""},
                {"[1,2]", SF_ROW_NOT_JSON, "expected a JSON object, found an array"},
                {"not json", SF_ROW_NOT_JSON, "not JSON: '[' or '{' expected near 'not' (at byte 3)"},
                {"{\"x\":1,\"c\":\"a\",\"x\":2}", SF_ROW_NOT_JSON,
                 "not JSON: duplicate object key near '\"x\"' (at byte 18)"},
                {"{\"x\":1,\"c\":\"a\\u0000b\"}", SF_ROW_NOT_JSON,
                 "not JSON: a \\u0000 (NUL) character in a string at byte 21"},
                {"{\"x\":1e400,\"c\":\"a\"}", SF_ROW_NON_FINITE,
                 "a number out of range (not finite as a float) at byte 10"},
                {"{\"x\":18446744073709551616,\"c\":\"a\"}", SF_ROW_NON_FINITE,
                 "a number out of range (not finite as a float) at byte 25"},
                {"{\"x\":NaN,\"c\":\"a\"}", SF_ROW_NOT_JSON,
                 "not JSON: invalid token near 'NaN' (at byte 8)"},
                {"", SF_ROW_NOT_JSON, "not JSON: '[' or '{' expected near end of file (at byte 0)"},
        };
        sf_schema_t *s = small();
        sf_row_t row;
        if (!s || sf_row_init(&row, s)) {
                CHECK(0);
                sf_schema_destroy(s);
                return;
        }
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                sf_row_error_t err = {0};
                int rc = sf_row_from_json(s, cases[c].json, strlen(cases[c].json), &row, &err);
                CHECK_MSG(rc == (cases[c].reason ? -1 : 0), "%s: rc %d (%s)", cases[c].json, rc, err.msg);
                if (rc == 0) continue;
                CHECK_MSG(err.reason == cases[c].reason, "%s: reason %s", cases[c].json,
                          sf_row_reason_str(err.reason));
                CHECK_MSG(strcmp(err.msg, cases[c].msg) == 0, "%s:\n#     got  %s\n#     want %s",
                          cases[c].json, err.msg, cases[c].msg);
        }
        /* the values of good records */
        sf_row_error_t err;
        const char *j = "{\"x\":2,\"c\":\"caf\\u00e9\",\"y\":\"n\",\"z\":\"whatever\"}";
        CHECK(sf_row_from_json(s, j, strlen(j), &row, &err) == 0);
        CHECK(row.v[0].kind == SF_VAL_NUMBER && row.v[0].num == 2.0f);
        CHECK(row.v[1].kind == SF_VAL_STRING && row.v[1].len == 5 &&
              memcmp(row.v[1].str, "caf\xc3\xa9", 5) == 0);
        CHECK_INT(row.label, 0);
        CHECK(row.v[3].kind == SF_VAL_MISSING);
        j = "{\"x\":null,\"c\":null,\"y\":null}";
        CHECK(sf_row_from_json(s, j, strlen(j), &row, &err) == 0);
        CHECK(row.v[0].kind == SF_VAL_MISSING && row.v[1].kind == SF_VAL_MISSING && row.label == -1);
        j = "{\"x\":false,\"c\":\"\"}";
        CHECK(sf_row_from_json(s, j, strlen(j), &row, &err) == 0);
        CHECK(row.v[0].kind == SF_VAL_NUMBER && row.v[0].num == 0.0f && row.v[1].kind == SF_VAL_STRING &&
              row.v[1].len == 0 && row.label == -1);
        /* a JSON number and the same text in CSV give the same float */
        j = "{\"x\":0.1,\"c\":\"a\"}";
        CHECK(sf_row_from_json(s, j, strlen(j), &row, &err) == 0);
        CHECK(row.v[0].num == 0.1f);
        CHECK_STR(sf_row_reason_str(SF_ROW_MISSING_FIELD), "missing_field");
        CHECK_STR(sf_row_reason_str(SF_ROW_NOT_JSON), "not_json");
        CHECK_STR(sf_row_reason_str(SF_ROW_NON_FINITE), "non_finite");
        sf_row_free(&row);
        sf_schema_destroy(s);
}

/* Penguins as JSON lines (written from the CSV table) read back to the
 * same table: the encoders fitted on either are the same. */
static void test_table_read_json(void) {
        char path[1024], err[512] = "";
        snprintf(path, sizeof(path), "%s/data/penguins/penguins.csv.gz", rootdir);
        sf_schema_t *s = load_schema("penguins");
        sf_table_t *csv = s ? sf_table_new(s) : NULL, *js = s ? sf_table_new(s) : NULL;
        sf_encoder_t *e1 = NULL, *e2 = NULL;
        sf_row_t row = {0};
        char *a = NULL, *b = NULL, *jpath = NULL;
        FILE *fp = NULL;
        if (!csv || !js || sf_row_init(&row, s) || sf_table_read_csv(csv, path, err, sizeof(err))) {
                CHECK_MSG(0, "%s", err);
                goto out;
        }
        jpath = strdup(write_text("penguins.jsonl", ""));
        if (!jpath || !(fp = fopen(jpath, "w"))) goto out;
        for (size_t i = 0; i < csv->n_rows; i++) {
                sf_table_get_row(csv, i, &row);
                json_t *o = json_object();
                for (int c = 0; c < s->n_cols; c++) {
                        const sf_value_t *v = &row.v[c];
                        json_t *val = c == s->label_col          ? json_string(s->classes[row.label])
                                      : v->kind == SF_VAL_NUMBER ? json_real(v->num)
                                      : v->kind == SF_VAL_STRING ? json_stringn(v->str, v->len)
                                                                 : json_null();
                        json_object_set_new(o, s->cols[c].name, val);
                }
                char *line = json_dumps(o, JSON_COMPACT);
                fprintf(fp, "%s\n%s", line ? line : "", i % 100 == 0 ? "\n" : ""); /* some empty lines */
                free(line);
                json_decref(o);
        }
        fclose(fp);
        fp = NULL;
        CHECK_MSG(sf_table_read_json(js, jpath, err, sizeof(err)) == 0, "%s", err);
        CHECK_INT(js->n_rows, csv->n_rows);
        e1 = sf_encoder_fit(csv, err, sizeof(err));
        e2 = sf_encoder_fit(js, err, sizeof(err));
        json_t *j1 = e1 ? sf_encoder_to_json(e1, s) : NULL, *j2 = e2 ? sf_encoder_to_json(e2, s) : NULL;
        a = j1 ? json_dumps(j1, 0) : NULL;
        b = j2 ? json_dumps(j2, 0) : NULL;
        json_decref(j1), json_decref(j2);
        CHECK(a && b && strcmp(a, b) == 0);
        /* a bad record names the line and the reason */
        const char *p =
                write_text("bad.jsonl", "{\"species\":\"Adelie\",\"island\":\"Dream\",\"bill_length_mm\":1,"
                                        "\"bill_depth_mm\":1,\"flipper_length_mm\":1,\"body_mass_g\":1,"
                                        "\"sex\":null}\n\n{\"species\":\"Adelie\",\"island\":\"Dream\","
                                        "\"bill_length_mm\":\"1\"}\n");
        char want[1200];
        snprintf(want, sizeof(want),
                 "%s:3: wrong_type: field \"bill_length_mm\": expected a number or null, found a string", p);
        size_t n = js->n_rows;
        CHECK(sf_table_read_json(js, p, err, sizeof(err)) == -1);
        CHECK_STR(err, want);
        CHECK_INT(js->n_rows, n);
        p = write_text("nolabel.jsonl", "{\"island\":\"Dream\",\"bill_length_mm\":1,\"bill_depth_mm\":1,"
                                        "\"flipper_length_mm\":1,\"body_mass_g\":1,\"sex\":null}\n");
        snprintf(want, sizeof(want),
                 "%s:1: missing_field: field \"species\": no label (every training row needs one)", p);
        CHECK(sf_table_read_json(js, p, err, sizeof(err)) == -1);
        CHECK_STR(err, want);
out:
        if (fp) fclose(fp);
        free(a), free(b), free(jpath);
        sf_row_free(&row);
        sf_encoder_destroy(e1);
        sf_encoder_destroy(e2);
        sf_table_destroy(csv);
        sf_table_destroy(js);
        sf_schema_destroy(s);
}

/* ---- the encoder ---- */

/* NSL-KDD's layout fitted on KDDTrain+, computed apart from StreamFlow by
 * tests/data/nsl_kdd_layout.py (Python: the file's text as doubles,
 * math.fsum): each numeric column's mean and population deviation (ddof=0),
 * and the sorted vocabularies. */
static const struct {
        const char *column;
        double mean, std;
} kdd_numeric[38] = {
        {"duration", 287.14465004405707, 2604.5049722536623},
        {"src_bytes", 45566.743000484232, 5870307.8818894541},
        {"dst_bytes", 19779.114421344257, 4021253.1905723172},
        {"land", 0.00019845522453224102, 0.014086015762311815},
        {"wrong_fragment", 0.022687401268525795, 0.25352897966301002},
        {"urgent", 0.00011113492573805498, 0.014365969599780303},
        {"hot", 0.20440888126820828, 2.1499599002384606},
        {"num_failed_logins", 0.0012224841831186047, 0.045238959422103778},
        {"logged_in", 0.39573559413525122, 0.48900811206939193},
        {"num_compromised", 0.27925031554380703, 23.941947214139137},
        {"root_shell", 0.0013415573178379495, 0.03660269855899842},
        {"su_attempted", 0.0011034110483992602, 0.045154204591042336},
        {"num_root", 0.30219173949973405, 24.399521244011499},
        {"num_file_creations", 0.012669381534138267, 0.48393314860337394},
        {"num_shells", 0.00041278686702706137, 0.02218104063930202},
        {"num_access_files", 0.0040961158343454547, 0.099369161341728754},
        {"num_outbound_cmds", 0, 0},
        {"is_host_login", 7.9382089812896412e-06, 0.0028174715555135269},
        {"is_guest_login", 0.0094226540607908037, 0.096611943626248753},
        {"count", 84.107554793487495, 114.50815285665445},
        {"srv_count", 27.737888277646796, 72.635551347428887},
        {"serror_rate", 0.28448453239979998, 0.44645385229848328},
        {"srv_serror_rate", 0.28248537384995198, 0.44702072408149002},
        {"rerror_rate", 0.11995848316702785, 0.32043424890492866},
        {"srv_rerror_rate", 0.12118326943075103, 0.32364594341324743},
        {"same_srv_rate", 0.66092765910155349, 0.43962111749493993},
        {"diff_srv_rate", 0.063052638263754929, 0.18031369182042994},
        {"srv_diff_host_rate", 0.097321648289712875, 0.25982946682471492},
        {"dst_host_count", 182.14894461511594, 99.205819273990741},
        {"dst_host_srv_count", 115.65300500900987, 110.70230138924722},
        {"dst_host_same_srv_rate", 0.52124169464885339, 0.44894758178720723},
        {"dst_host_diff_srv_rate", 0.082951108570884238, 0.18892105005276211},
        {"dst_host_same_src_port_rate", 0.14837885896184103, 0.30899590392865606},
        {"dst_host_srv_diff_host_rate", 0.03254244957252745, 0.11256335810279973},
        {"dst_host_serror_rate", 0.28445246203551555, 0.44478228491861377},
        {"dst_host_srv_serror_rate", 0.27848451652338196, 0.44566735497519883},
        {"dst_host_rerror_rate", 0.11883181316631342, 0.30655624126417136},
        {"dst_host_srv_rerror_rate", 0.12023989267541457, 0.3194581224850141},
};
static const char *const kdd_proto[] = {"icmp", "tcp", "udp"};
static const char *const kdd_service[] = {
        "IRC",      "X11",      "Z39_50",      "aol",        "auth",        "bgp",      "courier",
        "csnet_ns", "ctf",      "daytime",     "discard",    "domain",      "domain_u", "echo",
        "eco_i",    "ecr_i",    "efs",         "exec",       "finger",      "ftp",      "ftp_data",
        "gopher",   "harvest",  "hostnames",   "http",       "http_2784",   "http_443", "http_8001",
        "imap4",    "iso_tsap", "klogin",      "kshell",     "ldap",        "link",     "login",
        "mtp",      "name",     "netbios_dgm", "netbios_ns", "netbios_ssn", "netstat",  "nnsp",
        "nntp",     "ntp_u",    "other",       "pm_dump",    "pop_2",       "pop_3",    "printer",
        "private",  "red_i",    "remote_job",  "rje",        "shell",       "smtp",     "sql_net",
        "ssh",      "sunrpc",   "supdup",      "systat",     "telnet",      "tftp_u",   "tim_i",
        "time",     "urh_i",    "urp_i",       "uucp",       "uucp_path",   "vmnet",    "whois"};
static const char *const kdd_flag[] = {"OTH", "REJ", "RSTO", "RSTOS0", "RSTR", "S0",
                                       "S1",  "S2",  "S3",   "SF",     "SH"};

/* Encodes every record of path decoded two ways, the one-pass decode
 * through enc and the split + field by field decode through enc2, and
 * compares the floats bit for bit. Returns the rows compared, or -1. */
static long compare_decodes(const char *path, const sf_schema_t *s, const sf_encoder_t *enc,
                            const sf_encoder_t *enc2) {
        char err[512];
        sf_csv_reader_t *r = NULL;
        sf_row_t row = {0}, full = {0};
        sf_csv_field_t f[64];
        int nf;
        char *scratch = malloc(SF_CSV_MAX_RECORD);
        float *a = malloc((size_t)enc->n_inputs * sizeof(float));
        float *b = malloc((size_t)enc->n_inputs * sizeof(float));
        long n = -1, diff = 0;
        if (!a || !b || !scratch || sf_row_init(&row, s) || sf_row_init(&full, s)) goto out;
        if (!(r = sf_csv_open(path, s->n_cols, err, sizeof(err)))) {
                CHECK_MSG(0, "%s", err);
                goto out;
        }
        size_t i = 0;
        for (;; i++) {
                const char *text;
                size_t len;
                uint64_t line;
                sf_csv_read_status_t st = sf_csv_next_text(r, &text, &len, &line, err, sizeof(err));
                if (st == SF_CSV_READ_EOF) break;
                sf_row_error_t rerr;
                int bad;
                const char *why;
                if (st != SF_CSV_READ_OK || sf_row_from_csv_text(s, text, len, &row, &rerr) ||
                    sf_csv_split(text, len, f, s->n_cols, &nf, scratch, &bad, &why) != SF_CSV_OK ||
                    sf_row_from_csv(s, f, nf, &full, &rerr)) {
                        CHECK_MSG(0, "%s:%llu: %s", path, (unsigned long long)line, st ? err : rerr.msg);
                        goto out;
                }
                int odd_a = sf_encoder_encode(enc, &row, a, NULL),
                    odd_b = sf_encoder_encode(enc2, &full, b, NULL);
                if (memcmp(a, b, (size_t)enc->n_inputs * sizeof(float)) != 0 || odd_a != odd_b ||
                    row.label != full.label) {
                        if (diff++ < 3) CHECK_MSG(0, "%s: row %zu encodes differently", path, i + 1);
                }
        }
        CHECK_INT(diff, 0);
        n = (long)i;
out:
        sf_csv_close(r);
        sf_row_free(&row);
        sf_row_free(&full);
        free(scratch);
        free(a);
        free(b);
        return n;
}

/* The encoder fitted on KDDTrain+: the stored layout, means and
 * deviations; every scaled column of the training rows has mean 0 and
 * deviation 1 and every row one value per one-hot block; KDDTest+ and
 * KDDTrain+ encode the same whichever way a record is decoded, and through
 * the encoder's JSON form. */
static void test_encoder_nsl_kdd(void) {
        char train[1024], test[1024], err[512];
        snprintf(train, sizeof(train), "%s/data/nsl-kdd/KDDTrain+.txt.gz", rootdir);
        snprintf(test, sizeof(test), "%s/data/nsl-kdd/KDDTest+.txt.gz", rootdir);
        sf_schema_t *s = load_schema("nsl-kdd");
        sf_table_t *t = s ? sf_table_new(s) : NULL;
        sf_encoder_t *enc = NULL, *back = NULL;
        sf_dataset_t ds = {0};
        json_t *j = NULL;
        char *text = NULL;
        if (!t) goto out;
        CHECK_MSG(sf_table_read_csv(t, train, err, sizeof(err)) == 0, "%s", err);
        CHECK_INT(t->n_rows, 125973);
        CHECK_MSG((enc = sf_encoder_fit(t, err, sizeof(err))) != NULL, "%s", err);
        if (!enc) goto out;
        CHECK_INT(enc->n_inputs, 122);
        CHECK_INT(enc->n_num, 38);
        CHECK_INT(enc->n_flags, 0);
        CHECK_INT(enc->n_cat, 3);
        if (enc->n_num != 38 || enc->n_cat != 3) goto out;
        for (int c = 0; c < 38; c++) {
                double m = kdd_numeric[c].mean, sd = kdd_numeric[c].std;
                CHECK_STR(s->cols[enc->num_col[c]].name, kdd_numeric[c].column);
                /* within a float's rounding: ddof=1 would be 4e-6 off */
                CHECK_MSG(fabs(enc->mean[c] - m) <= 1e-6 * fabs(m), "%s: mean %.9g, expected %.9g",
                          kdd_numeric[c].column, (double)enc->mean[c], m);
                if (sd == 0) /* num_outbound_cmds, always 0: divides by 1 */
                        CHECK_MSG(enc->std[c] == 1.0f, "%s: std %g", kdd_numeric[c].column,
                                  (double)enc->std[c]);
                else
                        CHECK_MSG(fabs(enc->std[c] - sd) <= 1e-6 * sd, "%s: std %.9g, expected %.9g",
                                  kdd_numeric[c].column, (double)enc->std[c], sd);
        }
        const char *const *vocab[3] = {kdd_proto, kdd_service, kdd_flag};
        static const int size[3] = {3, 70, 11}, base[3] = {38, 41, 111};
        for (int k = 0; k < 3; k++) {
                CHECK_INT(enc->cat[k].n, size[k]);
                CHECK_INT(enc->cat[k].base, base[k]);
                for (int i = 0; i < size[k] && i < enc->cat[k].n; i++)
                        CHECK_STR(enc->cat[k].vocab[i], vocab[k][i]);
        }
        /* the training rows encoded densely */
        CHECK_MSG(sf_dataset_encode(&ds, enc, t, train, NULL, t->n_rows, 0, err, sizeof(err)) == 0, "%s",
                  err);
        if (ds.n != t->n_rows) goto out;
        CHECK_INT(ds.unseen, 0);
        size_t n = ds.n;
        for (int c = 0; c < 38; c++) {
                double sum = 0, ss = 0;
                for (size_t i = 0; i < n; i++) sum += ds.x[i * 122 + c];
                double mean = sum / (double)n;
                for (size_t i = 0; i < n; i++) ss += (ds.x[i * 122 + c] - mean) * (ds.x[i * 122 + c] - mean);
                double sd = sqrt(ss / (double)n), want = kdd_numeric[c].std == 0 ? 0 : 1;
                CHECK_MSG(fabs(mean) < 1e-3 && fabs(sd - want) < 1e-3, "%s: scaled mean %g, std %g",
                          kdd_numeric[c].column, mean, sd);
        }
        int one_hot = 1;
        for (size_t i = 0; i < n && one_hot; i++) {
                const float *x = ds.x + i * 122;
                for (int k = 0; k < 3; k++) {
                        double sum = 0;
                        for (int v = 0; v < size[k]; v++) sum += x[base[k] + v];
                        one_hot &= sum == 1;
                }
        }
        CHECK(one_hot);
        /* row 1 of KDDTrain+: duration 0, tcp, ftp_data, SF */
        CHECK(ds.x[39] == 1 && ds.x[41 + 20] == 1 && ds.x[111 + 9] == 1);
        CHECK(ds.x[0] == (0 - enc->mean[0]) / enc->std[0]);
        CHECK(compare_decodes(test, s, enc, enc) == 22544);
        CHECK(compare_decodes(train, s, enc, enc) == 125973);
        /* the encoder through its JSON form encodes the same */
        j = sf_encoder_to_json(enc, s);
        text = j ? json_dumps(j, 0) : NULL;
        json_decref(j);
        j = text ? json_loads(text, 0, NULL) : NULL;
        CHECK_MSG(j && (back = sf_encoder_from_json(j, s, "encoder", err, sizeof(err))), "%s", err);
        if (back) CHECK(compare_decodes(test, s, enc, back) == 22544);
out:
        sf_dataset_free(&ds);
        free(text);
        json_decref(j);
        sf_encoder_destroy(back);
        sf_encoder_destroy(enc);
        sf_table_destroy(t);
        sf_schema_destroy(s);
}

static void test_encoder_missing_unseen(void) {
        sf_schema_t *s = small();
        sf_table_t *t = s ? sf_table_new(s) : NULL;
        sf_encoder_t *enc = NULL, *back = NULL;
        sf_row_t row = {0};
        char err[512] = "";
        const char *p = write_text("miss.csv", "x,c,y,z\n1,b,no,\n,a,yes,\n3,,no,\n5,b,yes,\n");
        if (!t || sf_row_init(&row, s) || sf_table_read_csv(t, p, err, sizeof(err))) {
                CHECK_MSG(0, "%s", err);
                goto out;
        }
        CHECK_MSG((enc = sf_encoder_fit(t, err, sizeof(err))) != NULL, "%s", err);
        if (!enc) goto out;
        /* x (scaled), x was missing, c=a, c=b */
        CHECK_INT(enc->n_inputs, 4);
        CHECK_INT(enc->n_flags, 1);
        CHECK_INT(enc->flag_input[0], 1);
        CHECK(enc->mean[0] == 3.0f);
        CHECK_NEAR(enc->std[0], sqrt(8.0 / 3.0), 1e-6);
        CHECK_INT(enc->cat[0].base, 2);
        CHECK_STR(enc->cat[0].vocab[0], "a");
        float x[4];
        uint8_t st[1];
        sf_row_error_t rerr;
        static const struct {
                const char *json;
                float x[4];
                int status, odd;
        } cases[] = {
                {"{\"x\":5,\"c\":\"b\"}", {1.22474487f, 0, 0, 1}, SF_ENC_KNOWN, 0},
                {"{\"x\":null,\"c\":\"a\"}", {0, 1, 1, 0}, SF_ENC_KNOWN, 0},
                {"{\"x\":3,\"c\":null}", {0, 0, 0, 0}, SF_ENC_MISSING, 1},
                {"{\"x\":3,\"c\":\"zz\"}", {0, 0, 0, 0}, SF_ENC_UNSEEN, 1},
        };
        for (int pass = 0; pass < 2; pass++) {
                const sf_encoder_t *e = pass ? back : enc;
                if (!e) break;
                for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                        CHECK(sf_row_from_json(s, cases[c].json, strlen(cases[c].json), &row, &rerr) == 0);
                        CHECK_INT(sf_encoder_encode(e, &row, x, st), cases[c].odd);
                        CHECK_INT(st[0], cases[c].status);
                        for (int i = 0; i < 4; i++)
                                CHECK_MSG(fabsf(x[i] - cases[c].x[i]) < 1e-6f, "%s: x[%d] = %g",
                                          cases[c].json, i, (double)x[i]);
                }
                if (pass) break;
                json_t *j = sf_encoder_to_json(enc, s);
                CHECK(json_integer_value(json_object_get(j, "inputs")) == 4);
                back = j ? sf_encoder_from_json(j, s, "enc", err, sizeof(err)) : NULL;
                CHECK_MSG(back != NULL, "%s", err);
                json_decref(j);
        }
        /* a table row view encodes as its CSV row did */
        sf_table_get_row(t, 2, &row);
        CHECK_INT(sf_encoder_encode(enc, &row, x, st), 1);
        CHECK_INT(st[0], SF_ENC_MISSING);
        /* bad encoder JSON */
        static const struct {
                const char *json, *msg;
        } bad[] = {
                {"{}",
                 "enc: expected {\"inputs\": N, \"numeric\": [1 columns], \"categorical\": [1 columns]}"},
                {"{\"inputs\":4,\"numeric\":[{\"column\":\"q\",\"mean\":1,\"std\":1}],\"categorical\":[{"
                 "\"column\":"
                 "\"c\",\"vocabulary\":[\"a\",\"b\"]}]}",
                 "enc: numeric[0].column: expected \"x\" (the schema's numeric column 1)"},
                {"{\"inputs\":4,\"numeric\":[{\"column\":\"x\",\"mean\":1,\"std\":0}],\"categorical\":[{"
                 "\"column\":"
                 "\"c\",\"vocabulary\":[\"a\",\"b\"]}]}",
                 "enc: numeric[0].std: expected a finite number > 0"},
                {"{\"inputs\":4,\"numeric\":[{\"column\":\"x\",\"mean\":1,\"std\":1}],\"categorical\":[{"
                 "\"column\":"
                 "\"c\",\"vocabulary\":[\"b\",\"a\"]}]}",
                 "enc: categorical[0].vocabulary[1]: expected a string after \"b\" (sorted, distinct)"},
                {"{\"inputs\":4,\"numeric\":[{\"column\":\"x\",\"mean\":1,\"std\":1}],\"categorical\":[{"
                 "\"column\":"
                 "\"c\",\"vocabulary\":[\"a\",\"b\"]}]}",
                 "enc: inputs: 4, but the layout gives 3"},
        };
        for (size_t c = 0; c < sizeof(bad) / sizeof(bad[0]); c++) {
                json_t *j = json_loads(bad[c].json, 0, NULL);
                sf_encoder_t *e = j ? sf_encoder_from_json(j, s, "enc", err, sizeof(err)) : NULL;
                CHECK(j && !e);
                CHECK_MSG(strcmp(err, bad[c].msg) == 0, "\n#     got  %s\n#     want %s", err, bad[c].msg);
                sf_encoder_destroy(e);
                json_decref(j);
        }
out:
        sf_row_free(&row);
        sf_encoder_destroy(back);
        sf_encoder_destroy(enc);
        sf_table_destroy(t);
        sf_schema_destroy(s);
}

/* The compact encoding gives the dense one's inputs, row by row (credit
 * data: missing numbers and categories), and so do rows with unseen values. */
static void test_encoder_sparse(void) {
        char path[1024], err[512] = "";
        snprintf(path, sizeof(path), "%s/data/credit_data/credit_data.csv.gz", rootdir);
        sf_schema_t *s = load_schema("credit_data");
        sf_table_t *t = s ? sf_table_new(s) : NULL;
        sf_encoder_t *enc = NULL;
        sf_row_t row = {0};
        float *x = NULL, *y = NULL;
        if (!t || sf_row_init(&row, s) || sf_table_read_csv(t, path, err, sizeof(err)) ||
            !(enc = sf_encoder_fit(t, err, sizeof(err)))) {
                CHECK_MSG(0, "%s", err);
                goto out;
        }
        x = calloc((size_t)enc->n_inputs, sizeof(float));
        y = calloc((size_t)enc->n_inputs, sizeof(float));
        int32_t hot[16];
        uint8_t st1[16], st2[16];
        size_t bad = 0, with_missing = 0;
        if (!x || !y || enc->n_cat > 16) goto out;
        for (size_t i = 0; i <= t->n_rows; i++) {
                if (i < t->n_rows) {
                        sf_table_get_row(t, i, &row);
                } else { /* an unseen Home */
                        row.v[2] = (sf_value_t){SF_VAL_STRING, 0, "castle", 6};
                }
                int odd1 = sf_encoder_encode(enc, &row, x, st1);
                int odd2 = sf_encoder_encode_sparse(enc, &row, y, hot, st2);
                int n_fixed = enc->n_num + enc->n_flags;
                memset(y + n_fixed, 0, (size_t)(enc->n_inputs - n_fixed) * sizeof(float));
                for (int k = 0; k < enc->n_cat; k++)
                        if (hot[k] >= 0) y[hot[k]] = 1.0f;
                if (odd1 != odd2 || memcmp(x, y, (size_t)enc->n_inputs * sizeof(float)) ||
                    memcmp(st1, st2, (size_t)enc->n_cat))
                        bad++;
                with_missing += odd1 > 0;
        }
        CHECK_INT(bad, 0);
        CHECK(with_missing > 0);
        CHECK_INT(st1[0], SF_ENC_UNSEEN); /* the last row: Home "castle" */
out:
        free(x), free(y);
        sf_row_free(&row);
        sf_encoder_destroy(enc);
        sf_table_destroy(t);
        sf_schema_destroy(s);
}

/* ---- splits ---- */

static void count_parts(const sf_split_t *sp, const int *label, size_t counts[3][3]) {
        memset(counts, 0, 9 * sizeof(size_t));
        for (size_t i = 0; i < sp->n_train + sp->n_val + sp->n_test; i++) {
                int part = i < sp->n_train ? 0 : i < sp->n_train + sp->n_val ? 1 : 2;
                counts[part][label[sp->idx[i]]]++;
        }
}

static void test_split_stratified(void) {
        enum { N = 1000 };
        static int label[N];
        for (int i = 0; i < N; i++)
                label[i] = i % 20 == 0 ? 2 : i % 4 == 1 ? 1 : 0; /* 50 of 2, 250ish of 1 */
        size_t per[3] = {0};
        for (int i = 0; i < N; i++) per[label[i]]++;
        CHECK(per[0] == 700 && per[1] == 250 && per[2] == 50);
        sf_split_t a, b, c;
        char err[256];
        CHECK(sf_split_stratified(label, N, 3, 0.1, 0.2, 42, &a, err, sizeof(err)) == 0);
        CHECK(sf_split_stratified(label, N, 3, 0.1, 0.2, 42, &b, err, sizeof(err)) == 0);
        CHECK(sf_split_stratified(label, N, 3, 0.1, 0.2, 43, &c, err, sizeof(err)) == 0);
        CHECK_INT(a.n_test, 200);
        CHECK_INT(a.n_val, 100);
        CHECK_INT(a.n_train, 700);
        size_t counts[3][3];
        count_parts(&a, label, counts);
        static const size_t want[3][3] = {{490, 175, 35}, {70, 25, 5}, {140, 50, 10}};
        for (int p = 0; p < 3; p++)
                for (int k = 0; k < 3; k++)
                        CHECK_MSG(counts[p][k] == want[p][k], "part %d class %d: %zu, expected %zu", p, k,
                                  counts[p][k], want[p][k]);
        /* a permutation of 0..N-1 */
        static char seen[N];
        memset(seen, 0, sizeof(seen));
        int dup = 0;
        for (int i = 0; i < N; i++) dup += seen[a.idx[i]]++ != 0;
        CHECK_INT(dup, 0);
        /* the same seed, the same split; another seed, another */
        CHECK(memcmp(a.idx, b.idx, N * sizeof(size_t)) == 0);
        CHECK(memcmp(a.idx, c.idx, N * sizeof(size_t)) != 0);
        /* parts are shuffled, not in class order */
        int class_runs = 0;
        for (size_t i = 1; i < a.n_train; i++) class_runs += label[a.idx[i]] != label[a.idx[i - 1]];
        CHECK(class_runs > 100);
        sf_split_free(&a), sf_split_free(&b), sf_split_free(&c);
        /* uneven: 7 + 3 rows, a quarter to test = ceil(2.5) = 3 rows, 2 + 1 */
        static const int small_label[10] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 1};
        CHECK(sf_split_stratified(small_label, 10, 2, 0, 0.25, 1, &a, err, sizeof(err)) == 0);
        CHECK_INT(a.n_test, 3);
        CHECK_INT(a.n_val, 0);
        int ones = 0;
        for (size_t i = a.n_train; i < 10; i++) ones += small_label[a.idx[i]];
        CHECK_INT(ones, 1);
        sf_split_free(&a);
        /* no validation, no test: everything trains */
        CHECK(sf_split_stratified(small_label, 10, 2, 0, 0, 1, &a, err, sizeof(err)) == 0);
        CHECK_INT(a.n_train, 10);
        sf_split_free(&a);
        CHECK(sf_split_stratified(small_label, 10, 2, 0.5, 0.5, 1, &a, err, sizeof(err)) == -1);
        CHECK_STR(err, "validation (0.5) and test (0.5) fractions must be in [0, 1) and sum to less than 1");
        CHECK(sf_split_stratified(small_label, 10, 1, 0.1, 0.1, 1, &a, err, sizeof(err)) == -1);
        CHECK_STR(err, "row 7: class 1 out of range [0, 1)");
}

/* ---- the shipped data sets ---- */

static void test_shipped_data_sets(void) {
        static const struct {
                const char *dir, *file;
                size_t rows;
                int inputs, flags, n_classes;
                size_t classes[5];
                size_t missing;
        } sets[] = {
                {"lending_club", "lending_club.csv.gz", 9857, 119, 0, 2, {517, 9340}, 0},
                {"mlc_churn", "mlc_churn.csv.gz", 5000, 73, 0, 2, {4293, 707}, 0},
                {"credit_data", "credit_data.csv.gz", 4454, 29, 3, 2, {1254, 3200}, 455},
                {"penguins", "penguins.csv.gz", 344, 13, 4, 3, {152, 68, 124}, 19},
                {"nsl-kdd", "KDDTrain+.txt.gz", 125973, 122, 0, 5, {67343, 45927, 11656, 995, 52}, 0},
        };
        for (size_t d = 0; d < sizeof(sets) / sizeof(sets[0]); d++) {
                char path[1024], err[512] = "";
                snprintf(path, sizeof(path), "%s/data/%s/%s", rootdir, sets[d].dir, sets[d].file);
                sf_schema_t *s = load_schema(sets[d].dir);
                sf_table_t *t = s ? sf_table_new(s) : NULL;
                sf_encoder_t *enc = NULL;
                if (!t || sf_table_read_csv(t, path, err, sizeof(err)) ||
                    !(enc = sf_encoder_fit(t, err, sizeof(err)))) {
                        CHECK_MSG(0, "%s: %s", sets[d].dir, err);
                } else {
                        CHECK_MSG(t->n_rows == sets[d].rows, "%s: %zu rows", sets[d].dir, t->n_rows);
                        CHECK_MSG(enc->n_inputs == sets[d].inputs, "%s: %d inputs", sets[d].dir,
                                  enc->n_inputs);
                        CHECK_MSG(enc->n_flags == sets[d].flags, "%s: %d flags", sets[d].dir, enc->n_flags);
                        CHECK_INT(s->n_classes, sets[d].n_classes);
                        for (int k = 0; k < s->n_classes && k < 5; k++)
                                CHECK_MSG(t->class_rows[k] == sets[d].classes[k], "%s: class %s %zu",
                                          sets[d].dir, s->classes[k], t->class_rows[k]);
                        size_t missing = 0;
                        for (int i = 0; i < s->n_cols; i++) missing += t->n_missing[i];
                        CHECK_MSG(missing == sets[d].missing, "%s: %zu missing", sets[d].dir, missing);
                }
                /* schema infer gives the shipped schema (all but NSL-KDD, which has no header) */
                if (strcmp(sets[d].dir, "nsl-kdd") != 0) {
                        sf_schema_t *inferred = NULL;
                        const char *label = s ? s->cols[s->label_col].name : "";
                        CHECK_MSG(sf_schema_infer(path, label, s ? s->name : "", &inferred, err,
                                                  sizeof(err)) == 0,
                                  "%s", err);
                        char *a = s ? sf_schema_format(s) : NULL,
                             *b = inferred ? sf_schema_format(inferred) : NULL;
                        CHECK_MSG(a && b && strcmp(a, b) == 0, "%s: inferred schema differs", sets[d].dir);
                        free(a), free(b);
                        sf_schema_destroy(inferred);
                }
                sf_encoder_destroy(enc);
                sf_table_destroy(t);
                sf_schema_destroy(s);
        }
}

static void test_schema_infer(void) {
        sf_schema_t *s = NULL;
        char err[512];
        const char *p = write_text("inf.csv",
                                   "id,score,kind,\"label\"\r\n1,0.5,a,x\n2,,\"b\",y\n3,1e3,,x\n4,2,c,z\n");
        CHECK_MSG(sf_schema_infer(p, NULL, "demo", &s, err, sizeof(err)) == 0, "%s", err);
        if (s) {
                char *text = sf_schema_format(s);
                CHECK_STR(text, "{\n  \"name\": \"demo\",\n  \"header\": true,\n  \"columns\": [\n"
                                "    {\"name\": \"id\", \"type\": \"numeric\"},\n"
                                "    {\"name\": \"score\", \"type\": \"numeric\"},\n"
                                "    {\"name\": \"kind\", \"type\": \"categorical\"},\n"
                                "    {\"name\": \"label\", \"type\": \"label\",\n"
                                "     \"classes\": [\"x\", \"y\", \"z\"]}\n  ]\n}\n");
                free(text);
                sf_schema_destroy(s);
        }
        CHECK(sf_schema_infer(p, "kind", NULL, &s, err, sizeof(err)) == -1);
        char want[1200];
        snprintf(want, sizeof(want), "%s:4:3 (kind): no label (every row needs one)", p);
        CHECK_STR(err, want);
        CHECK(sf_schema_infer(p, "lable", NULL, &s, err, sizeof(err)) == -2);
        snprintf(want, sizeof(want), "%s: no column named 'lable' in the header; did you mean 'label'?", p);
        CHECK_STR(err, want);
        CHECK(sf_schema_infer(p, "score", NULL, &s, err, sizeof(err)) == -1); /* score has a missing value */
        p = write_text("one.csv", "a,b\n1,x\n2,x\n");
        CHECK(sf_schema_infer(p, NULL, NULL, &s, err, sizeof(err)) == -1);
        snprintf(want, sizeof(want),
                 "%s: the label column \"b\" has 1 distinct value (a classifier needs 2 or more)", p);
        CHECK_STR(err, want);
        p = write_text("dup.csv", "a,b,a\n1,2,3\n");
        CHECK(sf_schema_infer(p, NULL, NULL, &s, err, sizeof(err)) == -1);
        snprintf(want, sizeof(want), "%s:1:3: the header names two columns \"a\" (1 and 3)", p);
        CHECK_STR(err, want);
        p = write_text("utf8.csv", "\n\na,b\xff\n1,2\n");
        CHECK(sf_schema_infer(p, NULL, NULL, &s, err, sizeof(err)) == -1);
        snprintf(want, sizeof(want), "%s:3:2: the header gives column 2 a name that is not valid UTF-8", p);
        CHECK_STR(err, want);
        p = write_text("utf8b.csv", "a,b\n1,x\n2,\xc3\n");
        CHECK(sf_schema_infer(p, NULL, NULL, &s, err, sizeof(err)) == -1);
        snprintf(want, sizeof(want), "%s:3:2 (b): a label that is not valid UTF-8", p);
        CHECK_STR(err, want);
        p = write_text("ragged.csv", "a,b\n1,x\n2\n");
        CHECK(sf_schema_infer(p, NULL, NULL, &s, err, sizeof(err)) == -1);
        snprintf(want, sizeof(want), "%s:3:2 (b): 1 field, the header has 2", p);
        CHECK_STR(err, want);
        p = write_text("empty.csv", "");
        CHECK(sf_schema_infer(p, NULL, NULL, &s, err, sizeof(err)) == -1);
        snprintf(want, sizeof(want), "%s: empty file (expected a header row and data)", p);
        CHECK_STR(err, want);
}

int main(void) {
        const char *root = getenv("SF_ROOT");
        const char *tmp = getenv("SF_TMP");
        snprintf(rootdir, sizeof(rootdir), "%s", root ? root : ".");
        if (tmp) {
                snprintf(tmpdir, sizeof(tmpdir), "%s", tmp);
        } else {
                snprintf(tmpdir, sizeof(tmpdir), "/tmp/sf-test-table.XXXXXX");
                if (!mkdtemp(tmpdir)) return 1;
        }
        RUN(test_csv_split);
        RUN(test_csv_malformed);
        RUN(test_csv_record_end);
        RUN(test_csv_reader);
        RUN(test_csv_reader_errors);
        RUN(test_schema_errors);
        RUN(test_schema_nsl_kdd);
        RUN(test_table_read_errors);
        RUN(test_table_read_good);
        RUN(test_csv_text_decode);
        RUN(test_json_records);
        RUN(test_table_read_json);
        RUN(test_encoder_nsl_kdd);
        RUN(test_encoder_missing_unseen);
        RUN(test_encoder_sparse);
        RUN(test_split_stratified);
        RUN(test_shipped_data_sets);
        RUN(test_schema_infer);
        return TEST_DONE();
}
