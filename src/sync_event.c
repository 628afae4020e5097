/* sync_event.c - the event: one futex word, EV_SET or EV_RESET, plus the
 * EV_HELD states of an auto-reset event that a wait-all has reserved but
 * not yet committed (sync_wait.c).  A manual-reset event is only ever read
 * by waits.  A set wakes every sleeper (they are few, and a sleeper of a
 * wait-all may not take the event: waking one could wake the wrong one);
 * the waiters counter spares that system call when nobody sleeps. */
#include "sync.h"

#include <limits.h>

void event_state_init(struct sync_state *st, bool manual, bool set)
{
    st->u.event.word = set ? EV_SET : EV_RESET;
    st->u.event.manual = manual ? 1u : 0u;
    st->u.event.waiters = 0;
}

int event_state_check(const struct sync_state *st)
{
    uint32_t w = __atomic_load_n(&st->u.event.word, __ATOMIC_RELAXED);
    return st->u.event.manual <= 1 && w <= EV_HELD_RESET ? 0 : SHMAP_ECORRUPT;
}

uint32_t *event_word(struct sync_state *st)
{
    return &st->u.event.word;
}

static bool event_cas(struct sync_state *st, uint32_t *old, uint32_t val)
{
    return __atomic_compare_exchange_n(&st->u.event.word, old, val, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}

static void event_wake(struct sync_state *st)
{
    sync_wake_all(&st->u.event.word, &st->u.event.waiters);
}

int event_try(struct sync_state *st, uint32_t *seen)
{
    uint32_t v = __atomic_load_n(&st->u.event.word, __ATOMIC_SEQ_CST);
    if (st->u.event.manual) {
        *seen = v;
        return v == EV_SET ? 0 : SYNC_BUSY;
    }
    do {
        if (v != EV_SET) {
            *seen = v;
            return SYNC_BUSY;
        }
    } while (!event_cas(st, &v, EV_RESET));
    return 0;
}

bool event_ready(struct sync_state *st, uint32_t *seen)
{
    *seen = __atomic_load_n(&st->u.event.word, __ATOMIC_SEQ_CST);
    return *seen == EV_SET;
}

int event_reserve(struct sync_state *st)
{
    uint32_t v = EV_SET;
    return event_cas(st, &v, EV_HELD) ? 0 : SYNC_BUSY;
}

/* Ends a reservation: the word becomes COMMIT_TO[state] or UNDO_TO[state]
 * for EV_HELD, EV_HELD_SET, EV_HELD_RESET. */
static void event_unhold(struct sync_state *st, const uint32_t to[3])
{
    uint32_t v = __atomic_load_n(&st->u.event.word, __ATOMIC_SEQ_CST);
    uint32_t nv;
    do
        nv = v >= EV_HELD && v <= EV_HELD_RESET ? to[v - EV_HELD] : v;
    while (!event_cas(st, &v, nv));
    if (nv == EV_SET)
        event_wake(st);
}

void event_commit(struct sync_state *st)
{
    /* Taken at the reservation; a set or reset since then comes after. */
    static const uint32_t to[3] = {EV_RESET, EV_SET, EV_RESET};
    event_unhold(st, to);
}

void event_undo(struct sync_state *st)
{
    /* Never taken: set, unless a reset came meanwhile. */
    static const uint32_t to[3] = {EV_SET, EV_SET, EV_RESET};
    event_unhold(st, to);
}

static int event_apply(shmap_sync *s, bool set)
{
    if (!s)
        return SHMAP_EINVAL;
    if (s->type != SHMAP_TYPE_EVENT)
        return SHMAP_ETYPE;
    struct sync_state *st = s->st;
    uint32_t v = __atomic_load_n(&st->u.event.word, __ATOMIC_SEQ_CST);
    uint32_t nv;
    do {
        bool held = v >= EV_HELD && v <= EV_HELD_RESET;
        nv = held ? (set ? EV_HELD_SET : EV_HELD_RESET) : (set ? EV_SET : EV_RESET);
        if (nv == v)
            return 0;
    } while (!event_cas(st, &v, nv));
    if (nv == EV_SET)
        event_wake(st);
    return 0;
}

void sync_wake_all(uint32_t *word, const uint32_t *waiters)
{
    if (__atomic_load_n(waiters, __ATOMIC_SEQ_CST) != 0)
        futex_wake(word, INT_MAX);
}

/* ---- Public ---------------------------------------------------------- */

SHMAP_API int shmap_event_set(shmap_sync *s)
{
    return event_apply(s, true);
}

SHMAP_API int shmap_event_reset(shmap_sync *s)
{
    return event_apply(s, false);
}
