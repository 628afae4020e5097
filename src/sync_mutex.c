/* sync_mutex.c - the mutex: a glibc robust, process-shared, recursive
 * pthread mutex in the object's state, so that the kernel's robust-futex
 * list (which glibc keeps per thread) marks it the moment its owner thread
 * or process dies, and the next locker gets EOWNERDEAD, which we report as
 * SHMAP_ABANDONED after making the mutex consistent again.
 *
 * Besides glibc's own lock and unlock, the multi-object waits (sync_wait.c)
 * sleep on the mutex's lock word - the first int of glibc's pthread_mutex_t
 * - exactly as glibc's waiters do: they set FUTEX_WAITERS on it with a CAS
 * before sleeping, so that the owner's unlock wakes one sleeper.  Such a
 * wake may reach a waiter that does not then take the mutex (it takes
 * another object instead, or still misses one for a wait-all): that waiter
 * passes the wake on (mutex_after_wake), so no glibc waiter sleeps on a
 * mutex nobody will unlock.  A waiter that takes the mutex after sleeping
 * keeps FUTEX_WAITERS set, as glibc does, so that its unlock wakes the
 * others.
 *
 * The abandoned flag next to the mutex keeps an abandonment that a
 * wait-all took and then had to give back (see mutex_undo): the next
 * acquirer reports it instead.
 *
 * Lock and unlock without timeout are on the fast path (shmap_wait's
 * mutex_take in sync.h, shmap_mutex_release here): meant to cost little
 * more than glibc's robust lock and unlock, they make only the checks
 * that keep a garbled state from crashing us (see below); anything
 * unexpected goes to the slow paths, which check the rest. */
#include "sync.h"

#include <linux/futex.h>
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHMAP_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define SHMAP_TSAN 1
#endif
#ifdef SHMAP_TSAN
#include <sanitizer/tsan_interface.h>
#endif
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Identifies the pthread_mutex_t layout of the process that made a mutex:
 * processes of another ABI must not touch it. */
#define MUTEX_ABI (0x47000000u | (uint32_t)sizeof(void *) << 8 | (uint32_t)sizeof(pthread_mutex_t))

_Static_assert(sizeof(pthread_mutex_t) <= 64, "the mutex fits its slot");

static pthread_once_t kind_once = PTHREAD_ONCE_INIT;
static int kind_expected = -1; /* glibc's __kind of our mutexes; -1: unknown */

static int mutex_attr_make(pthread_mutexattr_t *a)
{
    if (pthread_mutexattr_init(a) != 0)
        return SHMAP_EIO;
    if (pthread_mutexattr_settype(a, PTHREAD_MUTEX_RECURSIVE) != 0 ||
        pthread_mutexattr_setpshared(a, PTHREAD_PROCESS_SHARED) != 0 ||
        pthread_mutexattr_setrobust(a, PTHREAD_MUTEX_ROBUST) != 0) {
        pthread_mutexattr_destroy(a);
        return SHMAP_ENOTSUP;
    }
    return 0;
}

static void kind_probe(void)
{
    pthread_mutexattr_t a;
    pthread_mutex_t m;
    if (mutex_attr_make(&a) != 0)
        return;
    if (pthread_mutex_init(&m, &a) == 0) {
        kind_expected = m.__data.__kind;
        pthread_mutex_destroy(&m);
    }
    pthread_mutexattr_destroy(&a);
}

int mutex_kind(void)
{
    pthread_once(&kind_once, kind_probe);
    return kind_expected;
}

int mutex_state_init(struct sync_state *st)
{
    pthread_mutexattr_t a;
    if (mutex_kind() == -1) /* a handle could not check it: none */
        return SHMAP_ENOTSUP;
    int rc = mutex_attr_make(&a);
    if (rc < 0)
        return rc;
    st->u.mutex.abi = MUTEX_ABI;
    st->u.mutex.abandoned = 0;
    rc = pthread_mutex_init(&st->mx.m, &a) == 0 ? 0 : SHMAP_ENOTSUP;
    pthread_mutexattr_destroy(&a);
    return rc;
}

void mutex_template_destroy(struct sync_state *st)
{
    pthread_mutex_destroy(&st->mx.m);
}

