/* sync.h - the synchronization objects (mutexes, events, semaphores) inside
 * the library: the layout of their state in shared memory, the handle, the
 * futex seam, and the per-type operations the waits are built from.
 *
 * The state of one object is SHMAP_SYNC_SIZE bytes: the sync_state area of
 * a named object's header page, an anonymous shared page (unnamed, from
 * create with a NULL name), or memory the caller placed it in (init_at).
 * Every word another process may change is accessed with __atomic builtins;
 * every futex is a shared (not FUTEX_PRIVATE) futex, since the words live
 * in memory mapped by several processes. */
#ifndef SHMAP_SYNC_H
#define SHMAP_SYNC_H

#include "store.h"

#include <pthread.h>
#include <time.h>

#ifndef __GLIBC__
#error "shmap's mutexes are glibc robust mutexes: the lock word layout is glibc's"
#endif

#define SYNC_MAGIC 0x434e5953u /* "SYNC" */

/* Bits of a robust futex word (linux/futex.h). */
#define SYNC_FUTEX_WAITERS 0x80000000u
#define SYNC_FUTEX_OWNER_DIED 0x40000000u
#define SYNC_FUTEX_TID_MASK 0x3fffffffu

/* Event word values.  A wait-all reserves an auto-reset event before it
 * commits (see sync_wait.c): while reserved, the word also remembers the
 * last set or reset that arrived meanwhile. */
#define EV_RESET 0u
#define EV_SET 1u
#define EV_HELD 2u       /* reserved by a wait-all, no set/reset since */
#define EV_HELD_SET 3u   /* reserved, then set */
#define EV_HELD_RESET 4u /* reserved, then reset */

/* Semaphore word: the count in the low 32 bits (the futex word), the units
 * reserved by wait-alls in flight in the high 32 bits. */
#define SEM_HELD_ONE (1ull << 32)
#define SEM_COUNT(w) ((uint32_t)(w))
#define SEM_HELD(w) ((uint32_t)((w) >> 32))

struct sync_mutex_words {
    uint32_t abi;       /* MUTEX_ABI of the process that made it */
    uint32_t abandoned; /* 1: owner died, not yet reported to an acquirer */
};

struct sync_event_words {
    uint32_t word;    /* EV_*: the futex word */
    uint32_t manual;  /* 1: manual-reset */
    uint32_t waiters; /* threads that may sleep on word (never too low) */
};

struct sync_sem_words {
    uint64_t word; /* count | held << 32; the futex is its low half */
    uint32_t maximum;
    uint32_t waiters;
};

/* The state of one object: fixed-width words, except the mutex's
 * pthread_mutex_t, whose layout MUTEX_ABI records. */
struct sync_state {
    uint32_t magic; /* SYNC_MAGIC */
    uint32_t type;  /* SHMAP_TYPE_MUTEX, _EVENT or _SEMAPHORE */
    uint64_t id;    /* random identity: one object seen through two handles */
    union {
        struct sync_mutex_words mutex;
        struct sync_event_words event;
        struct sync_sem_words sem;
        uint8_t room[48];
    } u;
    union {
        pthread_mutex_t m;
        uint8_t room[64];
    } mx __attribute__((aligned(64)));
};

_Static_assert(sizeof(struct sync_state) == SHMAP_SYNC_SIZE, "state fills its area");
_Static_assert(sizeof(struct sync_state) <= sizeof(((struct object_header *)0)->sync_state),
               "state fits the header");
_Static_assert(_Alignof(struct sync_state) <= SHMAP_SYNC_ALIGN, "alignment is documented");

/* A handle. */
struct shmap_sync {
    struct sync_state *st; /* the object's state */
    void *map;             /* what this handle mapped; NULL when attached */
    size_t map_len;
    uint32_t type;          /* SHMAP_TYPE_* (also in st, but ours is trusted) */
    int mx_kind;            /* mutex: glibc's __kind it must have (mutex_kind) */
    struct store_hold hold; /* the name held (fd -1 when unnamed) */
    int mem_fd;             /* unnamed and made by a create: its memfd, else -1 */
    char name[SHMAP_NAME_BUF];
};

