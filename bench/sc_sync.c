/* sc_sync.c - scenarios 3, 4 and 8: shmap's synchronization objects.
 *  3. uncontended lock+unlock: shmap named and unnamed mutexes vs a robust
 *     process-shared pthread mutex vs Boost's interprocess_mutex and
 *     named_mutex;
 *  4. two processes (one per CPU) contending on one mutex: acquisitions per
 *     second, shmap vs the robust pthread mutex;
 *  8. waiting on 64 objects when the last one is signalled vs on one.
 * shmap's side needs the sync section of include/shmap.h (BENCH_SYNC); the
 * peers run without it. */
#include "bench.h"

#include "shmap.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

#if !BENCH_SYNC
static const char *no_sync = "sync API not in include/shmap.h yet";
#endif

/* ---- the locks ------------------------------------------------------------------ */

enum lock_kind { LK_SHMAP_NAMED, LK_SHMAP_UNNAMED, LK_PTHREAD };

struct lock_ctx {
    enum lock_kind kind;
    pthread_mutex_t *pm; /* in shared memory */
#if BENCH_SYNC
    shmap_sync *sm;
#endif
};

static int lock_init(struct lock_ctx *c, enum lock_kind kind, pthread_mutex_t *shared, char *err,
                     size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    if (kind == LK_PTHREAD) {
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
        int rc = pthread_mutex_init(shared, &a);
        pthread_mutexattr_destroy(&a);
        if (rc != 0)
            return ERR("pthread_mutex_init: %s", strerror(rc));
        c->pm = shared;
        return 0;
    }
#if BENCH_SYNC
    int rc =
        shmap_mutex_create(kind == LK_SHMAP_NAMED ? "Local\\bench-mutex" : NULL, 0, 0600, &c->sm);
    if (rc < 0)
        return ERR("shmap_mutex_create: %s", shmap_strerror(rc));
    return 0;
#else
    return ERR("%s", no_sync);
#endif
}

static void lock_fini(struct lock_ctx *c)
{
    if (c->kind == LK_PTHREAD && c->pm)
        pthread_mutex_destroy(c->pm);
#if BENCH_SYNC
    if (c->sm)
        shmap_sync_close(c->sm);
#endif
}

static inline int lock_take(struct lock_ctx *c)
{
    if (c->kind == LK_PTHREAD) {
        int rc = pthread_mutex_lock(c->pm);
        if (rc == EOWNERDEAD)
            rc = pthread_mutex_consistent(c->pm);
        return rc;
    }
#if BENCH_SYNC
    int rc = shmap_wait(c->sm, SHMAP_INFINITE);
    return rc == 0 || rc == SHMAP_ABANDONED ? 0 : -1;
#else
    return -1;
#endif
}

static inline int lock_give(struct lock_ctx *c)
{
    if (c->kind == LK_PTHREAD)
        return pthread_mutex_unlock(c->pm);
#if BENCH_SYNC
    return shmap_mutex_release(c->sm) == 0 ? 0 : -1;
#else
    return -1;
#endif
}

/* ---- 3. uncontended ---------------------------------------------------------------- */

static int lock_batch(void *vc, long nops, uint64_t *ns, char *err, size_t errlen)
{
    struct lock_ctx *c = vc;
    uint64_t t0 = now_ns();
    for (long i = 0; i < nops; i++)
        if (lock_take(c) != 0 || lock_give(c) != 0)
            return ERR("lock/unlock failed");
    *ns = now_ns() - t0;
    return 0;
}

