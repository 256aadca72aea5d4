/* The Prometheus text exposition format (version 0.0.4), written by hand:
 * there is no packaged C client. A page is built in a growable buffer:
 *
 *   sf_expo_t e;
 *   sf_expo_init(&e);
 *   sf_expo_family(&e, "streamflow_records_total", "counter", "Input records consumed.");
 *   sf_expo_u64(&e, "streamflow_records_total", NULL, n);
 *   ... e.buf (NUL-terminated, e.len bytes) unless e.oom ...
 *   sf_expo_free(&e);
 *
 * Labels are a NULL-terminated array of name, value pairs:
 *   const char *labels[] = {"class", "DoS", NULL};
 * Label values are escaped (backslash, double quote, line feed); names are
 * the caller's constants and must match [a-zA-Z_][a-zA-Z0-9_]*. */
#ifndef SF_SERVICE_EXPO_H
#define SF_SERVICE_EXPO_H

#include <stddef.h>
#include <stdint.h>

#define SF_EXPO_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct sf_expo {
        char *buf; /* the page so far, NUL-terminated (NULL before the first write) */
        size_t len, cap;
        int oom; /* an allocation failed: the page is incomplete */
} sf_expo_t;

void sf_expo_init(sf_expo_t *e);
void sf_expo_free(sf_expo_t *e);

/* Appends printf-style text as is. */
void sf_expo_printf(sf_expo_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends a label value (or HELP text when help is 1) escaped: backslash
 * as \\, line feed as \n, and (label values only) double quote as \". */
void sf_expo_escape(sf_expo_t *e, const char *s, int help);

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram,
 * summary, untyped). */
void sf_expo_family(sf_expo_t *e, const char *name, const char *type, const char *help);

/* One sample line: name{labels} value. A double is written with up to 15
 * significant digits, +Inf, -Inf or NaN; sf_expo_u64 writes an exact
 * integer (counters). */
void sf_expo_double(sf_expo_t *e, const char *name, const char *const *labels, double value);
void sf_expo_u64(sf_expo_t *e, const char *name, const char *const *labels, uint64_t value);

/* A histogram with fixed upper bounds (in the metric's unit, increasing):
 * counts[i] holds the observations in (bounds[i-1], bounds[i]], counts[n]
 * those above the last bound. */
#define SF_EXPO_MAX_BOUNDS 24
typedef struct sf_expo_hist {
        const double *bounds; /* (n) static storage */
        int n;
        uint64_t counts[SF_EXPO_MAX_BOUNDS + 1];
        double sum;
} sf_expo_hist_t;

/* Empties h over bounds (n at most SF_EXPO_MAX_BOUNDS, increasing; kept by
 * reference). */
void sf_expo_hist_init(sf_expo_hist_t *h, const double *bounds, int n);

/* Counts one observation (a NaN is ignored). */
void sf_expo_hist_observe(sf_expo_hist_t *h, double v);

/* The family's samples: name_bucket{labels,le="b"} with cumulative counts,
 * le="+Inf" equal to name_count, then name_sum and name_count. The caller
 * writes the family line (type histogram) first. */
void sf_expo_hist(sf_expo_t *e, const char *name, const char *const *labels, const sf_expo_hist_t *h);

#endif
