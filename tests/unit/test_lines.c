/* The text input layer under every reader: the line reader (src/util/lines.c:
 * plain, gzip, stdin, live pipes, over-long and binary lines, corrupt gzip)
 * and the UTF-8 validator (src/util/utf8.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "test.h"
#include "tmpfile.h"
#include "utf8_cases.h"
#include "util/lines.h"
#include "util/utf8.h"

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

/* The line reader: numbering, CRLF, empty lines, an over-long line, NUL
 * bytes, a last line without newline. */
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
        CHECK_MSG(strstr(err, ":7: a NUL byte (byte 3 of the line)") != NULL, "%s", err);
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

/* A UTF-8 byte order mark before the first line is not data (peek and
 * next alike); the same bytes anywhere else are, and a file of nothing but
 * a mark has no line. */
static void test_lines_bom(void) {
        char err[512];
        const char *line;
        size_t len;
        uint64_t no;
        const char *path = write_file("bom.txt", "\xef\xbb\xbf{\"a\"\n\xef\xbb\xbfx\n", 12);
        sf_lines_t *lr = path ? sf_lines_open(path, 0, err, sizeof(err)) : NULL;
        CHECK_MSG(lr != NULL, "%s", err);
        if (!lr) return;
        CHECK_INT(sf_lines_peek(lr, err, sizeof(err)), '{');
        CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_OK);
        CHECK_STR(line, "{\"a\"");
        CHECK_INT(no, 1);
        CHECK_INT(sf_lines_next(lr, &line, &len, &no, err, sizeof(err)), SF_LINES_OK);
        CHECK_STR(line, "\xef\xbb\xbfx");
        sf_lines_close(lr);
        path = write_file("bom_only.txt", "\xef\xbb\xbf", 3);
        lr = path ? sf_lines_open(path, 0, err, sizeof(err)) : NULL;
        CHECK(lr != NULL);
        if (!lr) return;
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

int main(void) {
        const char *tmp = getenv("SF_TMP");
        if (tmp) {
                snprintf(tmpdir, sizeof(tmpdir), "%s", tmp);
        } else {
                snprintf(tmpdir, sizeof(tmpdir), "/tmp/sf-test-lines.XXXXXX");
                if (!mkdtemp(tmpdir)) return 1;
        }
        RUN(test_utf8_validator);
        RUN(test_lines_reader);
        RUN(test_lines_bom);
        RUN(test_lines_gzip_and_stdin);
        RUN(test_lines_live_pipe);
        RUN(test_lines_gzip_members_and_corruption);
        RUN(test_lines_error_lineno);
        RUN(test_lines_errors);
        return TEST_DONE();
}
