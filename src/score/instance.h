/* Who a scorer is, across restarts: the instance id behind its
 * group.instance.id (static membership) and its transactional.id.
 *
 * Unless the user names the instance (--instance-id), it is
 * "<host name>-<slot>", where slot is the lowest number whose lock file
 * (in $TMPDIR, else /tmp) no live scorer of the same group holds:
 * several scorers on one host get distinct ids, and a scorer restarted
 * after a crash takes the slot its dead predecessor let go, so it has its
 * id and fences it at once. The lock is an flock on an open file, so the
 * kernel releases it when the process dies, however it dies. */
#ifndef SF_SCORE_INSTANCE_H
#define SF_SCORE_INSTANCE_H

#include <stddef.h>

/* The longest instance id (without its terminating NUL). */
#define SF_SCORE_INSTANCE_MAX 200

typedef struct sf_score_instance {
        char id[SF_SCORE_INSTANCE_MAX + 1];
        int lock_fd; /* the slot's lock, -1 when none is held */
} sf_score_instance_t;

/* Takes the lowest free slot for group on this host and fills inst->id.
 * Returns 0, or -1 with errstr (no writable lock directory, or 1000 slots
 * taken). The caller releases it with sf_score_instance_release. */
int sf_score_instance_acquire(const char *group, sf_score_instance_t *inst, char *errstr, size_t errstr_size);

/* An instance named by the user (no slot held). Returns 0, or -1 with
 * errstr when name is empty, longer than SF_SCORE_INSTANCE_MAX or holds a
 * space or control character. */
int sf_score_instance_named(const char *name, sf_score_instance_t *inst, char *errstr, size_t errstr_size);

/* Lets the slot go (a no-op for a named instance). */
void sf_score_instance_release(sf_score_instance_t *inst);

#endif
