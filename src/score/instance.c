#include "score/instance.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SLOTS 1000

int sf_score_instance_named(const char *name, sf_score_instance_t *inst, char *errstr, size_t errstr_size) {
        size_t n = strlen(name);
        inst->id[0] = '\0';
        inst->lock_fd = -1;
        if (n == 0 || n > SF_SCORE_INSTANCE_MAX) {
                snprintf(errstr, errstr_size, "instance id must be 1 to %d characters",
                         SF_SCORE_INSTANCE_MAX);
                return -1;
        }
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)name[i] <= ' ' || name[i] == 0x7f) {
                        snprintf(errstr, errstr_size,
                                 "instance id '%s': no spaces or control characters allowed", name);
                        return -1;
                }
        memcpy(inst->id, name, n + 1);
        return 0;
}

/* The group as a file-name part: anything but [A-Za-z0-9._-] becomes '_'. */
static void file_part(const char *in, char *out, size_t out_size) {
        size_t j = 0;
        for (; *in && j + 1 < out_size; in++) {
                char ch = *in;
                int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                         ch == '.' || ch == '_' || ch == '-';
                out[j++] = ok ? ch : '_';
        }
        out[j] = '\0';
}

/* Opens (creating it if need be) a lock file every user can lock: flock
 * needs only a read descriptor, and an existing file is opened without
 * O_CREAT, which a sticky directory refuses on another user's file
 * (fs.protected_regular). Returns the descriptor or -1 with errno. */
static int open_lock_file(const char *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT) return fd;
        fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
                fchmod(fd, 0644); /* whatever the umask: other users' scorers share the slots */
                return fd;
        }
        if (errno == EEXIST) return open(path, O_RDONLY | O_CLOEXEC); /* created meanwhile */
        return -1;
}

int sf_score_instance_acquire(const char *group, sf_score_instance_t *inst, char *errstr,
                              size_t errstr_size) {
        char host[128] = "", g[128], path[512];
        const char *dir = getenv("TMPDIR");
        inst->id[0] = '\0';
        inst->lock_fd = -1;
        if (!dir || !*dir) dir = "/tmp";
        if (gethostname(host, sizeof(host) - 1) != 0 || !host[0]) snprintf(host, sizeof(host), "localhost");
        file_part(group, g, sizeof(g));
        for (int slot = 0; slot < MAX_SLOTS; slot++) {
                snprintf(path, sizeof(path), "%s/streamflow-score-%s-%d.lock", dir, g, slot);
                int fd = open_lock_file(path);
                if (fd < 0) {
                        snprintf(errstr, errstr_size,
                                 "cannot open %s to choose an instance id (%s): set $TMPDIR to a writable "
                                 "directory or give --instance-id",
                                 path, strerror(errno));
                        return -1;
                }
                if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
                        inst->lock_fd = fd;
                        snprintf(inst->id, sizeof(inst->id), "%s-%d", host, slot);
                        return 0;
                }
                int e = errno;
                close(fd);
                if (e != EWOULDBLOCK) {
                        snprintf(errstr, errstr_size, "cannot lock %s (%s): give --instance-id", path,
                                 strerror(e));
                        return -1;
                }
        }
        snprintf(errstr, errstr_size, "%d scorers of group '%s' already run on this host: give --instance-id",
                 MAX_SLOTS, group);
        return -1;
}

void sf_score_instance_release(sf_score_instance_t *inst) {
        if (inst->lock_fd >= 0) close(inst->lock_fd);
        inst->lock_fd = -1;
}
