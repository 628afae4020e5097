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
 * acquirer reports it instead. */
#include "sync.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Identifies the pthread_mutex_t layout of the process that made a mutex:
 * processes of another ABI must not touch it. */
#define MUTEX_ABI (0x47000000u | (uint32_t)sizeof(void *) << 8 | (uint32_t)sizeof(pthread_mutex_t))

_Static_assert(sizeof(pthread_mutex_t) <= 64, "the mutex fits its slot");

static pthread_once_t kind_once = PTHREAD_ONCE_INIT;
static int kind_expected = -1; /* glibc's __kind of our mutexes */

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

int mutex_state_init(struct sync_state *st)
{
    pthread_mutexattr_t a;
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
    pthread_once(&kind_once, kind_probe);
    if (st->u.mutex.abi != MUTEX_ABI)
        return SHMAP_ENOTSUP;
    if (__atomic_load_n(&st->u.mutex.abandoned, __ATOMIC_RELAXED) > 1 ||
        st->mx.m.__data.__kind != kind_expected)
        return SHMAP_ECORRUPT;
    return 0;
}

/* Cheap checks before glibc touches a live mutex: a state another process
 * garbled since we checked it at open must give an error, not an abort or
 * a crash inside glibc (its kind decides which code glibc runs). */
static bool mutex_sane(const struct sync_state *st)
{
    pthread_once(&kind_once, kind_probe);
    return __atomic_load_n(&st->mx.m.__data.__kind, __ATOMIC_RELAXED) == kind_expected;
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

int mutex_lock(struct sync_state *st)
{
    if (!mutex_sane(st))
        return SHMAP_ECORRUPT;
    return mutex_acquired(st, pthread_mutex_lock(&st->mx.m));
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

int mutex_release(struct sync_state *st)
{
    /* glibc would say EPERM too, but asking it is unlocking a mutex we do
     * not own, which thread checkers rightly report. */
    uint32_t v = __atomic_load_n(mutex_word(st), __ATOMIC_RELAXED);
    if ((v & SYNC_FUTEX_TID_MASK) != sync_self_tid())
        return SHMAP_ENOTOWNER;
    /* Locked by us, it is on our robust list: its link is never NULL. */
    if (!mutex_sane(st) || !st->mx.m.__data.__list.__next)
        return SHMAP_ECORRUPT;
    int rc = pthread_mutex_unlock(&st->mx.m);
    return rc == 0 ? 0 : mutex_error(rc);
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
    return mutex_release(s->st);
}
