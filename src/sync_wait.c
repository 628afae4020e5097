/* sync_wait.c - the waits: on one object (a futex wait on its word; a
 * mutex without timeout simply through glibc's robust lock), or on up to
 * SHMAP_WAIT_MAX objects at once (futex_waitv).
 *
 * Each round tries to take what the wait needs, and if it cannot, sleeps
 * on the futex words of the objects it still needs, with the values it saw
 * (a mutex gets FUTEX_WAITERS first, see sync_mutex.c), until a word
 * changes, the deadline passes, or a signal comes (then it goes round
 * again, with the same absolute CLOCK_MONOTONIC deadline: the time left).
 * Before its first sleep, a wait polls those words for a short while
 * (spin_round; bounded and adaptive, see futex_spin in sync_futex.c).
 *
 * Wait-all cannot take several futex words in one atomic step, so it
 * works in two phases.  First it looks at every object without changing
 * anything, and sleeps unless all look ready.  Then it holds them one by
 * one: auto-reset events and semaphores are reserved (sync_event.c,
 * sync_semaphore.c: invisible as "set" or as count meanwhile, yet still
 * counted against a semaphore's maximum, and a set or reset that comes
 * meanwhile is kept), mutexes are locked, and last manual-reset events are
 * checked again.  If one fails (someone took it since the look), every
 * hold is given back exactly (a reserved event becomes set again unless a
 * reset came, units go back to the count, a mutex is unlocked and keeps
 * its abandoned status) and the round starts over; otherwise the
 * reservations are committed.  The window is a few instructions, no
 * system call; the header documents what it can show, and that a process
 * killed inside it leaves its reservations held.
 *
 * Events and semaphores wake every sleeper when they become available, so
 * a sleeper that does not take them costs nothing to the others.  A mutex
 * unlock wakes one sleeper only (glibc's protocol): a waiter woken on a
 * mutex it then does not take passes the wake on (mutex_after_wake).  A
 * wait-all does not sleep on objects that are already ready, so passing
 * wakes on cannot ping-pong between wait-alls. */
#include "sync.h"

#include <string.h>

/* Internal: state changed under us, go round again at once. */
#define SYNC_RETRY 101

struct wait_item {
    struct sync_state *st;
    uint32_t type;
    uint32_t seen; /* futex word value last observed */
    int status;    /* once held: 0 or SHMAP_ABANDONED */
    bool held;     /* taken or reserved by this call */
    bool ready;    /* wait-all: looked ready in the last round */
    bool owes;     /* a mutex slept on and woken since: may owe a wake */
};

struct wait_ctx {
    struct wait_item it[SHMAP_WAIT_MAX];
    size_t n;
    bool all;
    bool poll;                       /* timeout 0: never sleep */
    const struct timespec *deadline; /* NULL: none */
    uint32_t self;                   /* our TID (wait-all's mutex checks) */
    bool slept;                      /* woken at least once */
    int index;                       /* result */
};

/* ---- Items ----------------------------------------------------------- */

static uint32_t *item_word(struct wait_item *w)
{
    switch (w->type) {
    case SHMAP_TYPE_MUTEX:
        return mutex_word(w->st);
    case SHMAP_TYPE_EVENT:
        return event_word(w->st);
    default:
        return sem_word(w->st);
    }
}

/* Takes W if it can be taken now: 0 or SHMAP_ABANDONED, SYNC_BUSY (W->seen
 * set), or an error. */
static int item_try(struct wait_item *w)
{
    switch (w->type) {
    case SHMAP_TYPE_MUTEX:
        return mutex_try(w->st, &w->seen);
    case SHMAP_TYPE_EVENT:
        return event_try(w->st, &w->seen);
    default:
        return sem_try(w->st, &w->seen);
    }
}

static bool item_ready(const struct wait_ctx *c, struct wait_item *w)
{
    switch (w->type) {
    case SHMAP_TYPE_MUTEX:
        return mutex_ready(w->st, c->self, &w->seen);
    case SHMAP_TYPE_EVENT:
        return event_ready(w->st, &w->seen);
    default:
        return sem_ready(w->st, &w->seen);
    }
}

/* The order wait-all holds things in: reservations, then mutexes, then a
 * last look at manual-reset events. */
enum { PASS_RESERVE, PASS_LOCK, PASS_CHECK, PASS_COUNT };

