/* Files written for a test into its temporary directory tmpdir (the test
 * creates it with mkdtemp and removes it). */
#ifndef SF_TESTS_TMPFILE_H
#define SF_TESTS_TMPFILE_H

#include <stdio.h>
#include <string.h>

static char tmpdir[512];

/* tmpdir/name holding data[0..len); its path (static, overwritten by the
 * next call), or NULL when it could not be written. */
static inline const char *write_file(const char *name, const void *data, size_t len) {
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

static inline const char *write_text(const char *name, const char *text) {
        return write_file(name, text, strlen(text));
}

/* tmpdir/name in one of 8 rotating buffers, so a few can be held at once. */
static inline const char *tmp_path(const char *name) {
        static char paths[8][1024];
        static int next;
        char *path = paths[next++ % 8];
        snprintf(path, sizeof(paths[0]), "%s/%s", tmpdir, name);
        return path;
}

#endif
