/* test_stress.c - the kill storm: 8 worker processes create, open, map,
 * write, lock (named mutexes), wait and close 4 names at random while a
 * killer stops and SIGKILLs random workers at random moments and respawns
 * them.  Invariants, checked all along and at the end:
 *
 *  - Same memory: two live processes holding a handle to one name see one
 *    object.  Every object carries a random 64-bit id, set once (CAS from 0)
 *    by whoever maps it first; each worker publishes, under a seqlock, the
 *    id it holds.  The killer snapshots every slot twice: slots unchanged
 *    between the two passes were all valid at one common instant, so two of
 *    them holding the same name with different ids is a real violation,
 *    never a race of the check.  A worker holding a name also re-opens and
 *    re-creates it and must find the same object (never SHMAP_ENOENT, never
 *    a new one).
 *  - Abandonment exactly once: the killer SIGSTOPs its victim first, reads
 *    each mutex's owner TID (shmap_sync_query) while the victim cannot
 *    move, and, if the victim owns a mutex, marks it "abandoned, not yet
 *    reported" before the SIGKILL.  The next acquirer (or the killer at the
 *    end) must get SHMAP_ABANDONED exactly when that mark is set, and
 *    clears it: a lost or a spurious/duplicate abandonment is a violation.
 *  - Counters under the mutexes lose no increment: each mutex guards a
 *    counter incremented with a plain read-modify-write; the workers count
 *    their completed increments.  The counter ends between that sum and the
 *    sum plus the kills that landed inside an increment.
 *  - Nothing leaks: the storm ends with half the workers stopping cleanly
 *    and the other half killed where they stand; when every process is
 *    gone, one shmap_store_sweep removes every stale name (as many as a dry
 *    run counted) and leaves the namespace directory empty, and the
 *    killer's descriptors and mappings are as before.
 *
 * `make check` runs a short storm (1000 kills, at most 5 s); `make stress` a
 * long one: SHMAP_STRESS_ROUNDS kills and/or SHMAP_STRESS_SECONDS.  The PRNG seed
 * is printed, and SHMAP_STRESS_SEED replays it (kill timing still varies).
 * Kill moments come from the killer spinning on the victim's progress
 * counter plus a short random nanosleep jitter: no sleep synchronizes. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define WORKERS 8
#define NAMES 4
#define OBJ_SIZE GRAN
#define DEFAULT_ROUNDS 1000
#define DEFAULT_SECONDS 5 /* cap of the default run (slow sanitizer builds) */
#define STUCK_SECONDS 20  /* a worker making no progress this long is hung */

/* Worker states (low byte; the name index is in the next byte). */
enum { W_IDLE, W_WAITING, W_OWNED, W_UPDATING, W_UNLOCKING };
#define STATE(s, k) ((uint32_t)(s) | (uint32_t)(k) << 8)
#define STATE_OF(v) ((v)&0xffu)
#define NAME_OF(v) ((v) >> 8)

/* What a worker holds of name K, published under a seqlock. */
struct pub {
    uint64_t seq; /* odd while being written */
    uint64_t id;  /* id of the object held, 0 if none */
};

struct slot {
    int32_t pid;
    uint32_t state;
    uint32_t stop; /* this worker: finish the step, close all, exit 0 */
    uint64_t progress;
    uint64_t done[NAMES]; /* increments completed by this incarnation */
    struct pub pub[NAMES];
    /* statistics */
    uint64_t created, existed, opened, absent, views, locks, reopens, closes, abandons;
};

struct board {
    uint64_t stop;
    uint64_t violations;
    uint32_t pending[NAMES]; /* mutex K abandoned, not yet reported */
    uint64_t counter[NAMES]; /* guarded by mutex K */
    char msg[1024];          /* the first violation */
    struct slot slot[WORKERS];
};

/* The data of every mapping object. */
struct obj {
    uint64_t id;      /* set once, by CAS from 0 */
    uint64_t counter; /* guarded by mutex K: only grows */
};

static struct board *B;

/* ---- PRNG (splitmix64: seedable, good enough, no state to share) -------- */

