#include "youtube/quota.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sf_yt_parse_duration(const char *s, double *seconds, char *errstr, size_t errstr_size) {
        char *end = NULL;
        double v = s && *s ? strtod(s, &end) : NAN;
        double mult = 1;
        if (end && end != s) {
                if (strcmp(end, "s") == 0 || *end == '\0')
                        mult = 1;
                else if (strcmp(end, "m") == 0)
                        mult = 60;
                else if (strcmp(end, "h") == 0)
                        mult = 3600;
                else
                        end = NULL;
        }
        if (!end || end == s || !isfinite(v) || v <= 0 || v * mult > 366 * 86400.0) {
                snprintf(errstr, errstr_size,
                         "'%.40s' is not a duration: give seconds (90, 2.5), or a number with s, m or h "
                         "(30s, 5m, 1h), above 0 and at most a year",
                         s ? s : "");
                return -1;
        }
        *seconds = v * mult;
        return 0;
}

double sf_yt_interval_for_quota(long units_per_round, long quota_per_day) {
        if (units_per_round < 1) units_per_round = 1;
        if (quota_per_day < 1) quota_per_day = 1;
        double s = 86400.0 * (double)units_per_round / (double)quota_per_day;
        return s < SF_YT_MIN_INTERVAL_S ? SF_YT_MIN_INTERVAL_S : s;
}

long sf_yt_units_per_day(long units_per_round, double interval_s) {
        if (interval_s <= 0) return 0;
        return (long)ceil(86400.0 / interval_s * (double)units_per_round - 1e-9);
}

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

/* The next local midnight after now in the zone tz, or -1 when the zone
 * is unknown (glibc then falls back to UTC: a Pacific offset tells). */
static time_t next_midnight(time_t now, const char *tz) {
        struct tm tm;
        setenv("TZ", tz, 1);
        tzset();
        if (!localtime_r(&now, &tm)) return -1;
        if (tm.tm_gmtoff != -8 * 3600 && tm.tm_gmtoff != -7 * 3600) return -1;
        tm.tm_mday++;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_isdst = -1; /* midnight never falls in a DST gap in this zone */
        return mktime(&tm);
}

time_t sf_yt_quota_reset(time_t now) {
        pthread_mutex_lock(&tz_lock);
        const char *old = getenv("TZ");
        char *saved = old ? strdup(old) : NULL;
        time_t t = next_midnight(now, "America/Los_Angeles");
        if (t == (time_t)-1) t = next_midnight(now, "PST8PDT,M3.2.0,M11.1.0");
        if (saved) {
                setenv("TZ", saved, 1);
                free(saved);
        } else {
                unsetenv("TZ");
        }
        tzset();
        pthread_mutex_unlock(&tz_lock);
        if (t == (time_t)-1) t = now + 86400; /* cannot happen with the rule string */
        return t;
}