/* A new descriptor (close-on-exec, read-write) of the object of S, which
 * another process can make a handle of with sync_adopt_fd: what the Win32
 * layer hands to a child that inherits a handle.  Returns it, or
 * SHMAP_ENOTSUP (an object attached in place has none), SHMAP_EMFILE,
 * SHMAP_EACCES. */
int sync_object_fd(const shmap_sync *s);

/* Makes *OUT a handle of the object whose descriptor FD is (made by
 * sync_object_fd, maybe in a parent); it holds the name on its own.  The
 * caller keeps FD.  Errors: SHMAP_ECORRUPT (no synchronization object),
 * SHMAP_ENOMEM, SHMAP_EMFILE, SHMAP_EACCES. */
int sync_adopt_fd(int fd, shmap_sync **out);

/* ---- Futexes and time (sync_futex.c) ---------------------------------- */

/* Sleeps while *WORD == VAL, until woken or DEADLINE (CLOCK_MONOTONIC,
 * absolute; NULL: none).  Returns 0 (woken, maybe spuriously), -EAGAIN
 * (*WORD != VAL), -ETIMEDOUT, -EINTR, or another -errno. */
int futex_wait_abs(uint32_t *word, uint32_t val, const struct timespec *deadline);

/* Wakes up to N threads sleeping on WORD. */
void futex_wake(uint32_t *word, int n);

/* Sleeps while *WORDS[i] == VALS[i] for every i < N (N <= SHMAP_WAIT_MAX),
 * until one is woken or DEADLINE.  Returns the index of a woken word, or
 * -EAGAIN, -ETIMEDOUT, -EINTR, -ENOSYS (kernel < 5.16), another -errno. */
int futex_wait_many(uint32_t *const *words, const uint32_t *vals, size_t n,
                    const struct timespec *deadline);

/* Fills *TS with now + MS on CLOCK_MONOTONIC. */
void deadline_after_ms(uint32_t ms, struct timespec *ts);

/* True if TS is a valid timespec (0 <= tv_nsec < 1e9, tv_sec >= 0). */
bool timespec_valid(const struct timespec *ts);

/* True if DEADLINE (CLOCK_MONOTONIC) has passed. */
bool deadline_passed(const struct timespec *deadline);

/* Spins (bounded, adaptive: see sync_futex.c) while *WORDS[i] == VALS[i]
 * for every i < N, and not past DEADLINE (NULL: none).  True if a word
 * changed: look again instead of sleeping.  False (at once on a single
 * CPU) if not; then *MISSED is nonzero if the spin ran for nothing, and
 * the caller passes it to futex_spin_judge when its wait is over.  The
 * caller holds nothing another thread needs meanwhile. */
bool futex_spin(uint32_t *const *words, const uint32_t *vals, size_t n,
                const struct timespec *deadline, uint64_t *missed);
void futex_spin_judge(uint64_t missed);

/* The calling thread's TID. */
uint32_t sync_self_tid(void);

/* ---- Per-type operations --------------------------------------------- */

/* What a try returns when the object cannot be taken now (positive, apart
 * from 0 and SHMAP_ABANDONED, which mean taken). */
#define SYNC_BUSY 100

/* Each type has: *_state_init (fills a new state), *_state_check (0 or
 * SHMAP_ECORRUPT / SHMAP_ENOTSUP for a state found in memory), *_word (its
 * futex word), *_try (takes it if it can: 0, SHMAP_ABANDONED, SYNC_BUSY
 * with *SEEN the word's value, or an error), *_ready (could it be taken
 * now? without changing it), and, for wait-all, a way to hold it and to
 * commit or undo that hold. */

/* Mutex (sync_mutex.c).  Held by locking; mutex_undo unlocks and keeps an
 * abandonment (STATUS SHMAP_ABANDONED) for the next acquirer. */
int mutex_kind(void); /* glibc's __kind of our mutexes; -1 if unknown */
int mutex_state_init(struct sync_state *st);
void mutex_template_destroy(struct sync_state *st); /* a state only copied */
int mutex_state_check(const struct sync_state *st);
uint32_t *mutex_word(struct sync_state *st);
/* True if the mutex's kind is still KIND (see sync_mutex.c: the check
 * that keeps a garbled mutex from crashing glibc). */
static inline bool kind_ok(const struct sync_state *st, int kind)
{
    return __atomic_load_n(&st->mx.m.__data.__kind, __ATOMIC_RELAXED) == kind;
}

