/* The line reader (plain or gzip), reading from an in-memory file. The first
 * byte sets the longest line (1 to 32 bytes, or the default for 128 and
 * up), so the over-long line paths run too. Each line handed back must be
 * a complete line: no NUL or newline in it, within the limit, numbered
 * after the one before. */
#include "harness.h"
#include "util/lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1) return 0;
        size_t max_len = data[0] < 128 ? 1 + data[0] % 32 : 0;
        size_t limit = max_len ? max_len : SF_LINES_MAX;
        char path[64], err[512];
        int fd = fuzz_memfile(data + 1, size - 1, path, sizeof(path));
        sf_lines_t *lr = sf_lines_open(path, max_len, err, sizeof(err));
        FUZZ_CHECK(lr != NULL, "open failed: %s", err);
        uint64_t last = 0;
        for (;;) {
                const char *line = NULL;
                size_t len = 0;
                uint64_t lineno = 0;
                err[0] = '\0';
                sf_lines_status_t st = sf_lines_next(lr, &line, &len, &lineno, err, sizeof(err));
                if (st == SF_LINES_EOF) break;
                /* An error may be about the line just read, or the next. */
                uint64_t least = st == SF_LINES_ERROR ? (last ? last : 1) : last + 1;
                FUZZ_CHECK(lineno >= least, "%s line numbered %llu after line %llu",
                           st == SF_LINES_OK    ? "a"
                           : st == SF_LINES_BAD ? "a bad"
                                                : "an error at a",
                           (unsigned long long)lineno, (unsigned long long)last);
                last = lineno;
                if (st == SF_LINES_OK) {
                        FUZZ_CHECK(len > 0 && len <= limit, "a line of %zu bytes (limit %zu)", len, limit);
                        FUZZ_CHECK(line[len] == '\0', "line not terminated");
                        FUZZ_CHECK(!memchr(line, '\0', len) && !memchr(line, '\n', len),
                                   "NUL or newline in a line");
                        continue;
                }
                FUZZ_CHECK(st == SF_LINES_BAD || st == SF_LINES_ERROR, "status %d", (int)st);
                FUZZ_CHECK(strstr(err, path) != NULL, "the error does not name the file: %s", err);
                if (st == SF_LINES_ERROR) break;
        }
        sf_lines_close(lr);
        close(fd);
        return 0;
}
