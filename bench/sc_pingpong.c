/* sc_pingpong.c - scenario 5: the wake-up round trip between two processes
 * pinned to different CPUs.  One round trip: the harness wakes the child,
 * the child wakes the harness back.  shmap's auto-reset events against a
 * raw futex ping-pong, POSIX semaphores (sem_t in shared memory), a pair of
 * pipes and Boost's interprocess_condition.  Besides the batch statistics,
 * every round trip is timed on its own for the latency distribution (the
 * table of percentiles, and the plot when gnuplot is there). */
#include "bench.h"

#include "shmap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <math.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

enum pp_kind { PP_SHMAP, PP_FUTEX, PP_SEM, PP_PIPE, PP_SPIN, PP_KINDS };

/* How long the spinning futex variant polls before it sleeps. */
#define SPIN_NS 20000

struct pp_shared {
    uint32_t to_child, to_parent; /* futex words: 1 = signalled */
    uint32_t quit;
    sem_t sem_child, sem_parent;
};

struct pp_ctx {
    enum pp_kind kind;
    pid_t child;
    struct pp_shared *sh;
    int p2c[2], c2p[2];
#if BENCH_SYNC
    shmap_sync *ev_child, *ev_parent;
#endif
    double *samples; /* every round trip, ns */
    size_t nsamples, cap;
    bool record;
};

/* ---- futex ----------------------------------------------------------------- */