void scenario_lock(void)
{
    report_scenario("3", "Uncontended lock + unlock",
                    "shmap (named and unnamed mutex) ≤ 1.2× a robust process-shared pthread "
                    "mutex; Boost reported.",
                    "One operation: lock then unlock, nobody else around.  shmap: "
                    "`shmap_wait` + `shmap_mutex_release` on a named and an unnamed mutex.  "
                    "pthread: robust, PTHREAD_PROCESS_SHARED, in shared memory "
                    "(`pthread_mutex_lock`/`unlock`).  Boost: `interprocess_mutex` in a "
                    "mapped_region, and `named_mutex` (on Linux a POSIX named semaphore).  "
                    "One process, pinned.");
    progress("3. uncontended lock+unlock");
    pin_cpu(G.cpu_a);
    pthread_mutex_t *pm =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (pm == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    static struct lock_ctx lk[3];
    static const char *labels[] = {"shmap named mutex", "shmap unnamed mutex",
                                   "pthread robust pshared"};
    struct bench_case bc = {.scenario = "3",
                            .title = "lock+unlock",
                            .metric = METRIC_TIME,
                            .nsubjects = 2,
                            .ncontenders = 5};
    for (int k = 0; k < 3; k++) {
        char err[200];
        if (lock_init(&lk[k], (enum lock_kind)k, pm, err, sizeof err) != 0) {
            static char why[3][200];
            snprintf(why[k], sizeof why[k], "%s", err);
            contender_skip(&bc.c[k], labels[k], why[k]);
            continue;
        }
        bc.c[k] = (struct contender){labels[k], lock_batch, &lk[k], NULL, 0};
    }
    char reply[256];
    bool boost = boost_running() && boost_cmd(reply, sizeof reply, "lock_setup") == 0;
    boost_cmd(reply, sizeof reply, "pin %d", G.cpu_a);
    if (boost) {
        bc.c[3] = (struct contender){"Boost interprocess_mutex", boost_batch, "lock_anon", NULL, 0};
        bc.c[4] = (struct contender){"Boost named_mutex", boost_batch, "lock_named", NULL, 0};
    } else {
        const char *why = boost_running() ? "lock_setup failed" : G.boost_skip;
        contender_skip(&bc.c[3], "Boost interprocess_mutex", why);
        contender_skip(&bc.c[4], "Boost named_mutex", why);
    }
    case_goal(&bc, 2, GOAL_MAX, 1.2, "shmap ≤ 1.2× pthread robust mutex");
    bc.nops = calibrate_case(&bc, G.batch_ms, 100000000);
    bc.rounds = G.rounds;
    bc.warmup = G.warmup;
    run_case(&bc);
    report_case(&bc);
    if (boost)
        boost_cmd(reply, sizeof reply, "lock_teardown");
    for (int k = 0; k < 3; k++)
        if (bc.c[k].batch)
            lock_fini(&lk[k]);
    munmap(pm, 4096);
    unpin();
}

/* ---- 4. two processes contending --------------------------------------------------------- */

struct contend_shared {
    uint32_t go;   /* batch number the child is to run (futex word) */
    uint32_t done; /* batch number the child finished (futex word) */
    uint32_t stop;
    uint64_t child_count;
    uint64_t counter; /* protected by the lock */
    pthread_mutex_t pm;
};

struct contend_ctx {
    struct lock_ctx lock;
    struct contend_shared *sh;
    pid_t child;
    double duration_ns;
    double share[MAX_ROUNDS + 64]; /* the child's share of each batch */
    int nshare;
};

static long futex(uint32_t *word, int op, uint32_t val)
{
    return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static void contend_child(struct contend_ctx *c)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pin_cpu(G.cpu_b);
    struct contend_shared *sh = c->sh;
    uint32_t batch = 0;
    for (;;) {
        uint32_t go;
        while ((go = __atomic_load_n(&sh->go, __ATOMIC_ACQUIRE)) == batch)
            futex(&sh->go, FUTEX_WAIT, batch);
        batch = go;
        if (go == UINT32_MAX)
            _exit(0);
        uint64_t n = 0;
        while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
            if (lock_take(&c->lock) != 0)
                _exit(1);
            sh->counter++;
            lock_give(&c->lock);
            n++;
        }
        sh->child_count = n;
        __atomic_store_n(&sh->done, batch, __ATOMIC_RELEASE);
        futex(&sh->done, FUTEX_WAKE, 1);
    }
}

static int contend_batch(void *vc, long nops, uint64_t *ns, char *err, size_t errlen)
{
    struct contend_ctx *c = vc;
    struct contend_shared *sh = c->sh;
    __atomic_store_n(&sh->stop, 0, __ATOMIC_RELEASE);
    uint32_t batch = sh->go + 1;
    __atomic_store_n(&sh->go, batch, __ATOMIC_RELEASE);
    futex(&sh->go, FUTEX_WAKE, 1);
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)c->duration_ns, t = t0, n = 0;
    while (t < end) {
        for (int i = 0; i < 64; i++) {
            if (lock_take(&c->lock) != 0)
                return ERR("lock failed");
            sh->counter++;
            lock_give(&c->lock);
        }
        n += 64;
        t = now_ns();
    }
    __atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE) != batch)
        futex(&sh->done, FUTEX_WAIT, batch - 1);
    uint64_t total = n + sh->child_count;
    if (c->nshare < (int)(sizeof c->share / sizeof c->share[0]))
        c->share[c->nshare++] = (double)sh->child_count / (double)total;
    /* The framework divides by NOPS: report NOPS acquisitions' worth. */
    *ns = (uint64_t)((double)(t - t0) * (double)nops / (double)total);
    return 0;
}