static uint64_t mix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t rnd(uint64_t *s, uint32_t n)
{
    return (uint32_t)(mix64(s) % n);
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : dflt;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Worker --------------------------------------------------------------- */

struct worker {
    int w;
    uint64_t rng;
    struct slot *me;
    shmap_mapping *m[NAMES];
    struct obj *v[NAMES];
    uint64_t id[NAMES];
    uint64_t seen_counter[NAMES];
    shmap_sync *mx[NAMES];
};

static void map_name(char *buf, size_t size, int k)
{
    snprintf(buf, size, "storm-%d", k);
}

static void mutex_name(char *buf, size_t size, int k)
{
    snprintf(buf, size, "storm-%d.mx", k);
}

static void step(struct worker *wk)
{
    __atomic_add_fetch(&wk->me->progress, 1, __ATOMIC_SEQ_CST);
}

static void set_state(struct worker *wk, int s, int k)
{
    __atomic_store_n(&wk->me->state, STATE(s, k), __ATOMIC_SEQ_CST);
}

__attribute__((format(printf, 2, 3), noreturn)) static void violation(struct worker *wk,
                                                                      const char *fmt, ...)
{
    char text[sizeof B->msg];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(text, sizeof text, "worker %d (pid %d): ", wk ? wk->w : -1, (int)getpid());
    vsnprintf(text + n, sizeof text - (size_t)n, fmt, ap);
    va_end(ap);
    if (__atomic_add_fetch(&B->violations, 1, __ATOMIC_SEQ_CST) == 1)
        memcpy(B->msg, text, sizeof text);
    fprintf(stderr, "VIOLATION %s\n", text);
    _exit(3);
}

static void publish(struct worker *wk, int k, uint64_t id)
{
    struct pub *p = &wk->me->pub[k];
    __atomic_add_fetch(&p->seq, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&p->id, id, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&p->seq, 1, __ATOMIC_SEQ_CST);
}

static void stat_add(uint64_t *field)
{
    __atomic_add_fetch(field, 1, __ATOMIC_RELAXED);
}

static struct obj *view_of(struct worker *wk, shmap_mapping *m)
{
    void *p = NULL;
    int rc = shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, &p);
    if (rc != 0)
        violation(wk, "view_map: %s", tu_errname(rc));
    stat_add(&wk->me->views);
    return p;
}

