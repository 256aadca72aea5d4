/* The arithmetic of yt-produce --follow: durations, the interval that
 * keeps within a daily quota, and the quota reset at midnight Pacific time
 * across both DST changes. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "youtube/quota.h"

static time_t utc(int y, int mon, int d, int h, int mi) {
        struct tm tm = {.tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
        return timegm(&tm);
}

static void test_durations(void) {
        char err[256];
        double s = 0;
        CHECK(sf_yt_parse_duration("30s", &s, err, sizeof(err)) == 0 && s == 30);
        CHECK(sf_yt_parse_duration("5m", &s, err, sizeof(err)) == 0 && s == 300);
        CHECK(sf_yt_parse_duration("1h", &s, err, sizeof(err)) == 0 && s == 3600);
        CHECK(sf_yt_parse_duration("90", &s, err, sizeof(err)) == 0 && s == 90);
        CHECK(sf_yt_parse_duration("2.5", &s, err, sizeof(err)) == 0 && s == 2.5);
        static const char *const bad[] = {"", "0", "-5", "5x", "5 m", "m", "nan", "inf", "1e9", "5ms", "1hh"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                s = -1;
                CHECK_MSG(sf_yt_parse_duration(bad[i], &s, err, sizeof(err)) == -1 && s == -1, "'%s'",
                          bad[i]);
        }
        CHECK(strstr(err, "not a duration") != NULL);
}

static void test_interval(void) {
        /* 3 videos of one comment page each: 1 + 3 units a round. */
        CHECK_NEAR(sf_yt_interval_for_quota(4, 10000), 34.56, 1e-9);
        CHECK_NEAR(sf_yt_interval_for_quota(1, 10000), 8.64, 1e-9);
        CHECK_NEAR(sf_yt_interval_for_quota(250, 10000), 2160, 1e-9);
        /* a huge quota: the floor */
        CHECK_NEAR(sf_yt_interval_for_quota(4, 100000000), SF_YT_MIN_INTERVAL_S, 1e-12);
        CHECK_NEAR(sf_yt_interval_for_quota(0, 86400), 1.0, 1e-12);
        /* the interval it gives spends at most the quota */
        for (long u = 1; u < 300; u += 7)
                CHECK(sf_yt_units_per_day(u, sf_yt_interval_for_quota(u, 10000)) <= 10000);
        CHECK_INT(sf_yt_units_per_day(4, 5), 69120);
        CHECK_INT(sf_yt_units_per_day(4, 34.56), 10000);
}

static void test_quota_reset(void) {
        setenv("TZ", "Europe/Paris", 1);
        tzset();
        /* winter: midnight PST is 08:00 UTC */
        CHECK_INT(sf_yt_quota_reset(utc(2026, 1, 15, 12, 0)), utc(2026, 1, 16, 8, 0));
        CHECK_INT(sf_yt_quota_reset(utc(2026, 1, 16, 7, 59)), utc(2026, 1, 16, 8, 0));
        /* exactly at midnight: the next one */
        CHECK_INT(sf_yt_quota_reset(utc(2026, 1, 16, 8, 0)), utc(2026, 1, 17, 8, 0));
        /* summer: midnight PDT is 07:00 UTC */
        CHECK_INT(sf_yt_quota_reset(utc(2026, 7, 4, 6, 59)), utc(2026, 7, 4, 7, 0));
        /* spring forward on Sunday 8 March 2026: the day before it ends at
         * 08:00 UTC; the short day (23 h) ends at 07:00 UTC */
        CHECK_INT(sf_yt_quota_reset(utc(2026, 3, 8, 6, 0)), utc(2026, 3, 8, 8, 0));
        CHECK_INT(sf_yt_quota_reset(utc(2026, 3, 8, 9, 0)), utc(2026, 3, 9, 7, 0));
        CHECK_INT(sf_yt_quota_reset(utc(2026, 3, 8, 11, 0)), utc(2026, 3, 9, 7, 0));
        /* fall back on Sunday 1 November 2026: the long day (25 h) */
        CHECK_INT(sf_yt_quota_reset(utc(2026, 10, 31, 12, 0)), utc(2026, 11, 1, 7, 0));
        CHECK_INT(sf_yt_quota_reset(utc(2026, 11, 1, 8, 30)), utc(2026, 11, 2, 8, 0)); /* 01:30 PDT */
        CHECK_INT(sf_yt_quota_reset(utc(2026, 11, 1, 9, 30)), utc(2026, 11, 2, 8, 0)); /* 01:30 PST */
        /* New Year across the date line of the year */
        CHECK_INT(sf_yt_quota_reset(utc(2027, 1, 1, 3, 0)), utc(2027, 1, 1, 8, 0));
        /* the caller's TZ is left as it was */
        CHECK(getenv("TZ") && strcmp(getenv("TZ"), "Europe/Paris") == 0);
        unsetenv("TZ");
        tzset();
        CHECK_INT(sf_yt_quota_reset(utc(2026, 7, 4, 6, 59)), utc(2026, 7, 4, 7, 0));
        CHECK(getenv("TZ") == NULL);
}

int main(void) {
        RUN(test_durations);
        RUN(test_interval);
        RUN(test_quota_reset);
        return TEST_DONE();
}
