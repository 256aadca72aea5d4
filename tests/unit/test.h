/* The unit-test harness: each tests/unit/test_<area>.c is one program.
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-6); }
 *   int main(void) { RUN(test_something); return TEST_DONE(); }
 *
 * Every RUN prints "ok - name" or "not ok - name" (after the failed checks,
 * each with file:line), which tests/run counts. A test that needs something
 * absent calls SKIP("why") and returns. TEST_DONE() returns 1 if any failed. */
#ifndef SF_TEST_H
#define SF_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_failed_checks; /* in the current test */
static int test_failed_tests;  /* in this program */
static const char *test_skip_reason;

#define CHECK(cond)                                                                                          \
        do {                                                                                                 \
                if (!(cond)) {                                                                               \
                        test_failed_checks++;                                                                \
                        printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);                  \
                }                                                                                            \
        } while (0)

#define CHECK_MSG(cond, ...)                                                                                 \
        do {                                                                                                 \
                if (!(cond)) {                                                                               \
                        test_failed_checks++;                                                                \
                        printf("#   %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);                  \
                        printf(__VA_ARGS__);                                                                 \
                        printf("\n");                                                                        \
                }                                                                                            \
        } while (0)

#define CHECK_INT(a, b)                                                                                      \
        do {                                                                                                 \
                long long a_ = (long long)(a), b_ = (long long)(b);                                          \
                CHECK_MSG(a_ == b_, "%s = %lld, expected %lld", #a, a_, b_);                                 \
        } while (0)

#define CHECK_STR(a, b)                                                                                      \
        do {                                                                                                 \
                const char *a_ = (a), *b_ = (b);                                                             \
                CHECK_MSG(a_ &&b_ &&strcmp(a_, b_) == 0, "%s = \"%s\", expected \"%s\"", #a,                 \
                          a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                           \
        } while (0)

/* |a - b| <= tol, and never true for a NaN. */
#define CHECK_NEAR(a, b, tol)                                                                                \
        do {                                                                                                 \
                double a_ = (double)(a), b_ = (double)(b);                                                   \
                CHECK_MSG(fabs(a_ - b_) <= (tol), "%s = %.9g, expected %.9g (tol %g)", #a, a_, b_,           \
                          (double)(tol));                                                                    \
        } while (0)

#define SKIP(why)                                                                                            \
        do {                                                                                                 \
                test_skip_reason = (why);                                                                    \
                return;                                                                                      \
        } while (0)

#define RUN(fn)                                                                                              \
        do {                                                                                                 \
                test_failed_checks = 0;                                                                      \
                test_skip_reason = NULL;                                                                     \
                fflush(stdout);                                                                              \
                fn();                                                                                        \
                if (test_skip_reason)                                                                        \
                        printf("skip - %s: %s\n", #fn, test_skip_reason);                                    \
                else if (test_failed_checks)                                                                 \
                        printf("not ok - %s\n", #fn), test_failed_tests++;                                   \
                else                                                                                         \
                        printf("ok - %s\n", #fn);                                                            \
                fflush(stdout);                                                                              \
        } while (0)

#define TEST_DONE() (test_failed_tests ? 1 : 0)

#endif