/* Takes a handle to name K (create or open) and publishes its id. */
static void acquire_handle(struct worker *wk, int k)
{
    char name[32];
    map_name(name, sizeof name, k);
    shmap_mapping *m = NULL;
    int rc;
    if (rnd(&wk->rng, 2)) {
        shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
        cfg.size = OBJ_SIZE;
        rc = shmap_mapping_create(name, &cfg, &m);
        if (rc != 0 && rc != SHMAP_EXISTED)
            violation(wk, "create %s: %s", name, tu_errname(rc));
        stat_add(rc == 0 ? &wk->me->created : &wk->me->existed);
    } else {
        rc = shmap_mapping_open(name, SHMAP_ACCESS_ALL, &m);
        if (rc == SHMAP_ENOENT) {
            stat_add(&wk->me->absent);
            step(wk);
            return;
        }
        if (rc != 0)
            violation(wk, "open %s: %s", name, tu_errname(rc));
        stat_add(&wk->me->opened);
    }
    step(wk);
    struct obj *o = view_of(wk, m);
    step(wk);
    uint64_t want = mix64(&wk->rng) | 1;
    uint64_t zero = 0;
    __atomic_compare_exchange_n(&o->id, &zero, want, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    wk->id[k] = __atomic_load_n(&o->id, __ATOMIC_SEQ_CST);
    wk->m[k] = m;
    wk->v[k] = o;
    wk->seen_counter[k] = 0;
    publish(wk, k, wk->id[k]);
    step(wk);
}

static void release_handle(struct worker *wk, int k)
{
    publish(wk, k, 0);
    step(wk);
    if (rnd(&wk->rng, 2)) {
        shmap_view_unmap(wk->v[k]);
        shmap_mapping_close(wk->m[k]);
    } else {
        /* Close first: the view keeps the memory, whatever the name does. */
        shmap_mapping_close(wk->m[k]);
        if (__atomic_load_n(&wk->v[k]->id, __ATOMIC_SEQ_CST) != wk->id[k])
            violation(wk, "a view changed object after its handle was closed");
        shmap_view_unmap(wk->v[k]);
    }
    stat_add(&wk->me->closes);
    wk->m[k] = NULL;
    wk->v[k] = NULL;
    step(wk);
}

/* While holding K: opening or creating it again finds the same object. */
static void reopen_check(struct worker *wk, int k)
{
    char name[32];
    map_name(name, sizeof name, k);
    shmap_mapping *m = NULL;
    int rc;
    if (rnd(&wk->rng, 2)) {
        shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
        cfg.size = OBJ_SIZE;
        rc = shmap_mapping_create(name, &cfg, &m);
        if (rc != SHMAP_EXISTED)
            violation(wk, "create of %s while holding it returned %s, not SHMAP_EXISTED", name,
                      tu_errname(rc));
    } else {
        rc = shmap_mapping_open(name, SHMAP_ACCESS_ALL, &m);
        if (rc != 0)
            violation(wk, "open of %s while holding it: %s", name, tu_errname(rc));
    }
    step(wk);
    struct obj *o = view_of(wk, m);
    uint64_t id = __atomic_load_n(&o->id, __ATOMIC_SEQ_CST);
    if (id != wk->id[k])
        violation(wk, "%s re-opened while held is another object (id %016llx, held %016llx)", name,
                  (unsigned long long)id, (unsigned long long)wk->id[k]);
    shmap_view_unmap(o);
    shmap_mapping_close(m);
    stat_add(&wk->me->reopens);
    step(wk);
}

static shmap_sync *mutex_handle(struct worker *wk, int k)
{
    if (!wk->mx[k]) {
        char name[32];
        mutex_name(name, sizeof name, k);
        /* The killer holds every mutex for the whole storm. */
        int rc = shmap_mutex_create(name, 0, 0600, &wk->mx[k]);
        if (rc != SHMAP_EXISTED)
            violation(wk, "mutex_create %s: %s, not SHMAP_EXISTED", name, tu_errname(rc));
        step(wk);
    }
    return wk->mx[k];
}

static void locked_update(struct worker *wk, int k)
{
    shmap_sync *mx = mutex_handle(wk, k);
    set_state(wk, W_WAITING, k);
    step(wk);
    /* Both wait paths: glibc's robust lock, and the library's own rounds. */
    int rc = shmap_wait(mx, rnd(&wk->rng, 2) ? SHMAP_INFINITE : 15000);
    if (rc != 0 && rc != SHMAP_ABANDONED)
        violation(wk, "wait on mutex %d: %s", k, tu_errname(rc));
    uint32_t was = __atomic_exchange_n(&B->pending[k], 0, __ATOMIC_SEQ_CST);
    if (rc == SHMAP_ABANDONED && !was)
        violation(wk, "mutex %d reported abandoned, but no owner died since the last report", k);
    if (rc == 0 && was)
        violation(wk, "mutex %d: its owner was killed, yet the next wait did not say abandoned", k);
    if (rc == SHMAP_ABANDONED)
        stat_add(&wk->me->abandons);
    set_state(wk, W_OWNED, k);
    stat_add(&wk->me->locks);
    step(wk);

    set_state(wk, W_UPDATING, k);
    uint64_t c = __atomic_load_n(&B->counter[k], __ATOMIC_RELAXED);
    if (rnd(&wk->rng, 16) == 0)
        sched_yield(); /* widen the read-modify-write window */
    __atomic_store_n(&B->counter[k], c + 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&wk->me->done[k], 1, __ATOMIC_SEQ_CST);
    if (wk->m[k]) {
        struct obj *o = wk->v[k];
        if (__atomic_load_n(&o->id, __ATOMIC_SEQ_CST) != wk->id[k])
            violation(wk, "the id of held object %d changed", k);
        uint64_t oc = __atomic_load_n(&o->counter, __ATOMIC_RELAXED);
        if (oc < wk->seen_counter[k])
            violation(wk, "counter of object %d went back from %llu to %llu", k,
                      (unsigned long long)wk->seen_counter[k], (unsigned long long)oc);
        __atomic_store_n(&o->counter, oc + 1, __ATOMIC_RELAXED);
        wk->seen_counter[k] = oc + 1;
    }
    set_state(wk, W_OWNED, k);
    step(wk);

    set_state(wk, W_UNLOCKING, k);
    rc = shmap_mutex_release(mx);
    if (rc != 0)
        violation(wk, "release of mutex %d: %s", k, tu_errname(rc));
    set_state(wk, W_IDLE, 0);
    step(wk);
    if (rnd(&wk->rng, 4) == 0) {
        shmap_sync_close(mx);
        wk->mx[k] = NULL;
        step(wk);
    }
}

static void worker_main(int w, uint64_t seed)
{
    struct worker wk = {.w = w, .rng = seed, .me = &B->slot[w]};
    while (!__atomic_load_n(&B->stop, __ATOMIC_SEQ_CST) &&
           !__atomic_load_n(&wk.me->stop, __ATOMIC_SEQ_CST)) {
        /* Short holds, so that names die and are made again often. */
        int k = (int)rnd(&wk.rng, NAMES);
        uint32_t op = rnd(&wk.rng, 8);
        if (!wk.m[k]) {
            if (op < 3)
                acquire_handle(&wk, k);
            else
                locked_update(&wk, k); /* without holding that mapping */
        } else if (op < 3) {
            locked_update(&wk, k);
        } else if (op == 3) {
            reopen_check(&wk, k);
        } else {
            release_handle(&wk, k);
        }
    }
    for (int k = 0; k < NAMES; k++) {
        if (wk.m[k])
            release_handle(&wk, k);
        if (wk.mx[k])
            shmap_sync_close(wk.mx[k]);
    }
}

/* ---- Killer --------------------------------------------------------------- */

struct storm {
    uint64_t seed, rng;
    uint64_t incarnations;
    shmap_sync *mx[NAMES]; /* held all along: abandonment stays observable */
    uint64_t done[NAMES];  /* increments of incarnations gone */
    uint64_t kills, kills_owning, kills_updating[NAMES], rounds, checks, snapshots;
    uint64_t kill_states[5]; /* victim's state when stopped */
    uint64_t created, existed, opened, absent, views, locks, reopens, closes, abandons;
};

static void slot_credit(struct storm *s, struct slot *sl)
{
    for (int k = 0; k < NAMES; k++) {
        s->done[k] += __atomic_load_n(&sl->done[k], __ATOMIC_SEQ_CST);
        /* The dead hold nothing. */
        if (__atomic_load_n(&sl->pub[k].id, __ATOMIC_SEQ_CST) != 0 ||
            (__atomic_load_n(&sl->pub[k].seq, __ATOMIC_SEQ_CST) & 1)) {
            /* Odd (being written), then even again and unlike before. */
            uint64_t q = __atomic_load_n(&sl->pub[k].seq, __ATOMIC_SEQ_CST) | 1;
            __atomic_store_n(&sl->pub[k].seq, q + 2, __ATOMIC_SEQ_CST);
            __atomic_store_n(&sl->pub[k].id, 0, __ATOMIC_SEQ_CST);
            __atomic_store_n(&sl->pub[k].seq, q + 3, __ATOMIC_SEQ_CST);
        }
    }
    s->created += sl->created, s->existed += sl->existed, s->opened += sl->opened;
    s->absent += sl->absent, s->views += sl->views, s->locks += sl->locks;
    s->reopens += sl->reopens, s->closes += sl->closes, s->abandons += sl->abandons;
}

static void spawn(struct storm *s, int w)
{
    struct slot *sl = &B->slot[w];
    memset(sl, 0, offsetof(struct slot, pub));
    memset(&sl->created, 0, sizeof *sl - offsetof(struct slot, created));
    uint64_t seed = s->seed ^ (++s->incarnations * 0xd1b54a32d192ed03ull);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            signal(sigs[i], SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(0);
        worker_main(w, seed);
        _exit(0);
    }
    __atomic_store_n(&sl->pid, pid, __ATOMIC_SEQ_CST);
}

static void fail_violation(const char *what)
{
    fail_msg("%s: %s", what,
             __atomic_load_n(&B->violations, __ATOMIC_SEQ_CST) ? B->msg : "(no message)");
}

/* Same-memory check over every slot, race-free (see the top comment). */
static void check_same_memory(struct storm *s)
{
    for (int k = 0; k < NAMES; k++) {
        uint64_t s1[WORKERS], id[WORKERS];
        for (int w = 0; w < WORKERS; w++) {
            s1[w] = __atomic_load_n(&B->slot[w].pub[k].seq, __ATOMIC_SEQ_CST);
            id[w] = __atomic_load_n(&B->slot[w].pub[k].id, __ATOMIC_SEQ_CST);
        }
        uint64_t ref = 0;
        int ref_w = -1, holders = 0;
        for (int w = 0; w < WORKERS; w++) {
            uint64_t s2 = __atomic_load_n(&B->slot[w].pub[k].seq, __ATOMIC_SEQ_CST);
            if (s2 != s1[w] || (s1[w] & 1) || id[w] == 0)
                continue;
            holders++;
            if (ref_w < 0) {
                ref = id[w];
                ref_w = w;
            } else if (id[w] != ref) {
                fail_msg("same-memory invariant broken: workers %d and %d hold storm-%d at "
                         "once, as objects %016llx and %016llx",
                         ref_w, w, k, (unsigned long long)ref, (unsigned long long)id[w]);
            }
        }
        s->checks++;
        s->snapshots += holders > 1;
    }
    if (__atomic_load_n(&B->violations, __ATOMIC_SEQ_CST))
        fail_violation("a worker found a violation");
}

/* Reaps PID if it ended on its own (a violation or a crash): fails. */
static void check_worker_alive(int w)
{
    int status;
    pid_t pid = B->slot[w].pid;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == 0)
        return;
    if (WIFSIGNALED(status))
        fail_msg("worker %d (pid %d) died of signal %d (%s)%s%s", w, (int)pid, WTERMSIG(status),
                 strsignal(WTERMSIG(status)), B->violations ? ": " : "",
                 B->violations ? B->msg : "");
    fail_violation("a worker exited during the storm");
}

