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
    long rc = syscall(SYNC_SYS_FUTEX, word, FUTEX_WAIT_BITSET, val, kts_from(deadline, &k), NULL,
                      FUTEX_BITSET_MATCH_ANY);
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
    long rc = syscall(SYS_futex_waitv, v, (unsigned)n, 0u, kts_from(deadline, &k), CLOCK_MONOTONIC);
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

/* ---- Spinning before sleeping ------------------------------------------
 *
 * A thread that sleeps in FUTEX_WAIT needs the kernel to wake it and the
 * scheduler to run it again: a few microseconds on bare metal, 20-30 us on
 * a virtual CPU that its host must first reschedule.  When the other side
 * answers within microseconds (a ping-pong, a short critical section, a
 * producer a step ahead), that latency is the whole cost of a wait; a
 * waiter that polls its word a little before sleeping sees the change in
 * well under a microsecond, and the setter, finding nobody registered as a
 * sleeper, skips FUTEX_WAKE too.
 *
 * The price is CPU: a waiter that ends up sleeping anyway has burnt its
 * spin first.  So the spin is bounded - at most SPIN_MAX_NS of polling per
 * wait call - and adapts per thread to how long its waits turn out:
 *  - a spin that sees the change doubles the thread's budget (up to MAX);
 *  - a spin that ends in a sleep is judged when the wait is over: if the
 *    whole wait took no longer than SPIN_MAX_NS, a full spin would have
 *    caught it, and the budget goes back to MAX; if longer, it halves
 *    (down to SPIN_MIN_NS).
 * So a thread whose waits are long burns about SPIN_MIN_NS per wait, and
 * one answered within SPIN_MAX_NS keeps spinning.  The second rule is what
 * gets two threads out of a slow ping-pong: once both sleep, each answer
 * comes a wake-up latency late, later than a halved spin, and with halving
 * alone both would go on sleeping for ever (measured: 55 us round trips,
 * as without spin).  It is also why MAX is above a virtual CPU's wake-up
 * latency: below, no spin would catch the answer of a thread that first
 * had to be woken, and the pair could not get out either.
 *
 * No spin at all with a single CPU online: the thread we wait for could
 * not run meanwhile.  Callers (sync_wait.c) spin at most once per wait
 * call, before their first sleep, holding nothing (no wait-all
 * reservation, no mutex taken by the round), and only on events and
 * semaphores no other thread sleeps on: a spinner would win every set
 * against such sleepers, which need a wake-up first.  Never on mutexes:
 * see mutex_lock_slow in sync_mutex.c. */

#define SPIN_MAX_NS 50000u /* twice a virtual CPU's wake-up latency */
#define SPIN_MIN_NS 2000u
#define SPIN_CHECK_EVERY 32 /* polls between two looks at the clock */

static int spin_cpus; /* 0: not known yet; 1: one CPU online; 2: more */
static _Thread_local uint32_t spin_budget_ns __attribute__((tls_model("initial-exec")));

static bool spin_allowed(void)
{
    int cpus = __atomic_load_n(&spin_cpus, __ATOMIC_RELAXED);
    if (cpus == 0) {
        cpus = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
        __atomic_store_n(&spin_cpus, cpus, __ATOMIC_RELAXED);
    }
    return cpus == 2;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t spin_budget(void)
{
    return spin_budget_ns ? spin_budget_ns : SPIN_MAX_NS;
}

static bool words_changed(uint32_t *const *words, const uint32_t *vals, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (__atomic_load_n(words[i], __ATOMIC_RELAXED) != vals[i])
            return true;
    return false;
}

bool futex_spin(uint32_t *const *words, const uint32_t *vals, size_t n,
                const struct timespec *deadline, uint64_t *missed)
{
    *missed = 0;
    if (!spin_allowed())
        return false;
    uint32_t budget = spin_budget();
    uint64_t start = mono_ns(), end = start + budget;
    if (deadline) {
        uint64_t d = (uint64_t)deadline->tv_sec * 1000000000u + (uint64_t)deadline->tv_nsec;
        end = d < end ? d : end;
    }
    do {
        for (int i = 0; i < SPIN_CHECK_EVERY; i++) {
            if (words_changed(words, vals, n)) {
                spin_budget_ns = budget < SPIN_MAX_NS / 2 ? budget * 2 : SPIN_MAX_NS;
                return true;
            }
            cpu_relax();
        }
    } while (mono_ns() < end);
    *missed = start;
    return false;
}

void futex_spin_judge(uint64_t missed)
{
    if (missed == 0)
        return;
    uint32_t budget = spin_budget();
    if (mono_ns() - missed <= SPIN_MAX_NS)
        spin_budget_ns = SPIN_MAX_NS;
    else
        spin_budget_ns = budget > 2 * SPIN_MIN_NS ? budget / 2 : SPIN_MIN_NS;
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
