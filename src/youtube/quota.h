/* The arithmetic of `streamflow yt-produce --follow`: durations given on
 * the command line, the polling interval that keeps a round's cost within
 * a daily quota, and when the YouTube Data API's daily quota resets
 * (midnight Pacific time). Pure functions, no I/O. */
#ifndef SF_YOUTUBE_QUOTA_H
#define SF_YOUTUBE_QUOTA_H

#include <stddef.h>
#include <time.h>

/* The API's default daily quota, in units. */
#define SF_YT_DEFAULT_QUOTA 10000L
/* No follow round starts sooner than this after the previous one. */
#define SF_YT_MIN_INTERVAL_S 1.0

/* Parses "30s", "5m", "1h" or plain seconds ("90", "2.5") into *seconds.
 * Rejects negatives, zero, non-finite values, other units and anything
 * above a year. Returns 0, or -1 with errstr set. */
int sf_yt_parse_duration(const char *s, double *seconds, char *errstr, size_t errstr_size);

/* Seconds between round starts so that rounds of units_per_round units
 * each stay within quota_per_day: 86400 * units / quota, at least
 * SF_YT_MIN_INTERVAL_S. units_per_round < 1 counts as 1; quota < 1 as 1. */
double sf_yt_interval_for_quota(long units_per_round, long quota_per_day);

/* Units a day that one round of units_per_round every interval_s seconds
 * spends (rounded up). */
long sf_yt_units_per_day(long units_per_round, double interval_s);

/* The first midnight in America/Los_Angeles strictly after now, when the
 * daily quota resets. Uses the tz database, or the US rule (PST8PDT,
 * second Sunday of March to first Sunday of November) when the zone file
 * is missing. Thread-safe with respect to other calls of itself only: it
 * sets TZ for the duration of the call. */
time_t sf_yt_quota_reset(time_t now);

#endif