static int contend_start(struct contend_ctx *c, enum lock_kind kind, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->sh = mmap(NULL, sizeof *c->sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c->sh == MAP_FAILED)
        return ERR("mmap: %s", strerror(errno));
    memset(c->sh, 0, sizeof *c->sh);
    if (lock_init(&c->lock, kind, &c->sh->pm, err, errlen) != 0)
        return -1;
    c->duration_ns = (G.quick ? 2 : 10) * 1e6;
    fflush(NULL);
    c->child = fork();
    if (c->child < 0)
        return ERR("fork: %s", strerror(errno));
    if (c->child == 0)
        contend_child(c);
    child_track(c->child);
    return 0;
}

static void contend_stop(struct contend_ctx *c)
{
    if (c->child > 0) {
        __atomic_store_n(&c->sh->go, UINT32_MAX, __ATOMIC_RELEASE);
        futex(&c->sh->go, FUTEX_WAKE, 1);
        child_reap(c->child);
    }
    lock_fini(&c->lock);
    munmap(c->sh, sizeof *c->sh);
}

void scenario_contend(void)
{
    report_scenario("4", "Two processes contending on one mutex",
                    "report acquisitions per second, shmap against a robust process-shared "
                    "pthread mutex.",
                    "");
    report_note("Two processes, one per CPU (%d and %d), loop lock, increment a shared counter, "
                "unlock, for %d ms a batch; the figure is the acquisitions of both together per "
                "second.  shmap: a named mutex, `shmap_wait` + `shmap_mutex_release`.",
                G.cpu_a, G.cpu_b, G.quick ? 2 : 10);
    progress("4. two processes contending");
    pin_cpu(G.cpu_a);
    static struct contend_ctx cc[2];
    static const char *labels[] = {"shmap named mutex", "pthread robust pshared"};
    static const enum lock_kind kinds[] = {LK_SHMAP_NAMED, LK_PTHREAD};
    struct bench_case bc = {.scenario = "4",
                            .title = "2 processes",
                            .metric = METRIC_RATE,
                            .unit = "M acq/s",
                            .unit_scale = 1e6,
                            .nsubjects = 1,
                            .ncontenders = 2};
    for (int k = 0; k < 2; k++) {
        char err[200];
        if (contend_start(&cc[k], kinds[k], err, sizeof err) != 0) {
            static char why[2][200];
            snprintf(why[k], sizeof why[k], "%s", err);
            contender_skip(&bc.c[k], labels[k], why[k]);
            cc[k].child = 0;
            continue;
        }
        bc.c[k] = (struct contender){labels[k], contend_batch, &cc[k], NULL, 1};
    }
    bc.nops = 1000;
    bc.rounds = G.quick ? G.rounds : 60;
    bc.warmup = G.warmup;
    run_case(&bc);
    report_case(&bc);
    for (int k = 0; k < 2; k++) {
        if (!bc.c[k].batch)
            continue;
        int skip = bc.warmup < cc[k].nshare ? bc.warmup : 0;
        report_line("- %s: the child's share of the acquisitions, median %.0f%% (p10 %.0f%%, "
                    "p90 %.0f%%)",
                    labels[k], 100 * quantile(cc[k].share + skip, cc[k].nshare - skip, 0.5),
                    100 * quantile(cc[k].share + skip, cc[k].nshare - skip, 0.1),
                    100 * quantile(cc[k].share + skip, cc[k].nshare - skip, 0.9));
        contend_stop(&cc[k]);
    }
    report_line("%s", "");
    unpin();
}

/* ---- 8. waiting on many ----------------------------------------------------------------- */

#if BENCH_SYNC
#define MANY 64

struct many_ctx {
    int count;            /* objects waited on: 64, or 1 */
    bool multi;           /* shmap_wait_multiple (else shmap_wait) */
    bool wake;            /* a child process sets the object (else it is already set) */
    shmap_sync *ev[MANY]; /* unnamed auto-reset events; the last one is set */
    shmap_sync *child_ev;
    uint32_t *quit; /* shared with the child */
    pid_t child;
};

static int many_wait(struct many_ctx *c)
{
    shmap_sync *target = c->ev[c->count - 1];
    if (!c->multi)
        return shmap_wait(target, SHMAP_INFINITE);
    int idx = -1;
    int rc = shmap_wait_multiple(c->ev, (size_t)c->count, false, SHMAP_INFINITE, &idx);
    return rc == 0 && idx != c->count - 1 ? SHMAP_EIO : rc;
}

static int many_batch(void *vc, long nops, uint64_t *ns, char *err, size_t errlen)
{
    struct many_ctx *c = vc;
    shmap_sync *target = c->ev[c->count - 1];
    uint64_t t0 = now_ns();
    for (long i = 0; i < nops; i++) {
        int rc = shmap_event_set(c->wake ? c->child_ev : target);
        if (rc == 0)
            rc = many_wait(c);
        if (rc != 0)
            return ERR("set/wait: %s", shmap_strerror(rc));
    }
    *ns = now_ns() - t0;
    return 0;
}