int mutex_state_check(const struct sync_state *st)
{
    int kind = mutex_kind();
    if (kind == -1 || st->u.mutex.abi != MUTEX_ABI)
        return SHMAP_ENOTSUP;
    if (__atomic_load_n(&st->u.mutex.abandoned, __ATOMIC_RELAXED) > 1 ||
        st->mx.m.__data.__kind != kind)
        return SHMAP_ECORRUPT;
    return 0;
}

/* What keeps a garbled mutex from crashing us.  The state lives in memory
 * every user of the object may write, and may change between any two of
 * our calls.  Handing glibc a pthread_mutex_t of another kind is what
 * would hurt most: the kind selects glibc's code, and its priority-
 * inheritance code, run on our lock word, can assert (abort) or block the
 * thread for ever in a futex call (an "owner" that is no thread).  So
 * every call into glibc comes right after kind_ok (sync.h): the kind
 * compared with the one the handle recorded when it checked the state at
 * open: one load and a compare, so the fast paths can afford it on every
 * call (rather than trusting the check at open).  The rest of the state
 * garbled gives errors, not crashes: a wrong lock word only delays or
 * times out a wait (a writer could as well hold the mutex), a huge count
 * gives EAGAIN (SHMAP_ERANGE), a bad __owner EPERM or ENOTRECOVERABLE
 * (SHMAP_ENOTOWNER, SHMAP_ECORRUPT).  glibc's unlock writes through the
 * robust-list links in the state: release checks them first (the back link
 * exactly when the mutex is the last one we locked, see mutex_links_sound;
 * otherwise, and for the forward link, only that they are not NULL).
 * Limits: a writer that changes the kind in the few instructions between
 * our check and glibc's own read is not caught, nor one that points the
 * forward link (or, when the mutex is not the last locked, the back link)
 * elsewhere while we own the mutex: glibc writes there, as with any
 * robust pthread mutex in shared memory. */
static bool mutex_sane(const struct sync_state *st)
{
    return kind_ok(st, mutex_kind());
}

uint32_t *mutex_word(struct sync_state *st)
{
    return (uint32_t *)&st->mx.m.__data.__lock;
}

/* Maps what a pthread_mutex_* call returned (other than 0/EOWNERDEAD). */
static int mutex_error(int rc)
{
    switch (rc) {
    case EBUSY:
    case ETIMEDOUT:
        return SHMAP_ETIMEDOUT;
    case EAGAIN:
        return SHMAP_ERANGE; /* recursion count would overflow */
    case EPERM:
        return SHMAP_ENOTOWNER;
    case ENOTRECOVERABLE:
    case EINVAL:
        return SHMAP_ECORRUPT;
    default:
        return SHMAP_EIO;
    }
}

/* After a lock call returned RC: 0 or SHMAP_ABANDONED if we own the mutex
 * now (consistent again), else an error. */
static int mutex_acquired(struct sync_state *st, int rc)
{
    pthread_mutex_t *m = &st->mx.m;
    if (rc == EOWNERDEAD) {
        pthread_mutex_consistent(m);
        __atomic_store_n(&st->u.mutex.abandoned, 0, __ATOMIC_RELAXED);
        return SHMAP_ABANDONED;
    }
    if (rc != 0)
        return mutex_error(rc);
    /* First acquisition after a wait-all gave back an abandoned mutex. */
    if (m->__data.__count == 1 && __atomic_load_n(&st->u.mutex.abandoned, __ATOMIC_RELAXED) &&
        __atomic_exchange_n(&st->u.mutex.abandoned, 0, __ATOMIC_ACQ_REL))
        return SHMAP_ABANDONED;
    return 0;
}

/* The lock of a wait without timeout, after a try found the mutex busy:
 * glibc's robust lock, which sleeps.  No spin first (see futex_spin): a
 * waiter polling the lock word of a busy mutex takes its cache line from
 * the owner at each unlock and lock: two processes contending for one
 * mutex (bench scenario 4) made about a quarter fewer acquisitions per
 * second with a spin than without. */
static int mutex_lock_slow(struct sync_state *st, int kind)
{
    if (!kind_ok(st, kind))
        return SHMAP_ECORRUPT;
    return mutex_acquired(st, pthread_mutex_lock(&st->mx.m));
}

