/* sync_semaphore.c - the semaphore: one 64-bit word holding the count (its
 * low half is the futex word waiters sleep on) and the units that wait-alls
 * in flight have reserved but not yet committed (sync_wait.c).  Reserved
 * units are not visible as count, but still count against the maximum, so
 * that giving them back can never pass it.  A release wakes every sleeper,
 * for the reason given in sync_event.c. */
#include "sync.h"

void sem_state_init(struct sync_state *st, uint32_t initial, uint32_t maximum)
{
    st->u.sem.word = initial;
    st->u.sem.maximum = maximum;
    st->u.sem.waiters = 0;
}

int sem_state_check(const struct sync_state *st)
{
    uint64_t w = __atomic_load_n(&st->u.sem.word, __ATOMIC_RELAXED);
    uint32_t max = st->u.sem.maximum;
    bool ok = max >= 1 && max <= INT32_MAX && (uint64_t)SEM_COUNT(w) + SEM_HELD(w) <= max;
    return ok ? 0 : SHMAP_ECORRUPT;
}

uint32_t *sem_word(struct sync_state *st)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (uint32_t *)&st->u.sem.word + 1;
#else
    return (uint32_t *)&st->u.sem.word;
#endif
}

static bool sem_cas(struct sync_state *st, uint64_t *old, uint64_t val)
{
    return __atomic_compare_exchange_n(&st->u.sem.word, old, val, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}

static void sem_wake(struct sync_state *st)
{
    sync_wake_all(sem_word(st), &st->u.sem.waiters);
}

/* Takes one unit, adding HELD to the reserved units: 0 or SYNC_BUSY. */
static int sem_take(struct sync_state *st, uint64_t held, uint32_t *seen)
{
    uint64_t w = __atomic_load_n(&st->u.sem.word, __ATOMIC_SEQ_CST);
    do {
        if (SEM_COUNT(w) == 0) {
            *seen = 0;
            return SYNC_BUSY;
        }
    } while (!sem_cas(st, &w, w - 1 + held));
    return 0;
}

int sem_try(struct sync_state *st, uint32_t *seen)
{
    return sem_take(st, 0, seen);
}

bool sem_ready(struct sync_state *st, uint32_t *seen)
{
    *seen = SEM_COUNT(__atomic_load_n(&st->u.sem.word, __ATOMIC_SEQ_CST));
    return *seen > 0;
}

int sem_reserve(struct sync_state *st)
{
    uint32_t seen;
    return sem_take(st, SEM_HELD_ONE, &seen);
}

void sem_commit(struct sync_state *st)
{
    __atomic_fetch_sub(&st->u.sem.word, SEM_HELD_ONE, __ATOMIC_SEQ_CST);
}

void sem_undo(struct sync_state *st)
{
    /* One reserved unit back into the count. */
    __atomic_fetch_add(&st->u.sem.word, 1 - SEM_HELD_ONE, __ATOMIC_SEQ_CST);
    sem_wake(st);
}

int sem_release(struct sync_state *st, uint32_t n, uint32_t *previous)
{
    uint32_t max = __atomic_load_n(&st->u.sem.maximum, __ATOMIC_RELAXED);
    if (max == 0 || max > INT32_MAX)
        return SHMAP_ECORRUPT; /* garbled since it was opened */
    uint64_t w = __atomic_load_n(&st->u.sem.word, __ATOMIC_SEQ_CST);
    do {
        if ((uint64_t)SEM_COUNT(w) + SEM_HELD(w) + n > max)
            return SHMAP_ERANGE;
    } while (!sem_cas(st, &w, w + n));
    if (previous)
        *previous = SEM_COUNT(w);
    sem_wake(st);
    return 0;
}

/* ---- Public ---------------------------------------------------------- */

SHMAP_API int shmap_semaphore_release(shmap_sync *s, uint32_t count, uint32_t *previous)
{
    if (!s || count == 0)
        return SHMAP_EINVAL;
    if (s->type != SHMAP_TYPE_SEMAPHORE)
        return SHMAP_ETYPE;
    return sem_release(s->st, count, previous);
}
