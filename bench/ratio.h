/* The machine-readable line a benchmark adds for the summary table that
 * bench/run prints at the end of `make bench`: one ratio of StreamFlow to an
 * anchor measured side by side in the same run, with its target.
 *
 *   RATIO<TAB>NAME<TAB>STREAMFLOW<TAB>ANCHOR<TAB>RATIO<TAB>TARGET
 *
 * NAME is one word; STREAMFLOW and ANCHOR are figures with their units
 * ("4.73 M records/s"); RATIO is a number, or "-" when the anchor could not
 * run, ANCHOR then saying why; TARGET is the least RATIO that meets the
 * target. The line is appended to the file $SF_BENCH_RATIOS when that is
 * set (bench/run sets it), and printed on stdout otherwise.
 * bench/bench_stream.sh writes the same lines. */
#ifndef SF_BENCH_RATIO_H
#define SF_BENCH_RATIO_H

#include <stdio.h>
#include <stdlib.h>

/* ratio < 0: the anchor did not run, and anchor says why. */
static inline void bench_ratio(const char *name, const char *streamflow, const char *anchor, double ratio,
                               double target) {
        const char *path = getenv("SF_BENCH_RATIOS");
        FILE *fp = path && *path ? fopen(path, "a") : stdout;
        if (!fp) {
                fprintf(stderr, "bench: cannot append to %s (SF_BENCH_RATIOS)\n", path);
                return;
        }
        char r[32] = "-";
        if (ratio >= 0) snprintf(r, sizeof(r), "%.2f", ratio);
        fprintf(fp, "RATIO\t%s\t%s\t%s\t%s\t%g\n", name, streamflow, anchor, r, target);
        if (fp != stdout)
                fclose(fp);
        else
                fflush(stdout);
}

#endif