static void many_child(struct many_ctx *c)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pin_cpu(G.cpu_b);
    for (;;) {
        if (shmap_wait(c->child_ev, SHMAP_INFINITE) != 0)
            _exit(1);
        if (__atomic_load_n(c->quit, __ATOMIC_ACQUIRE))
            _exit(0);
        shmap_event_set(c->ev[c->count - 1]);
    }
}

static int many_start(struct many_ctx *c, int count, bool multi, bool wake, char *err,
                      size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->count = count;
    c->multi = multi;
    c->wake = wake;
    for (int i = 0; i < count; i++) {
        int rc = shmap_event_create(NULL, 0, 0600, &c->ev[i]);
        if (rc != 0)
            return ERR("shmap_event_create: %s", shmap_strerror(rc));
    }
    if (!wake)
        return 0;
    int rc = shmap_event_create(NULL, 0, 0600, &c->child_ev);
    if (rc != 0)
        return ERR("shmap_event_create: %s", shmap_strerror(rc));
    c->quit = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c->quit == MAP_FAILED) {
        c->quit = NULL;
        return ERR("mmap: %s", strerror(errno));
    }
    *c->quit = 0;
    fflush(NULL);
    c->child = fork();
    if (c->child < 0)
        return ERR("fork: %s", strerror(errno));
    if (c->child == 0)
        many_child(c);
    child_track(c->child);
    return 0;
}

static void many_stop(struct many_ctx *c)
{
    if (c->child > 0) {
        __atomic_store_n(c->quit, 1, __ATOMIC_RELEASE);
        shmap_event_set(c->child_ev);
        child_reap(c->child);
        c->child = 0;
    }
    for (int i = 0; i < MANY; i++)
        if (c->ev[i])
            shmap_sync_close(c->ev[i]);
    if (c->child_ev)
        shmap_sync_close(c->child_ev);
    if (c->quit)
        munmap(c->quit, 4096);
    memset(c, 0, sizeof *c);
}

static void many_case(bool wake)
{
    static struct many_ctx mc[3];
    static const struct {
        const char *label;
        int count;
        bool multi;
    } kinds[3] = {
        {"shmap_wait_multiple, 64 objects (last one set)", MANY, true},
        {"shmap_wait, 1 object", 1, false},
        {"shmap_wait_multiple, 1 object", 1, true},
    };
    struct bench_case bc = {.scenario = "8",
                            .title = wake ? "woken by another process" : "already set",
                            .metric = METRIC_TIME,
                            .nsubjects = 1,
                            .ncontenders = wake ? 2 : 3};
    for (int k = 0; k < bc.ncontenders; k++) {
        char err[200];
        if (many_start(&mc[k], kinds[k].count, kinds[k].multi, wake, err, sizeof err) != 0) {
            static char why[3][200];
            snprintf(why[k], sizeof why[k], "%s", err);
            many_stop(&mc[k]);
            contender_skip(&bc.c[k], kinds[k].label, why[k]);
            continue;
        }
        bc.c[k] = (struct contender){kinds[k].label, many_batch, &mc[k], NULL, 0};
    }
    bc.nops = calibrate_case(&bc, G.batch_ms, 10000000);
    bc.rounds = G.rounds;
    bc.warmup = G.warmup;
    run_case(&bc);
    report_case(&bc);
    for (int k = 0; k < bc.ncontenders; k++)
        if (bc.c[k].batch)
            many_stop(&mc[k]);
}
#endif

void scenario_wait_many(void)
{
    report_scenario("8", "Waiting on 64 objects, the last one signalled, vs on one",
                    "report (no goal).",
                    "64 unnamed auto-reset events; the last one (index 63) is the one set.  "
                    "*Already set*: one operation sets it, then waits (the wait returns at "
                    "once, having scanned the 63 others; one process, pinned).  *Woken by "
                    "another process*: one operation sets an event a child (on the other CPU) "
                    "waits on, and the child sets event 63 while the harness sleeps in the "
                    "wait - a wake-up round trip as in scenario 5.  The reference waits on the "
                    "one event alone with `shmap_wait`.");
#if BENCH_SYNC
    pin_cpu(G.cpu_a);
    progress("8. wait on 64 vs 1, already set");
    many_case(false);
    progress("8. wait on 64 vs 1, woken by another process");
    many_case(true);
    unpin();
#else
    report_note("Skipped: %s.", no_sync);
    report_verdict("8", "wait on 64 vs on 1: report", no_sync, -1);
#endif
}