static int item_pass(const struct wait_item *w)
{
    if (w->type == SHMAP_TYPE_MUTEX)
        return PASS_LOCK;
    if (w->type == SHMAP_TYPE_EVENT && w->st->u.event.manual)
        return PASS_CHECK;
    return PASS_RESERVE;
}

/* Holds W in its pass: 0 or SHMAP_ABANDONED, SYNC_BUSY, or an error. */
static int item_hold(struct wait_item *w)
{
    int rc;
    switch (item_pass(w)) {
    case PASS_CHECK:
        return event_ready(w->st, &w->seen) ? 0 : SYNC_BUSY;
    case PASS_LOCK:
        rc = mutex_try(w->st, &w->seen);
        break;
    default:
        rc = w->type == SHMAP_TYPE_EVENT ? event_reserve(w->st) : sem_reserve(w->st);
        break;
    }
    if (rc == 0 || rc == SHMAP_ABANDONED) {
        w->held = true;
        w->status = rc;
    }
    return rc;
}

static void item_undo(struct wait_item *w)
{
    if (!w->held)
        return;
    if (w->type == SHMAP_TYPE_MUTEX)
        mutex_undo(w->st, w->status);
    else if (w->type == SHMAP_TYPE_EVENT)
        event_undo(w->st);
    else
        sem_undo(w->st);
    w->held = false;
}

/* Makes a hold final.  A mutex taken after sleeping keeps FUTEX_WAITERS,
 * as glibc's waiters do: others may sleep on it. */
static void item_commit(const struct wait_ctx *c, struct wait_item *w)
{
    if (w->type == SHMAP_TYPE_MUTEX && w->held && c->slept)
        mutex_mark_waiters(w->st);
    else if (w->type == SHMAP_TYPE_EVENT && w->held)
        event_commit(w->st);
    else if (w->type == SHMAP_TYPE_SEMAPHORE && w->held)
        sem_commit(w->st);
}

/* ---- Rounds ---------------------------------------------------------- */

static int any_round(struct wait_ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        struct wait_item *w = &c->it[i];
        int rc = item_try(w);
        if (rc == SYNC_BUSY)
            continue;
        if (rc >= 0) {
            w->held = true;
            w->status = rc;
            if (w->type == SHMAP_TYPE_MUTEX && c->slept)
                mutex_mark_waiters(w->st);
            c->index = (int)i;
        }
        return rc;
    }
    return SYNC_BUSY;
}

static int hold_pass(struct wait_ctx *c, int pass)
{
    for (size_t i = 0; i < c->n; i++) {
        if (item_pass(&c->it[i]) != pass)
            continue;
        int rc = item_hold(&c->it[i]);
        if (rc != 0 && rc != SHMAP_ABANDONED)
            return rc;
    }
    return 0;
}

/* Everything looked ready: holds it all, or gives everything back. */
static int all_take(struct wait_ctx *c)
{
    int rc = 0;
    for (int pass = 0; pass < PASS_COUNT && rc == 0; pass++)
        rc = hold_pass(c, pass);
    if (rc != 0) {
        for (size_t i = 0; i < c->n; i++)
            item_undo(&c->it[i]);
        return rc == SYNC_BUSY ? SYNC_RETRY : rc;
    }
    int status = 0;
    c->index = 0;
    for (size_t i = c->n; i-- > 0;) {
        item_commit(c, &c->it[i]);
        if (c->it[i].status == SHMAP_ABANDONED) {
            status = SHMAP_ABANDONED;
            c->index = (int)i;
        }
    }
    return status;
}

static int all_round(struct wait_ctx *c)
{
    bool all = true;
    for (size_t i = 0; i < c->n; i++) {
        c->it[i].ready = item_ready(c, &c->it[i]);
        all = all && c->it[i].ready;
    }
    return all ? all_take(c) : SYNC_BUSY;
}

/* Passes on the mutex wakes we may have consumed without taking. */
static void forward_owed(struct wait_ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        struct wait_item *w = &c->it[i];
        if (w->owes && !w->held)
            mutex_after_wake(w->st);
        w->owes = false;
    }
}

static int sleep_result(struct wait_ctx *c, int r, const size_t *slept_on, size_t k)
{
    if (r >= 0) {
        c->slept = true;
        for (size_t j = 0; j < k; j++)
            if (c->it[slept_on[j]].type == SHMAP_TYPE_MUTEX)
                c->it[slept_on[j]].owes = true;
    }
    switch (r) {
    case -ETIMEDOUT:
        return SHMAP_ETIMEDOUT;
    case -ENOSYS:
        return SHMAP_ENOTSUP;
    case -EAGAIN:
    case -EINTR:
        return SYNC_RETRY;
    default:
        return r >= 0 ? SYNC_RETRY : SHMAP_EIO;
    }
}