/* A timed wait on one mutex is glibc's robust timed lock, not a wait of
 * our own on the lock word.  glibc marks the mutex as the thread's pending
 * robust operation while it waits and takes it, and when a thread dies in
 * the middle of one the kernel passes its wake on to another waiter.  A
 * waiter of our own killed between its wake and its trylock would lose
 * that one wake, and glibc's sleepers on the mutex would sleep on (the
 * kill storm test found it).  The deadline is on CLOCK_MONOTONIC and glibc
 * takes CLOCK_REALTIME here (the call thread checkers know): a step of the
 * clock during the wait moves its end by as much. */
/* mutex_acquired after glibc's timed lock.  ThreadSanitizer sees the
 * mutex taken when that returns 0, but not when it returns EOWNERDEAD
 * (its lock and trylock interceptors know that case, this one does not):
 * it would then report our release as the unlock of an unlocked mutex.
 * So under it, say so. */
static int mutex_acquired_timed(struct sync_state *st, int rc)
{
#ifdef SHMAP_TSAN
    if (rc == EOWNERDEAD) {
        __tsan_mutex_pre_lock(&st->mx.m, 0);
        __tsan_mutex_post_lock(&st->mx.m, 0, 0);
    }
#endif
    return mutex_acquired(st, rc);
}

int mutex_lock_until(const shmap_sync *s, const struct timespec *deadline)
{
    if (!kind_ok(s->st, s->mx_kind))
        return SHMAP_ECORRUPT;
    struct timespec mono, real;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    int64_t left =
        (int64_t)(deadline->tv_sec - mono.tv_sec) * 1000000000 + (deadline->tv_nsec - mono.tv_nsec);
    if (left < 0)
        left = 0;
    int64_t ns = (int64_t)real.tv_nsec + left % 1000000000;
    struct timespec until = {real.tv_sec + (time_t)(left / 1000000000) + (time_t)(ns / 1000000000),
                             (long)(ns % 1000000000)};
    return mutex_acquired_timed(s->st, pthread_mutex_timedlock(&s->st->mx.m, &until));
}

int mutex_take_slow(const shmap_sync *s, bool poll, int rc)
{
    if (rc == EBUSY && !poll)
        return mutex_lock_slow(s->st, s->mx_kind);
    return mutex_acquired(s->st, rc); /* EBUSY: SHMAP_ETIMEDOUT */
}

int mutex_try(struct sync_state *st, uint32_t *seen)
{
    if (!mutex_sane(st))
        return SHMAP_ECORRUPT;
    int rc = pthread_mutex_trylock(&st->mx.m);
    if (rc == EBUSY) {
        *seen = __atomic_load_n(mutex_word(st), __ATOMIC_SEQ_CST);
        return SYNC_BUSY;
    }
    return mutex_acquired(st, rc);
}

/* ---- Release ---------------------------------------------------------- */

/* This thread's robust-list head: glibc's, in the thread's own memory
 * (registered with the kernel by set_robust_list, found again with
 * get_robust_list); &no_head, whose list matches no mutex, until looked
 * up or if it cannot be (then releases take the slow path). */
static const struct robust_list_head no_head;
static _Thread_local const struct robust_list_head *robust_head
    __attribute__((tls_model("initial-exec"))) = &no_head;

static const struct robust_list_head *robust_head_lookup(void)
{
    struct robust_list_head *h = NULL;
    size_t len = 0;
    if (syscall(SYS_get_robust_list, 0, &h, &len) != 0 || !h || len != sizeof *h)
        return &no_head;
    return h;
}

/* True if M is the robust mutex this thread locked last and still holds:
 * our list head, in our own memory, points at M's link.  That proves
 * ownership without a look at the lock word (a load that, right after
 * the lock's atomic instruction, costs more than all the other checks);
 * anything else - another robust mutex locked since, a mutex not ours, a
 * glibc that links otherwise - goes the slow way. */
static inline bool mutex_first_held(const pthread_mutex_t *m)
{
    return (const void *)robust_head->list.next == (const void *)&m->__data.__list.__next;
}

/* For a mutex first on our list: true if the links glibc's unlock follows
 * are what glibc made them.  The back link must be our head (so glibc's
 * first write goes there); the forward one can only be checked for the
 * NULL of a zeroed state (it names another mutex we hold, or the head). */
static inline bool mutex_links_sound(const pthread_mutex_t *m)
{
#if defined(__PTHREAD_MUTEX_HAVE_PREV) && __PTHREAD_MUTEX_HAVE_PREV
    if ((const void *)m->__data.__list.__prev != (const void *)robust_head)
        return false;
#endif
    return m->__data.__list.__next != NULL;
}

