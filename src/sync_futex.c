/* sync_futex.c - the thin seam between the synchronization objects and the
 * kernel: futex wait (one word, absolute CLOCK_MONOTONIC deadline), wake,
 * futex_waitv (several words), and the clock helpers of the waits.  Every
 * futex here is shared (no FUTEX_PRIVATE_FLAG): the words live in memory
 * that several processes map, and glibc's robust mutexes use shared
 * futexes too, so that our waiters and glibc's queue on the same key. */
#include "sync.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449 /* the same number on every architecture */
#endif

/* The kernel's struct futex_waitv (defined here: older headers lack it). */
struct sync_waitv {
    uint64_t val;
    uint64_t uaddr;
    uint32_t flags;
    uint32_t reserved;
};

#define SYNC_FUTEX2_SIZE_U32 0x02u

/* The kernel's 64-bit timespec (what futex_waitv always takes). */
struct sync_kts {
    int64_t tv_sec;
    int64_t tv_nsec;
};

/* The futex call that takes a struct sync_kts: futex itself where long is
 * 64-bit, futex_time64 on 32-bit systems. */
#if ULONG_MAX > 0xffffffffu
#define SYNC_SYS_FUTEX SYS_futex
#elif defined(SYS_futex_time64)
#define SYNC_SYS_FUTEX SYS_futex_time64
#else
#define SYNC_SYS_FUTEX 422
#endif

/* Converts DEADLINE into *K; NULL stays NULL. */
static const struct sync_kts *kts_from(const struct timespec *deadline, struct sync_kts *k)
{
    if (!deadline)
        return NULL;
    k->tv_sec = (int64_t)deadline->tv_sec;
    k->tv_nsec = (int64_t)deadline->tv_nsec;
    return k;
}

int futex_wait_abs(uint32_t *word, uint32_t val, const struct timespec *deadline)
{
    /* FUTEX_WAIT_BITSET takes an absolute timeout, on CLOCK_MONOTONIC
     * without FUTEX_CLOCK_REALTIME: an interrupted wait resumes with the
     * time left simply by calling again. */
    struct sync_kts k;
    long rc = syscall(SYNC_SYS_FUTEX, word, FUTEX_WAIT_BITSET, val, kts_from(deadline, &k),
                      NULL, FUTEX_BITSET_MATCH_ANY);
    return rc == 0 ? 0 : -errno;
}

void futex_wake(uint32_t *word, int n)
{
    syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

int futex_wait_many(uint32_t *const *words, const uint32_t *vals, size_t n,
                    const struct timespec *deadline)
{
    if (n == 1)
        return futex_wait_abs(words[0], vals[0], deadline);
    struct sync_waitv v[SHMAP_WAIT_MAX];
    for (size_t i = 0; i < n; i++) {
        v[i].val = vals[i];
        v[i].uaddr = (uint64_t)(uintptr_t)words[i];
        v[i].flags = SYNC_FUTEX2_SIZE_U32;
        v[i].reserved = 0;
    }
    struct sync_kts k;
    long rc = syscall(SYS_futex_waitv, v, (unsigned)n, 0u, kts_from(deadline, &k),
                      CLOCK_MONOTONIC);
    return rc >= 0 ? (int)rc : -errno;
}

void deadline_after_ms(uint32_t ms, struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000u);
    ts->tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

bool timespec_valid(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

bool deadline_passed(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* The calling thread's TID, cached: gettid is a system call, and release
 * asks for it every time.  A forked child's thread has a TID of its own. */
static _Thread_local uint32_t self_tid;
static pthread_once_t tid_once = PTHREAD_ONCE_INIT;

static void tid_forget(void)
{
    self_tid = 0;
}

static void tid_register(void)
{
    pthread_atfork(NULL, NULL, tid_forget);
}

uint32_t sync_self_tid(void)
{
    if (self_tid == 0) {
        pthread_once(&tid_once, tid_register);
        self_tid = (uint32_t)gettid();
    }
    return self_tid;
}