/* Sleeps on what the wait still needs: SYNC_RETRY, SHMAP_ETIMEDOUT, or an
 * error. */
static int sleep_round(struct wait_ctx *c)
{
    uint32_t *words[SHMAP_WAIT_MAX];
    uint32_t vals[SHMAP_WAIT_MAX];
    size_t slept_on[SHMAP_WAIT_MAX];
    size_t k = 0;
    forward_owed(c);
    for (size_t i = 0; i < c->n; i++) {
        struct wait_item *w = &c->it[i];
        if (c->all && w->ready)
            continue;
        if (w->type == SHMAP_TYPE_MUTEX && mutex_before_sleep(w->st, &w->seen) != 0)
            return SYNC_RETRY;
        words[k] = item_word(w);
        vals[k] = w->seen;
        slept_on[k++] = i;
    }
    return sleep_result(c, futex_wait_many(words, vals, k, c->deadline), slept_on, k);
}

/* True if W is no object to spin on: a mutex (a spinner slows its owner
 * down, see mutex_lock_slow in sync_mutex.c), or an event or semaphore
 * another thread may sleep on (its waiters counter; we are not counted
 * yet): we would take from under that sleeper what was set for it, every
 * time, since it needs a wake-up first. */
static bool item_no_spin(const struct wait_item *w)
{
    if (w->type == SHMAP_TYPE_MUTEX)
        return true;
    return __atomic_load_n(sync_waiters(w->st, w->type), __ATOMIC_RELAXED) != 0;
}

/* Before the first sleep of a call, with nothing held: polls the words it
 * would sleep on for a while (futex_spin, in sync_futex.c: bounded, and
 * why), unless one of them is no object to spin on.  True if a word
 * changed: go round again.  *MISSED as futex_spin's. */
static bool spin_round(struct wait_ctx *c, uint64_t *missed)
{
    *missed = 0;
    uint32_t *words[SHMAP_WAIT_MAX];
    uint32_t vals[SHMAP_WAIT_MAX];
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct wait_item *w = &c->it[i];
        if (c->all && w->ready)
            continue;
        if (item_no_spin(w))
            return false;
        words[k] = item_word(w);
        vals[k++] = w->seen;
    }
    return k > 0 && futex_spin(words, vals, k, c->deadline, missed);
}

/* Counts us in (DELTA 1) or out (-1) as a possible sleeper of every event
 * and semaphore, so that their setters know to wake. */
static void waiters_add(struct wait_ctx *c, int delta)
{
    for (size_t i = 0; i < c->n; i++) {
        uint32_t *count = sync_waiters(c->it[i].st, c->it[i].type);
        if (count)
            __atomic_add_fetch(count, (uint32_t)delta, __ATOMIC_SEQ_CST);
    }
}

static bool out_of_time(const struct wait_ctx *c)
{
    return c->poll || (c->deadline && deadline_passed(c->deadline));
}

static int wait_loop(struct wait_ctx *c)
{
    bool registered = false, spun = false;
    uint64_t missed = 0; /* a spin that did not see the change */
    int rc;
    for (;;) {
        rc = c->all ? all_round(c) : any_round(c);
        if (rc == SYNC_RETRY)
            continue;
        if (rc != SYNC_BUSY)
            break;
        if (out_of_time(c)) {
            rc = SHMAP_ETIMEDOUT;
            break;
        }
        if (!spun) { /* once, unregistered: a setter need not wake us */
            spun = true;
            if (spin_round(c, &missed))
                continue;
        }
        if (!registered) { /* then look again before sleeping */
            waiters_add(c, 1);
            registered = true;
            continue;
        }
        rc = sleep_round(c);
        if (rc != SYNC_RETRY)
            break;
    }
    forward_owed(c);
    if (registered)
        waiters_add(c, -1);
    futex_spin_judge(missed);
    return rc;
}

/* ---- Entry points ---------------------------------------------------- */