static long futex(uint32_t *word, int op, uint32_t val)
{
    return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static void futex_signal(uint32_t *w)
{
    __atomic_store_n(w, 1, __ATOMIC_RELEASE);
    futex(w, FUTEX_WAKE, 1);
}

static void futex_await(uint32_t *w)
{
    while (__atomic_exchange_n(w, 0, __ATOMIC_ACQUIRE) == 0)
        futex(w, FUTEX_WAIT, 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Polls the word for up to SPIN_NS, then sleeps as futex_await.  The
 * signaller still always calls FUTEX_WAKE (a real one would count
 * sleepers). */
static void futex_spin_await(uint32_t *w)
{
    uint64_t t0 = now_ns();
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (__atomic_load_n(w, __ATOMIC_RELAXED) && __atomic_exchange_n(w, 0, __ATOMIC_ACQUIRE))
                return;
            cpu_relax();
        }
        if (now_ns() - t0 > SPIN_NS)
            break;
    }
    futex_await(w);
}

/* ---- the two sides ------------------------------------------------------------ */

/* Wakes the other side (TO_CHILD: the child). */
static int pp_signal(struct pp_ctx *c, bool to_child)
{
    switch (c->kind) {
    case PP_FUTEX:
    case PP_SPIN:
        futex_signal(to_child ? &c->sh->to_child : &c->sh->to_parent);
        return 0;
    case PP_SEM:
        return sem_post(to_child ? &c->sh->sem_child : &c->sh->sem_parent);
    case PP_PIPE:
        return write(to_child ? c->p2c[1] : c->c2p[1], "x", 1) == 1 ? 0 : -1;
    case PP_SHMAP:
#if BENCH_SYNC
        return shmap_event_set(to_child ? c->ev_child : c->ev_parent);
#else
        return -1;
#endif
    case PP_KINDS:
        break;
    }
    return -1;
}

/* Waits to be woken (FOR_CHILD: the child waits). */
static int pp_wait(struct pp_ctx *c, bool for_child)
{
    char b;
    switch (c->kind) {
    case PP_FUTEX:
        futex_await(for_child ? &c->sh->to_child : &c->sh->to_parent);
        return 0;
    case PP_SPIN:
        futex_spin_await(for_child ? &c->sh->to_child : &c->sh->to_parent);
        return 0;
    case PP_SEM:
        while (sem_wait(for_child ? &c->sh->sem_child : &c->sh->sem_parent) != 0)
            if (errno != EINTR)
                return -1;
        return 0;
    case PP_PIPE:
        return read(for_child ? c->p2c[0] : c->c2p[0], &b, 1) == 1 ? 0 : -1;
    case PP_SHMAP:
#if BENCH_SYNC
        return shmap_wait(for_child ? c->ev_child : c->ev_parent, SHMAP_INFINITE) == 0 ? 0 : -1;
#else
        return -1;
#endif
    case PP_KINDS:
        break;
    }
    return -1;
}

static void pp_child_loop(struct pp_ctx *c)
{
    for (;;) {
        if (pp_wait(c, true) != 0)
            _exit(1);
        if (__atomic_load_n(&c->sh->quit, __ATOMIC_ACQUIRE))
            _exit(0);
        if (pp_signal(c, false) != 0)
            _exit(1);
    }
}

static int pp_batch(void *vc, long nops, uint64_t *ns, char *err, size_t errlen)
{
    struct pp_ctx *c = vc;
    if (c->record && c->nsamples + (size_t)nops > c->cap) {
        size_t cap = (c->nsamples + (size_t)nops) * 2;
        double *s = realloc(c->samples, cap * sizeof *s);
        if (!s)
            return ERR("out of memory");
        c->samples = s;
        c->cap = cap;
    }
    uint64_t t0 = now_ns(), prev = t0;
    for (long i = 0; i < nops; i++) {
        if (pp_signal(c, true) != 0 || pp_wait(c, false) != 0)
            return ERR("round trip failed: %s", strerror(errno));
        uint64_t t = now_ns();
        if (c->record)
            c->samples[c->nsamples++] = (double)(t - prev);
        prev = t;
    }
    *ns = prev - t0;
    return 0;
}

static int pp_start(struct pp_ctx *c, enum pp_kind kind, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->p2c[0] = c->p2c[1] = c->c2p[0] = c->c2p[1] = -1;
    c->sh = mmap(NULL, sizeof *c->sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c->sh == MAP_FAILED)
        return ERR("mmap: %s", strerror(errno));
    memset(c->sh, 0, sizeof *c->sh);
    if (kind == PP_SEM &&
        (sem_init(&c->sh->sem_child, 1, 0) != 0 || sem_init(&c->sh->sem_parent, 1, 0) != 0))
        return ERR("sem_init: %s", strerror(errno));
    if (kind == PP_PIPE && (pipe2(c->p2c, O_CLOEXEC) != 0 || pipe2(c->c2p, O_CLOEXEC) != 0))
        return ERR("pipe: %s", strerror(errno));
#if BENCH_SYNC
    if (kind == PP_SHMAP) {
        /* Named auto-reset events; the child inherits the handles. */
        int rc = shmap_event_create("Local\\bench-pp-child", SHMAP_CREATE_NEW, 0600, &c->ev_child);
        if (rc == 0)
            rc =
                shmap_event_create("Local\\bench-pp-parent", SHMAP_CREATE_NEW, 0600, &c->ev_parent);
        if (rc != 0)
            return ERR("shmap_event_create: %s", shmap_strerror(rc));
    }
#else
    if (kind == PP_SHMAP)
        return ERR("no sync API");
#endif
    fflush(NULL);
    c->child = fork();
    if (c->child < 0)
        return ERR("fork: %s", strerror(errno));
    if (c->child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        pin_cpu(G.cpu_b);
        pp_child_loop(c);
    }
    child_track(c->child);
    return 0;
}

static void pp_stop(struct pp_ctx *c)
{
    if (c->child > 0) {
        __atomic_store_n(&c->sh->quit, 1, __ATOMIC_RELEASE);
        pp_signal(c, true);
        child_reap(c->child);
        c->child = 0;
    }
    if (c->kind == PP_SEM) {
        sem_destroy(&c->sh->sem_child);
        sem_destroy(&c->sh->sem_parent);
    }
    for (int i = 0; i < 2; i++) {
        if (c->p2c[i] >= 0)
            close(c->p2c[i]);
        if (c->c2p[i] >= 0)
            close(c->c2p[i]);
    }
#if BENCH_SYNC
    if (c->ev_child)
        shmap_sync_close(c->ev_child);
    if (c->ev_parent)
        shmap_sync_close(c->ev_parent);
#endif
    if (c->sh && c->sh != MAP_FAILED)
        munmap(c->sh, sizeof *c->sh);
}

/* ---- distribution ---------------------------------------------------------------- */

static double *read_samples(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    *n = 0;
    if (!f)
        return NULL;
    size_t cap = 1024;
    double *v = malloc(cap * sizeof *v);
    double x;
    while (v && fscanf(f, "%lf", &x) == 1) {
        if (*n == cap) {
            double *g = realloc(v, (cap *= 2) * sizeof *v);
            if (!g)
                break;
            v = g;
        }
        v[(*n)++] = x;
    }
    fclose(f);
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Writes the empirical CDF (about 2000 points) of V for gnuplot. */
static void write_cdf(const char *file, double *v, size_t n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", G.data_dir, file);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    size_t step = n / 2000 + 1;
    for (size_t i = 0; i < n; i += step)
        fprintf(f, "%.3f %.6f\n", v[i] / 1e3, (double)(i + 1) / (double)n);
    if (n)
        fprintf(f, "%.3f 1.0\n", v[n - 1] / 1e3);
    fclose(f);
}

void scenario_pingpong(void)
{
    report_scenario("5", "Wake-up round trip between two processes (ping-pong)",
                    "shmap ≤ 1.3× raw futex; shmap ≥ 3× faster than a pipe (time ratio ≤ "
                    "0.33×); POSIX semaphores and Boost reported.",
                    "");
    report_note("One operation is a round trip: the harness (pinned to CPU %d) wakes a child "
                "(pinned to CPU %d), which wakes the harness back; both sleep in the kernel when "
                "they have to wait.  shmap: two auto-reset events, `shmap_event_set` + "
                "`shmap_wait`.  raw futex: a word each way, store + FUTEX_WAKE / exchange + "
                "FUTEX_WAIT, no spinning.  POSIX semaphores: two `sem_t` (pshared) in shared "
                "memory, `sem_post`/`sem_wait`.  pipe: one byte each way over two pipes.  Boost: "
                "`interprocess_mutex` + two `interprocess_condition` and a turn flag, in the "
                "peer process and its forked child, pinned the same way.  For information, "
                "not a goal: *futex, spin 20 us first* polls the word for up to 20 us before "
                "sleeping, which is what a waiter that does not sleep at once would get.",
                G.cpu_a, G.cpu_b);
    progress("5. ping-pong");
    pin_cpu(G.cpu_a);
    static struct pp_ctx ctx[PP_KINDS];
    static const char *labels[] = {"shmap event", "raw futex", "POSIX sem_t", "pipe",
                                   "futex, spin 20 us first (info)"};
    enum { BOOST = PP_KINDS };
    struct bench_case bc = {.scenario = "5",
                            .title = "round trip",
                            .metric = METRIC_TIME,
                            .nsubjects = 1,
                            .ncontenders = PP_KINDS + 1};
    char err[200];
    for (int k = 0; k < PP_KINDS; k++) {
        if (k == PP_SHMAP && !BENCH_SYNC) {
            contender_skip(&bc.c[k], labels[k], "sync API not in include/shmap.h yet");
            continue;
        }
        if (pp_start(&ctx[k], (enum pp_kind)k, err, sizeof err) != 0) {
            static char why[PP_KINDS][200];
            snprintf(why[k], sizeof why[k], "%s", err);
            pp_stop(&ctx[k]);
            contender_skip(&bc.c[k], labels[k], why[k]);
            continue;
        }
        bc.c[k] = (struct contender){labels[k], pp_batch, &ctx[k], NULL, 0};
    }
    char boost_samples[PATH_MAX], reply[256];
    snprintf(boost_samples, sizeof boost_samples, "%s/pingpong-boost.raw", G.data_dir);
    bool boost = boost_running() && boost_cmd(reply, sizeof reply, "pp_setup /dev/null") == 0;
    if (boost)
        bc.c[BOOST] = (struct contender){"Boost condition", boost_batch, "pp", NULL, 0};
    else
        contender_skip(&bc.c[BOOST], "Boost condition",
                       boost_running() ? "pp_setup failed" : G.boost_skip);
    case_goal(&bc, PP_FUTEX, GOAL_MAX, 1.3, "shmap ≤ 1.3× raw futex");
    case_goal(&bc, PP_PIPE, GOAL_MAX, 1.0 / 3.0, "shmap ≥ 3× faster than pipe (≤ 0.33×)");
    bc.nops = calibrate_case(&bc, G.batch_ms, 1000000);
    /* Restart Boost's peer with its samples recorded, now that warm-up and
     * calibration are done. */
    if (boost) {
        boost_cmd(reply, sizeof reply, "pp_teardown");
        boost = boost_cmd(reply, sizeof reply, "pp_setup %s", boost_samples) == 0;
        if (!boost)
            contender_skip(&bc.c[BOOST], "Boost condition", "pp_setup failed");
    }
    for (int k = 0; k < PP_KINDS; k++)
        ctx[k].record = true;
    bc.rounds = G.rounds;
    bc.warmup = G.warmup;
    run_case(&bc);
    size_t skip = (size_t)bc.warmup * (size_t)bc.nops; /* the warm-up rounds' samples */
    report_case(&bc);
    if (boost)
        boost_cmd(reply, sizeof reply, "pp_teardown");

    /* The distribution of single round trips. */
    report_note("Single round trips, every one timed (n = rounds × batch; warm-up left out):");
    report_line("| implementation | n | p50 | p90 | p99 | p99.9 | max |");
    report_line("|---|---:|---:|---:|---:|---:|---:|");
    char defs[4096] = "";
    size_t dl = 0;
    for (int k = 0; k <= BOOST; k++) {
        double *v;
        size_t n;
        if (k < PP_KINDS) {
            v = ctx[k].samples;
            n = ctx[k].nsamples;
        } else {
            v = boost ? read_samples(boost_samples, &n) : NULL;
            if (!v)
                n = 0;
        }
        if (n <= skip) {
            if (k == BOOST)
                free(v);
            continue;
        }
        double *all = v;
        v += skip;
        n -= skip;
        qsort(v, n, sizeof *v, cmp_double);
        char a[5][32];
        double q[5] = {0.5, 0.9, 0.99, 0.999, 1.0};
        for (int i = 0; i < 5; i++)
            fmt_time(v[(size_t)(q[i] * (double)(n - 1))], a[i], sizeof a[i]);
        report_line("| %s | %zu | %s | %s | %s | %s | %s |", bc.c[k].label, n, a[0], a[1], a[2],
                    a[3], a[4]);
        char file[64];
        snprintf(file, sizeof file, "pingpong-%d.cdf", k);
        write_cdf(file, v, n);
        dl += (size_t)snprintf(defs + dl, sizeof defs - dl, "f%d='%s/%s'; t%d='%s'; ", k,
                               G.data_dir, file, k, bc.c[k].label);
        if (k == BOOST)
            free(all);
    }
    report_line("%s", "");
    if (G.plot_dir) {
        char png[PATH_MAX + 64];
        snprintf(png, sizeof png, "out='%s/pingpong.png'", G.plot_dir);
        if (dl + strlen(png) < sizeof defs)
            strcat(defs, png);
        if (plot_run("bench/pingpong.gp", defs) == 0)
            report_note("Plot: `%s/pingpong.png` (CDF of single round trips).", G.plot_dir);
        else
            report_note("Plot: gnuplot failed.");
    }
    for (int k = 0; k < PP_KINDS; k++) {
        if (bc.c[k].batch)
            pp_stop(&ctx[k]);
        free(ctx[k].samples);
    }
    unpin();
}