/* What mutex_take does when its try did not simply succeed (RC). */
int mutex_take_slow(const shmap_sync *s, bool poll, int rc);

/* Waits for the mutex of S until DEADLINE (CLOCK_MONOTONIC), with glibc's
 * robust timed lock (see sync_mutex.c for why). */
int mutex_lock_until(const shmap_sync *s, const struct timespec *deadline);

/* The fast path of shmap_wait on a mutex: takes the mutex of handle S,
 * waiting forever, or not at all if POLL (SHMAP_ETIMEDOUT if busy).
 * Inline, and S read again after the call rather than kept: every
 * instruction and dependent load here shows next to glibc's own lock. */
static inline int mutex_take(const shmap_sync *s, bool poll)
{
    if (!kind_ok(s->st, s->mx_kind))
        return SHMAP_ECORRUPT;
    /* glibc's trylock is its shortest robust path (no futex set-up); when
     * it succeeds and no wait-all left an abandonment to report, done. */
    int rc = pthread_mutex_trylock(&s->st->mx.m);
    if (__builtin_expect(rc == 0, 1) &&
        !__atomic_load_n(&s->st->u.mutex.abandoned, __ATOMIC_RELAXED))
        return 0;
    return mutex_take_slow(s, poll, rc);
}
int mutex_try(struct sync_state *st, uint32_t *seen);
void mutex_undo(struct sync_state *st, int status);
bool mutex_ready(struct sync_state *st, uint32_t self, uint32_t *seen);
/* Before sleeping on the lock word with *VAL: sets FUTEX_WAITERS (and in
 * *VAL).  0, or SYNC_BUSY if the word changed or has no owner (look again). */
int mutex_before_sleep(struct sync_state *st, uint32_t *val);
/* After a wake that may have been meant for another waiter, when not
 * taking the mutex: passes it on unless the owner's unlock will wake. */
void mutex_after_wake(struct sync_state *st);
/* Sets FUTEX_WAITERS on a mutex we own (taken after sleeping). */
void mutex_mark_waiters(struct sync_state *st);
/* True if a live thread of this process owns it. */
bool mutex_owned_here(struct sync_state *st);

/* Event (sync_event.c).  Manual-reset events are never held: wait-all
 * checks them last.  An auto-reset event is held by a reservation. */
void event_state_init(struct sync_state *st, bool manual, bool set);
int event_state_check(const struct sync_state *st);
uint32_t *event_word(struct sync_state *st);
int event_try(struct sync_state *st, uint32_t *seen);
bool event_ready(struct sync_state *st, uint32_t *seen);
int event_reserve(struct sync_state *st); /* 0 or SYNC_BUSY */
void event_commit(struct sync_state *st);
void event_undo(struct sync_state *st);

/* Semaphore (sync_semaphore.c).  Held by reserving one unit. */
void sem_state_init(struct sync_state *st, uint32_t initial, uint32_t maximum);
int sem_state_check(const struct sync_state *st);
uint32_t *sem_word(struct sync_state *st);
int sem_try(struct sync_state *st, uint32_t *seen);
bool sem_ready(struct sync_state *st, uint32_t *seen);
int sem_reserve(struct sync_state *st); /* 0 or SYNC_BUSY */
void sem_commit(struct sync_state *st);
void sem_undo(struct sync_state *st);
/* Adds N: 0 (*PREVIOUS, if not NULL, the count before) or SHMAP_ERANGE. */
int sem_release(struct sync_state *st, uint32_t n, uint32_t *previous);

/* The waiters counter of an event or semaphore of TYPE (NULL for a mutex):
 * raised by every thread that may sleep on its word, never too low. */
uint32_t *sync_waiters(struct sync_state *st, uint32_t type);

/* Wakes every sleeper of WORD if the counter WAITERS says there may be one
 * (call after changing WORD with a seq_cst atomic). */
void sync_wake_all(uint32_t *word, const uint32_t *waiters);

/* ---- Objects (sync_object.c) ----------------------------------------- */

/* Checks a state found in memory against TYPE (0: any): 0, SHMAP_ETYPE,
 * SHMAP_ECORRUPT, or SHMAP_ENOTSUP (a mutex of another ABI). */
int sync_state_check(const struct sync_state *st, uint32_t type);

#endif