static void ctx_init(struct wait_ctx *c, shmap_sync *const *handles, size_t n, bool all,
                     const struct timespec *deadline, bool poll)
{
    /* Only the N items in use are cleared: the whole array is 2 KiB. */
    memset(c->it, 0, n * sizeof c->it[0]);
    c->n = n;
    c->all = all;
    c->poll = poll;
    c->deadline = deadline;
    c->self = 0;
    c->slept = false;
    c->index = 0;
    for (size_t i = 0; i < n; i++) {
        c->it[i].st = handles[i]->st;
        c->it[i].type = handles[i]->type;
        if (all && handles[i]->type == SHMAP_TYPE_MUTEX && c->self == 0)
            c->self = sync_self_tid();
    }
}

static int wait_one(shmap_sync *s, const struct timespec *deadline, bool poll)
{
    /* Trying a mutex, or waiting for it: glibc's own robust trylock, lock
     * and timed lock (see mutex_lock_until for why not the rounds above). */
    if (s->type == SHMAP_TYPE_MUTEX && (poll || !deadline))
        return mutex_take(s, poll);
    if (s->type == SHMAP_TYPE_MUTEX)
        return mutex_lock_until(s, deadline);
    struct wait_ctx c;
    ctx_init(&c, &s, 1, false, deadline, poll);
    return wait_loop(&c);
}

/* SHMAP_EINVAL for a bad array, or (wait-all) one object twice. */
static int handles_check(shmap_sync *const *handles, size_t count, bool all)
{
    if (!handles || count == 0 || count > SHMAP_WAIT_MAX)
        return SHMAP_EINVAL;
    for (size_t i = 0; i < count; i++) {
        if (!handles[i])
            return SHMAP_EINVAL;
        for (size_t j = 0; all && j < i; j++)
            if (handles[j]->st->id == handles[i]->st->id)
                return SHMAP_EINVAL;
    }
    return 0;
}

static int wait_multi(shmap_sync *const *handles, size_t count, bool all,
                      const struct timespec *deadline, bool poll, int *index)
{
    int rc = handles_check(handles, count, all);
    if (rc < 0)
        return rc;
    struct wait_ctx c;
    if (count == 1) {
        rc = wait_one(handles[0], deadline, poll);
        c.index = 0;
    } else {
        ctx_init(&c, handles, count, all, deadline, poll);
        rc = wait_loop(&c);
    }
    if (rc >= 0 && index)
        *index = c.index;
    return rc;
}

/* shmap_wait, but for its fast path. */
static __attribute__((noinline)) int wait_ms(shmap_sync *s, uint32_t timeout_ms)
{
    if (!s)
        return SHMAP_EINVAL;
    struct timespec deadline;
    if (timeout_ms == SHMAP_INFINITE || timeout_ms == 0)
        return wait_one(s, NULL, timeout_ms == 0);
    deadline_after_ms(timeout_ms, &deadline);
    return wait_one(s, &deadline, false);
}

SHMAP_API int shmap_wait(shmap_sync *s, uint32_t timeout_ms)
{
    /* Locking a mutex (or trying to): straight to glibc's robust lock,
     * with the checks of mutex_take. */
    if (s && s->type == SHMAP_TYPE_MUTEX) {
        if (timeout_ms == SHMAP_INFINITE) /* two calls: POLL a constant in each */
            return mutex_take(s, false);
        if (timeout_ms == 0)
            return mutex_take(s, true);
    }
    return wait_ms(s, timeout_ms);
}

SHMAP_API int shmap_wait_until(shmap_sync *s, const struct timespec *deadline)
{
    if (!s || !deadline || !timespec_valid(deadline))
        return SHMAP_EINVAL;
    return wait_one(s, deadline, false);
}

SHMAP_API int shmap_wait_multiple(shmap_sync *const *handles, size_t count, bool wait_all,
                                  uint32_t timeout_ms, int *index)
{
    struct timespec deadline;
    if (timeout_ms == SHMAP_INFINITE || timeout_ms == 0)
        return wait_multi(handles, count, wait_all, NULL, timeout_ms == 0, index);
    deadline_after_ms(timeout_ms, &deadline);
    return wait_multi(handles, count, wait_all, &deadline, false, index);
}

SHMAP_API int shmap_wait_multiple_until(shmap_sync *const *handles, size_t count, bool wait_all,
                                        const struct timespec *deadline, int *index)
{
    if (!deadline || !timespec_valid(deadline))
        return SHMAP_EINVAL;
    return wait_multi(handles, count, wait_all, deadline, false, index);
}