/* Waits until worker W has made STEPS more steps, checking meanwhile. */
static void wait_progress(struct storm *s, int w, uint64_t steps)
{
    uint64_t want = __atomic_load_n(&B->slot[w].progress, __ATOMIC_SEQ_CST) + steps;
    double t0 = now_s();
    unsigned spins = 0;
    while (__atomic_load_n(&B->slot[w].progress, __ATOMIC_SEQ_CST) < want) {
        if (++spins % 64 == 0) {
            check_same_memory(s);
            check_worker_alive(w);
            if (now_s() - t0 > STUCK_SECONDS)
                fail_msg("worker %d (pid %d) made no progress for %d s (state %u/%u): hung", w,
                         (int)B->slot[w].pid, STUCK_SECONDS, STATE_OF(B->slot[w].state),
                         NAME_OF(B->slot[w].state));
        }
        sched_yield();
    }
}

static void kill_one(struct storm *s, int w)
{
    struct slot *sl = &B->slot[w];
    pid_t pid = sl->pid;
    int status;
    /* Stopped, the victim owns exactly what its lock words say. */
    if (kill(pid, SIGSTOP) != 0)
        fail_msg("SIGSTOP %d: %s", (int)pid, strerror(errno));
    if (waitpid(pid, &status, WUNTRACED) != pid)
        fail_msg("waitpid(%d): %s", (int)pid, strerror(errno));
    if (!WIFSTOPPED(status)) {
        if (WIFSIGNALED(status))
            fail_msg("worker %d died of signal %d%s%s", w, WTERMSIG(status),
                     B->violations ? ": " : "", B->violations ? B->msg : "");
        fail_violation("a worker exited during the storm");
    }
    uint32_t st = __atomic_load_n(&sl->state, __ATOMIC_SEQ_CST);
    if (STATE_OF(st) < 5)
        s->kill_states[STATE_OF(st)]++;
    for (int k = 0; k < NAMES; k++) {
        shmap_sync_info info;
        assert_rc(shmap_sync_query(s->mx[k], &info), 0);
        int owns = info.owner_tid == (uint32_t)pid;
        int believes =
            (STATE_OF(st) == W_OWNED || STATE_OF(st) == W_UPDATING) && NAME_OF(st) == (uint32_t)k;
        if (believes && !owns)
            fail_msg("worker %d is inside mutex %d, whose owner is tid %u, not %d", w, k,
                     info.owner_tid, (int)pid);
        if (owns) {
            __atomic_store_n(&B->pending[k], 1, __ATOMIC_SEQ_CST);
            s->kills_owning++;
        }
        if (STATE_OF(st) == W_UPDATING && NAME_OF(st) == (uint32_t)k)
            s->kills_updating[k]++;
    }
    if (kill(pid, SIGKILL) != 0)
        fail_msg("SIGKILL %d: %s", (int)pid, strerror(errno));
    if (waitpid(pid, &status, 0) != pid)
        fail_msg("waitpid(%d): %s", (int)pid, strerror(errno));
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        fail_msg("worker %d ended with status %#x, not by our SIGKILL", w, status);
    s->kills++;
    slot_credit(s, sl);
}

