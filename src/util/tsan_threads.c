/* C11 threads for the ThreadSanitizer build (make tsan) only.
 *
 * librdkafka creates its threads and takes its locks with C11 <threads.h>
 * (thrd_create, mtx_lock, cnd_wait, ...). glibc implements those by calling
 * its pthread functions internally, past the interceptors ThreadSanitizer
 * puts on pthread_*, and GCC 12's and Clang 14's TSan runtimes intercept no
 * C11 function. The result: every thread librdkafka starts crashes in TSan's
 * allocator on its first malloc (its thread state was never set up), and
 * none of librdkafka's locks would be seen. Defined here, in the program,
 * these names take precedence over glibc's for every library, and forward
 * to the intercepted pthread functions, exactly as glibc does (its mtx_t,
 * cnd_t, thrd_t and once_flag are the pthread types). Other builds compile
 * nothing from this file.
 *
 * Only third-party code calls these (StreamFlow's own threads are pthreads).
 * TSan sees their synchronisation, but not the bytes of the mutex or
 * condition variable as memory accesses: librdkafka publishes some objects
 * through atomics TSan cannot see, so its mtx_init on one thread and
 * mtx_lock on another would be reported as a race on the mutex itself. */
#if defined(__SANITIZE_THREAD__)
#define SF_TSAN_THREADS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SF_TSAN_THREADS 1
#endif
#endif

#ifdef SF_TSAN_THREADS
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

/* TSan's annotations: the calling thread's memory accesses go unobserved
 * until the matching End; its synchronisation is still recorded. */
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);

static void unobserved_begin(void) {
        AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
        AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
}

static int unobserved_end(int err) {
        AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
        AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
        return err;
}

/* A pthread call on a C11 object, its accesses unobserved. */
#define SYNC(call) (unobserved_begin(), unobserved_end(call))

static int thrd_result(int err) {
        switch (err) {
        case 0:
                return thrd_success;
        case ENOMEM:
                return thrd_nomem;
        case ETIMEDOUT:
                return thrd_timedout;
        case EBUSY:
                return thrd_busy;
        default:
                return thrd_error;
        }
}

typedef struct start {
        thrd_start_t fn;
        void *arg;
} start_t;

static void *start_thread(void *p) {
        start_t s = *(start_t *)p;
        free(p);
        return (void *)(intptr_t)s.fn(s.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t fn, void *arg) {
        start_t *s = malloc(sizeof(*s));
        if (!s) return thrd_nomem;
        s->fn = fn;
        s->arg = arg;
        int err = pthread_create((pthread_t *)thr, NULL, start_thread, s);
        if (err) free(s);
        return thrd_result(err);
}

int thrd_join(thrd_t thr, int *res) {
        void *ret = NULL;
        int err = pthread_join((pthread_t)thr, &ret);
        if (!err && res) *res = (int)(intptr_t)ret;
        return thrd_result(err);
}

int thrd_detach(thrd_t thr) {
        return thrd_result(pthread_detach((pthread_t)thr));
}

int mtx_init(mtx_t *m, int type) {
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
        int err = SYNC(pthread_mutex_init((pthread_mutex_t *)m, &attr));
        pthread_mutexattr_destroy(&attr);
        return thrd_result(err);
}

int mtx_lock(mtx_t *m) {
        return thrd_result(SYNC(pthread_mutex_lock((pthread_mutex_t *)m)));
}

int mtx_trylock(mtx_t *m) {
        return thrd_result(SYNC(pthread_mutex_trylock((pthread_mutex_t *)m)));
}

int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict until) {
        return thrd_result(SYNC(pthread_mutex_timedlock((pthread_mutex_t *)m, until)));
}

int mtx_unlock(mtx_t *m) {
        return thrd_result(SYNC(pthread_mutex_unlock((pthread_mutex_t *)m)));
}

void mtx_destroy(mtx_t *m) {
        SYNC(pthread_mutex_destroy((pthread_mutex_t *)m));
}

int cnd_init(cnd_t *c) {
        return thrd_result(SYNC(pthread_cond_init((pthread_cond_t *)c, NULL)));
}

int cnd_signal(cnd_t *c) {
        return thrd_result(SYNC(pthread_cond_signal((pthread_cond_t *)c)));
}

int cnd_broadcast(cnd_t *c) {
        return thrd_result(SYNC(pthread_cond_broadcast((pthread_cond_t *)c)));
}

int cnd_wait(cnd_t *c, mtx_t *m) {
        return thrd_result(SYNC(pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m)));
}

int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict until) {
        return thrd_result(SYNC(pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, until)));
}

void cnd_destroy(cnd_t *c) {
        SYNC(pthread_cond_destroy((pthread_cond_t *)c));
}

void call_once(once_flag *flag, void (*fn)(void)) {
        pthread_once((pthread_once_t *)flag, fn);
}
#else
/* ISO C wants at least one declaration in a file. */
typedef int sf_tsan_threads_unused_t;
#endif
