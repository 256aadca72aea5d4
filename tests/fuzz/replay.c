/* A main for a libFuzzer target that runs it once on each file named, in
 * order, the way `fuzz_X FILE...` does, without libFuzzer: make test links
 * each target with it against the ASan/UBSan build (no clang needed), and
 * tests/cli/test_fuzz_regress.sh replays the stored inputs through it.
 *
 *   build/asan/fuzz-replay/fuzz_table_row tests/fuzz/corpus/table_row/...
 *
 * Exit 0 when every input ran; a crash or a failed FUZZ_CHECK aborts (the
 * sanitizer's report names the input through the "Running:" line before
 * it), an unreadable file exits 1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay(const char *path) {
        FILE *f = fopen(path, "rb");
        if (!f) {
                perror(path);
                return -1;
        }
        size_t cap = 4096, len = 0;
        uint8_t *buf = malloc(cap);
        size_t n;
        while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
                len += n;
                if (len == cap) {
                        uint8_t *nb = realloc(buf, cap *= 2);
                        if (!nb) free(buf);
                        buf = nb;
                }
        }
        int bad = !buf || ferror(f);
        fclose(f);
        if (bad) {
                fprintf(stderr, "%s: cannot read it (or out of memory)\n", path);
                free(buf);
                return -1;
        }
        fprintf(stderr, "Running: %s\n", path);
        /* Exactly len bytes (ASan tracks the size asked for): a read past
         * the input is reported. */
        uint8_t *input = realloc(buf, len ? len : 1);
        if (!input) {
                free(buf);
                return -1;
        }
        LLVMFuzzerTestOneInput(input, len);
        free(input);
        return 0;
}

int main(int argc, char **argv) {
        if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
        int rc = 0;
        for (int i = 1; i < argc; i++)
                if (replay(argv[i]) != 0) rc = 1;
        fprintf(stderr, "replayed %d input(s)\n", argc - 1);
        return rc;
}
