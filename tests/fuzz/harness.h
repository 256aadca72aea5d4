/* Helpers shared by the libFuzzer targets in tests/fuzz/: a check that
 * aborts (so libFuzzer saves the input), a NUL-terminated copy of the input,
 * and an in-memory file for parsers that only read from a path. */
#ifndef SF_FUZZ_HARNESS_H
#define SF_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property that must hold: on failure, say which and abort. */
#define FUZZ_CHECK(cond, ...)                                                                                \
        do {                                                                                                 \
                if (!(cond)) {                                                                               \
                        fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);             \
                        fprintf(stderr, __VA_ARGS__);                                                        \
                        fputc('\n', stderr);                                                                 \
                        abort();                                                                             \
                }                                                                                            \
        } while (0)

/* A heap copy of data[0..size) with a NUL after it (the caller frees). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        if (!s) abort();
        if (size) memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* Writes data to a new memory file and puts a path that opens it
 * ("/proc/self/fd/N") in path. Returns the descriptor; close it after use. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t path_size) {
        int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
        if (fd < 0) abort();
        size_t done = 0;
        while (done < size) {
                ssize_t n = write(fd, data + done, size - done);
                if (n <= 0) abort();
                done += (size_t)n;
        }
        snprintf(path, path_size, "/proc/self/fd/%d", fd);
        return fd;
}

#endif
