/* Small helpers shared by every area: edit distance for "did you mean",
 * clocks, and locating the data that ships with StreamFlow. */
#ifndef SF_UTIL_H
#define SF_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define SF_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Levenshtein distance between a and b (ASCII, case-sensitive). */
int sf_edit_distance(const char *a, const char *b);

/* Returns the candidate closest to `name` when it is close enough to be a
 * plausible typo (distance <= 2, or a unique prefix), else NULL. The result
 * points into candidates. */
const char *sf_suggest(const char *name, const char *const *candidates, size_t n);

/* sf_suggest, but a candidate equal to name but for letter case comes
 * first ("dos" -> "DoS", "r2l" -> "R2L": names whose case is easy to miss). */
const char *sf_suggest_icase(const char *name, const char *const *candidates, size_t n);

/* Monotonic clock in nanoseconds / seconds. */
int64_t sf_now_ns(void);
double sf_now_s(void);

/* Writes a printf-style message into errstr (errstr_size bytes, always
 * NUL-terminated; nothing when errstr is NULL or errstr_size 0): the one
 * way library code fills its caller's error buffer. */
void sf_seterr(char *errstr, size_t errstr_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Wall clock in milliseconds since the epoch. */
int64_t sf_wall_ms(void);

/* The directory holding the NSL-KDD files that ship with StreamFlow:
 * $STREAMFLOW_DATA if set, else data/nsl-kdd next to the source tree the
 * binary was built in (found from /proc/self/exe) or PREFIX/share/streamflow/nsl-kdd beside an
 * installed PREFIX/bin/streamflow, else ./data/nsl-kdd,
 * else the installed PREFIX/share/streamflow/nsl-kdd. Writes into buf and
 * returns it; never NULL (falls back to "data/nsl-kdd"). */
const char *sf_default_data_dir(char *buf, size_t size);

/* DIR/NAME or, failing that, DIR/NAME.gz (NAME like "KDDTrain+.txt") into
 * path. Returns 0, or -1 with errstr naming both paths tried. */
int sf_find_data_file(const char *dir, const char *name, char *path, size_t path_size, char *errstr,
                      size_t errstr_size);

#endif