static int mutex_unlock(pthread_mutex_t *m)
{
    int rc = pthread_mutex_unlock(m);
    return __builtin_expect(rc == 0, 1) ? 0 : mutex_error(rc);
}

/* Release when the fast test failed: ownership by the lock word. */
static __attribute__((noinline)) int mutex_release_slow(const shmap_sync *s)
{
    struct sync_state *st = s->st;
    if (robust_head == &no_head) /* once per thread, normally */
        robust_head = robust_head_lookup();
    /* glibc would say EPERM too, but asking it is unlocking a mutex we do
     * not own, which thread checkers rightly report; and glibc goes by
     * __owner, which stays set when an owner dies: a thread that got its
     * TID since would pass, and glibc would unlink the dead thread's
     * list.  The TID in the lock word is cleared by the kernel then. */
    uint32_t v = __atomic_load_n(mutex_word(st), __ATOMIC_RELAXED);
    if ((v & SYNC_FUTEX_TID_MASK) != sync_self_tid())
        return SHMAP_ENOTOWNER;
    /* Locked by us, it is on our robust list: its link is never NULL. */
    if (!kind_ok(st, s->mx_kind) || !st->mx.m.__data.__list.__next)
        return SHMAP_ECORRUPT;
    return mutex_unlock(&st->mx.m);
}

void mutex_undo(struct sync_state *st, int status)
{
    if (status == SHMAP_ABANDONED)
        __atomic_store_n(&st->u.mutex.abandoned, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&st->mx.m);
}

bool mutex_ready(struct sync_state *st, uint32_t self, uint32_t *seen)
{
    uint32_t v = __atomic_load_n(mutex_word(st), __ATOMIC_SEQ_CST);
    uint32_t tid = v & SYNC_FUTEX_TID_MASK;
    *seen = v;
    return tid == 0 || tid == self; /* free, owner died (TID cleared), or ours */
}

int mutex_before_sleep(struct sync_state *st, uint32_t *val)
{
    uint32_t v = *val;
    /* Never FUTEX_WAITERS on a word without an owner: glibc would sleep on
     * a free mutex.  Free or dead owner: it is ready, try again. */
    if ((v & SYNC_FUTEX_TID_MASK) == 0)
        return SYNC_BUSY;
    if (v & SYNC_FUTEX_WAITERS)
        return 0;
    uint32_t want = v | SYNC_FUTEX_WAITERS;
    if (!__atomic_compare_exchange_n(mutex_word(st), &v, want, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        return SYNC_BUSY;
    *val = want;
    return 0;
}

void mutex_after_wake(struct sync_state *st)
{
    uint32_t v = __atomic_load_n(mutex_word(st), __ATOMIC_SEQ_CST);
    /* Owned with FUTEX_WAITERS set: its unlock will wake a sleeper.  Any
     * other state may have lost the wake we consumed: pass it on. */
    if ((v & SYNC_FUTEX_TID_MASK) == 0 || !(v & SYNC_FUTEX_WAITERS))
        futex_wake(mutex_word(st), 1);
}

void mutex_mark_waiters(struct sync_state *st)
{
    __atomic_fetch_or(mutex_word(st), SYNC_FUTEX_WAITERS, __ATOMIC_SEQ_CST);
}

bool mutex_owned_here(struct sync_state *st)
{
    uint32_t tid = __atomic_load_n(mutex_word(st), __ATOMIC_SEQ_CST) & SYNC_FUTEX_TID_MASK;
    return tid != 0 && syscall(SYS_tgkill, (long)getpid(), (long)tid, 0L) == 0;
}

/* ---- Public ---------------------------------------------------------- */

SHMAP_API int shmap_mutex_release(shmap_sync *s)
{
    if (!s)
        return SHMAP_EINVAL;
    if (s->type != SHMAP_TYPE_MUTEX)
        return SHMAP_ETYPE;
    pthread_mutex_t *m = &s->st->mx.m;
    if (__builtin_expect(!mutex_first_held(m), 0))
        return mutex_release_slow(s);
    if (!mutex_links_sound(m) || !kind_ok(s->st, s->mx_kind))
        return SHMAP_ECORRUPT; /* ours, but garbled: glibc must not see it */
    return mutex_unlock(m);
}