/* At the end: take each mutex once, collecting a pending abandonment. */
static void final_mutex_check(struct storm *s, int k)
{
    int rc = shmap_wait(s->mx[k], 10000);
    if (rc != 0 && rc != SHMAP_ABANDONED)
        fail_msg("final wait on mutex %d: %s", k, tu_errname(rc));
    uint32_t was = __atomic_exchange_n(&B->pending[k], 0, __ATOMIC_SEQ_CST);
    if (rc == SHMAP_ABANDONED && !was)
        fail_msg("final wait: mutex %d reported abandoned, but no owner died unreported", k);
    if (rc == 0 && was)
        fail_msg("final wait: mutex %d lost the abandonment of its killed owner", k);
    s->abandons += rc == SHMAP_ABANDONED;
    assert_rc(shmap_mutex_release(s->mx[k]), 0);
}

static int dir_entries_all(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void test_kill_storm(void **state)
{
    (void)state;
    struct storm s;
    memset(&s, 0, sizeof s);
    s.seed = env_u64("SHMAP_STRESS_SEED", 0);
    if (!s.seed)
        s.seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid() << 20;
    s.rng = s.seed;
    uint64_t rounds = env_u64("SHMAP_STRESS_ROUNDS", 0);
    double seconds = (double)env_u64("SHMAP_STRESS_SECONDS", 0);
    if (!rounds && !seconds) {
        rounds = DEFAULT_ROUNDS;
        seconds = DEFAULT_SECONDS;
    }
    char limit[96];
    if (rounds && seconds)
        snprintf(limit, sizeof limit, "%llu rounds, at most %.0f s", (unsigned long long)rounds,
                 seconds);
    else if (rounds)
        snprintf(limit, sizeof limit, "%llu rounds", (unsigned long long)rounds);
    else
        snprintf(limit, sizeof limit, "%.0f s", seconds);
    print_message("kill storm: seed %llu (SHMAP_STRESS_SEED), %d workers, %d names, %s\n",
                  (unsigned long long)s.seed, WORKERS, NAMES, limit);

    B = tu_shared_alloc(sizeof *B);
    memset(B, 0, sizeof *B);
    struct tu_snap snap;
    tu_snap_take(&snap);
    for (int k = 0; k < NAMES; k++) {
        char name[32];
        mutex_name(name, sizeof name, k);
        assert_rc(shmap_mutex_create(name, 0, 0600, &s.mx[k]), 0);
    }
    for (int w = 0; w < WORKERS; w++)
        spawn(&s, w);

    double t0 = now_s();
    while ((!rounds || s.rounds < rounds) && (!seconds || now_s() - t0 < seconds)) {
        int w = (int)rnd(&s.rng, WORKERS);
        wait_progress(&s, w, rnd(&s.rng, 48));
        long jitter_ns = (long)rnd(&s.rng, 200000); /* jitter, not synchronization */
        if (jitter_ns > 100000) {
            struct timespec ts = {0, jitter_ns - 100000};
            nanosleep(&ts, NULL);
        }
        kill_one(&s, w);
        check_same_memory(&s);
        spawn(&s, w);
        s.rounds++;
    }
    double elapsed = now_s() - t0;

    /* The end: half the workers stop cleanly (finish the step, close all,
     * exit 0); then the other half are killed where they stand, leaving
     * the names only they held stale, for the sweep below. */
    for (int w = 0; w < WORKERS / 2; w++)
        __atomic_store_n(&B->slot[w].stop, 1, __ATOMIC_SEQ_CST);
    for (int w = 0; w < WORKERS / 2; w++) {
        int status;
        pid_t pid = B->slot[w].pid;
        if (waitpid(pid, &status, 0) != pid)
            fail_msg("waitpid(%d): %s", (int)pid, strerror(errno));
        B->slot[w].pid = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_violation("a worker did not end cleanly");
        slot_credit(&s, &B->slot[w]);
        check_same_memory(&s);
    }
    for (int w = WORKERS / 2; w < WORKERS; w++) {
        wait_progress(&s, w, rnd(&s.rng, 48));
        kill_one(&s, w);
        B->slot[w].pid = 0;
    }
    check_same_memory(&s);
    for (int k = 0; k < NAMES; k++)
        final_mutex_check(&s, k);

    uint64_t lost = 0, updates = 0, kills_updating = 0;
    for (int k = 0; k < NAMES; k++) {
        uint64_t c = B->counter[k];
        updates += c;
        kills_updating += s.kills_updating[k];
        if (c < s.done[k])
            lost += s.done[k] - c;
        else if (c > s.done[k] + s.kills_updating[k])
            fail_msg("counter %d is %llu: more than the %llu increments done plus %llu killed "
                     "mid-update",
                     k, (unsigned long long)c, (unsigned long long)s.done[k],
                     (unsigned long long)s.kills_updating[k]);
    }

    for (int k = 0; k < NAMES; k++)
        assert_rc(shmap_sync_close(s.mx[k]), 0);
    int stale = shmap_store_sweep(SHMAP_SCOPE_LOCAL, SHMAP_SWEEP_DRY_RUN, NULL, NULL);
    int swept = shmap_store_sweep(SHMAP_SCOPE_LOCAL, 0, NULL, NULL);
    if (swept < 0)
        fail_msg("sweep: %s", tu_errname(swept));
    char ns[PATH_MAX];
    tu_ns_path(SHMAP_SCOPE_LOCAL, ns, sizeof ns);
    int left = dir_entries_all(ns);
    struct tu_snap now;
    tu_snap_take(&now);
    int fd_leak = now.fds - snap.fds, map_leak = now.maps - snap.maps;

    print_message("kill storm: %llu rounds in %.1f s, %llu kills (%llu owning a mutex, %llu "
                  "mid-update), %llu worker incarnations\n",
                  (unsigned long long)s.rounds, elapsed, (unsigned long long)s.kills,
                  (unsigned long long)s.kills_owning, (unsigned long long)kills_updating,
                  (unsigned long long)s.incarnations);
    print_message(
        "kill storm: victims were idle %llu, waiting %llu, owning %llu, updating "
        "%llu, unlocking %llu times\n",
        (unsigned long long)s.kill_states[W_IDLE], (unsigned long long)s.kill_states[W_WAITING],
        (unsigned long long)s.kill_states[W_OWNED], (unsigned long long)s.kill_states[W_UPDATING],
        (unsigned long long)s.kill_states[W_UNLOCKING]);
    print_message("kill storm: %llu invariant checks (%llu with 2+ holders of a name), "
                  "%llu abandons reported, %llu kills owning, %llu lost increments\n",
                  (unsigned long long)s.checks, (unsigned long long)s.snapshots,
                  (unsigned long long)s.abandons, (unsigned long long)s.kills_owning,
                  (unsigned long long)lost);
    print_message(
        "kill storm: ops: %llu created, %llu existed, %llu opened, %llu absent, "
        "%llu views, %llu locks (%llu increments), %llu re-opens, %llu closes\n",
        (unsigned long long)s.created, (unsigned long long)s.existed, (unsigned long long)s.opened,
        (unsigned long long)s.absent, (unsigned long long)s.views, (unsigned long long)s.locks,
        (unsigned long long)updates, (unsigned long long)s.reopens, (unsigned long long)s.closes);
    print_message("kill storm: %d stale names at the end, one sweep removed %d; leaks: %d store "
                  "entries, %d fds, %d mappings\n",
                  stale, swept, left, fd_leak, map_leak);

    if (lost)
        fail_msg("%llu increments under the mutexes were lost", (unsigned long long)lost);
    if (left)
        fail_msg("%d entries left in %s after all processes ended and one sweep", left, ns);
    if (swept != stale)
        fail_msg("the dry run found %d stale names, the sweep removed %d", stale, swept);
    assert_int_equal(fd_leak, 0);
    assert_int_equal(map_leak, 0);
    assert_true(s.kills > 0);
    tu_shared_free(B, sizeof *B);
    B = NULL;
}

/* After a failure, no worker may outlive the test (nor see its store go). */
static int storm_teardown(void **state)
{
    if (B) {
        __atomic_store_n(&B->stop, 1, __ATOMIC_SEQ_CST);
        for (int w = 0; w < WORKERS; w++) {
            pid_t pid = B->slot[w].pid;
            if (pid > 0 && kill(pid, SIGKILL) == 0)
                waitpid(pid, NULL, 0);
        }
        tu_shared_free(B, sizeof *B);
        B = NULL;
    }
    return tu_teardown(state);
}

int main(void)
{
    if (getenv("SHMAP_TEST_FILTER"))
        cmocka_set_test_filter(getenv("SHMAP_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill_storm, tu_setup, storm_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
