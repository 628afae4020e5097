/* sc_scaling.c - scenario 7: how shmap scales with the store.
 *  7a. time per create+close of a name while 10, 1,000, 10,000 and 100,000
 *      other names are in the store, held live by holder processes (the
 *      library sweeps stale names while creating, so stale fillers would
 *      not stay).  Each store size is a separate store (its own SHMAP_ROOT)
 *      with a worker process measuring in it, so that the sizes are
 *      interleaved round by round like any other contenders.  Every handle
 *      costs two descriptors: a holder raises RLIMIT_NOFILE as far as it
 *      may, and more holders share the names when that is not enough.
 *  7b. 64 processes open one name at once (released together by a pipe
 *      barrier): all must succeed; the time until the last one is done,
 *      against the same with raw POSIX shm_open. */
#include "bench.h"

#include "shmap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* ---- 7a. holders -------------------------------------------------------------- */

#define MAX_HOLDERS 64
#define NLEVELS 4

struct level {
    long names; /* other names in the store */
    char root[PATH_MAX];
    int nholders;
    pid_t holders[MAX_HOLDERS];
    int release[2];  /* holders exit when its write end closes */
    long per_holder; /* names per holder */
    double fill_s;   /* seconds the filling took */
    char limit_note[160];
};

/* A holder: creates COUNT names and keeps them until the release pipe closes,
 * then closes them all (so that the names go). */
static void holder(int h, long count, int release_fd, int ready_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    shmap_mapping **m = calloc((size_t)count, sizeof *m);
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = 4096;
    int rc = m ? 0 : SHMAP_ENOMEM;
    for (long i = 0; i < count && rc == 0; i++) {
        char name[64];
        snprintf(name, sizeof name, "Local\\fill-%d-%ld", h, i);
        rc = shmap_mapping_create(name, &cfg, &m[i]);
    }
    write_full(ready_fd, &rc, sizeof rc);
    close(ready_fd);
    char b;
    while (read(release_fd, &b, 1) < 0 && errno == EINTR)
        ;
    for (long i = 0; m && i < count; i++)
        if (m[i])
            shmap_mapping_close(m[i]);
    _exit(0);
}

/* In the level's worker: fills its store. */
static int level_setup(void *arg, char *err, size_t errlen)
{
    struct level *lv = arg;
    if (setenv("SHMAP_ROOT", lv->root, 1) != 0)
        return ERR("setenv: %s", strerror(errno));
    /* Each handle takes two descriptors. */
    rlim_t want = (rlim_t)lv->names * 2 + 64;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max < want) {
        struct rlimit up = {want, want};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
        else
            snprintf(lv->limit_note, sizeof lv->limit_note,
                     "RLIMIT_NOFILE could not be raised past %lu (%s)", (unsigned long)rl.rlim_max,
                     strerror(errno));
    }
    long cap = ((long)rl.rlim_max - 64) / 2;
    if (cap < 1)
        return ERR("RLIMIT_NOFILE too low");
    /* Two holders at least for big stores: the filling goes twice as fast. */
    lv->nholders = (int)((lv->names + cap - 1) / cap);
    if (lv->names >= 10000 && lv->nholders < G.ncpu)
        lv->nholders = G.ncpu;
    if (lv->nholders > MAX_HOLDERS)
        return ERR("would need %d holder processes", lv->nholders);
    lv->per_holder = (lv->names + lv->nholders - 1) / lv->nholders;
    if (pipe2(lv->release, O_CLOEXEC) != 0)
        return ERR("pipe: %s", strerror(errno));
    uint64_t t0 = now_ns();
    int ready[MAX_HOLDERS];
    long left = lv->names;
    for (int h = 0; h < lv->nholders; h++) {
        long count = left < lv->per_holder ? left : lv->per_holder;
        left -= count;
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0)
            return ERR("pipe: %s", strerror(errno));
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            return ERR("fork: %s", strerror(errno));
        if (pid == 0) {
            close(p[0]);
            close(lv->release[1]);
            unpin();
            holder(h, count, lv->release[0], p[1]);
        }
        close(p[1]);
        ready[h] = p[0];
        lv->holders[h] = pid;
    }
    close(lv->release[0]);
    int failed = 0;
    for (int h = 0; h < lv->nholders; h++) {
        int rc = SHMAP_EIO;
        read_full(ready[h], &rc, sizeof rc);
        close(ready[h]);
        if (rc != 0)
            failed = rc;
    }
    lv->fill_s = (double)(now_ns() - t0) / 1e9;
    if (failed)
        return ERR("filling the store failed: %s", shmap_strerror(failed));
    return 0;
}

static int level_batch(void *arg, long nops, uint64_t *ns, char *err, size_t errlen)
{
    (void)arg;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = 4096;
    cfg.flags = SHMAP_CREATE_NEW;
    uint64_t t0 = now_ns();
    for (long i = 0; i < nops; i++) {
        shmap_mapping *m;
        int rc = shmap_mapping_create("Local\\bench-scale", &cfg, &m);
        if (rc != 0)
            return ERR("shmap_mapping_create: %s", shmap_strerror(rc));
        shmap_mapping_close(m);
    }
    *ns = now_ns() - t0;
    return 0;
}

static void level_teardown(void *arg)
{
    struct level *lv = arg;
    close(lv->release[1]);
    for (int h = 0; h < lv->nholders; h++)
        child_reap(lv->holders[h]);
}

/* ---- 7b. 64 processes open one name at once ------------------------------------------ */

#define STORM 64

struct storm_result {
    uint64_t start, end; /* CLOCK_MONOTONIC, shared by all processes */
    int rc;
};

struct storm_ctx {
    bool posix;
    char name[64];
    struct storm_result *res; /* STORM entries, shared */
    long opens, failures;
    double lat[MAX_ROUNDS * 2]; /* median single-open latency per storm */
    int nlat;
    char first_error[120];
};

static void storm_child(struct storm_ctx *c, int i, int barrier)
{
    char b;
    while (read(barrier, &b, 1) < 0 && errno == EINTR)
        ;
    struct storm_result *r = &c->res[i];
    r->start = now_ns();
    if (c->posix) {
        int fd = shm_open(c->name, O_RDWR, 0);
        void *p = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) {
            r->rc = *(volatile char *)p == 42 ? 0 : -2;
            munmap(p, 4096);
        } else {
            r->rc = -errno;
        }
        if (fd >= 0)
            close(fd);
    } else {
        shmap_mapping *m;
        void *p;
        int rc = shmap_mapping_open(c->name, SHMAP_ACCESS_READ | SHMAP_ACCESS_WRITE, &m);
        if (rc == 0) {
            rc = shmap_view_map(m, SHMAP_ACCESS_READ, 0, 4096, NULL, &p);
            if (rc == 0) {
                rc = *(volatile char *)p == 42 ? 0 : SHMAP_ECORRUPT;
                shmap_view_unmap(p);
            }
            shmap_mapping_close(m);
        }
        r->rc = rc;
    }
    r->end = now_ns();
    _exit(0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int storm_batch(void *vc, long nops, uint64_t *ns, char *err, size_t errlen)
{
    struct storm_ctx *c = vc;
    uint64_t total = 0;
    for (long op = 0; op < nops; op++) {
        int barrier[2];
        if (pipe2(barrier, O_CLOEXEC) != 0)
            return ERR("pipe: %s", strerror(errno));
        memset(c->res, 0, STORM * sizeof *c->res);
        pid_t pids[STORM];
        fflush(NULL);
        for (int i = 0; i < STORM; i++) {
            pids[i] = fork();
            if (pids[i] < 0)
                return ERR("fork: %s", strerror(errno));
            if (pids[i] == 0) {
                close(barrier[1]);
                storm_child(c, i, barrier[0]);
            }
            child_track(pids[i]);
        }
        close(barrier[0]);
        usleep(2000); /* let them all reach the barrier */
        uint64_t t0 = now_ns();
        close(barrier[1]);
        for (int i = 0; i < STORM; i++)
            child_reap(pids[i]);
        uint64_t last = t0, lat[STORM];
        for (int i = 0; i < STORM; i++) {
            struct storm_result *r = &c->res[i];
            c->opens++;
            if (r->rc != 0 || r->end == 0) {
                c->failures++;
                if (!c->first_error[0])
                    snprintf(c->first_error, sizeof c->first_error, "%s",
                             c->posix ? strerror(-r->rc) : shmap_strerror(r->rc));
            }
            if (r->end > last)
                last = r->end;
            lat[i] = r->end > r->start ? r->end - r->start : 0;
        }
        qsort(lat, STORM, sizeof lat[0], cmp_u64);
        if (c->nlat < (int)(sizeof c->lat / sizeof c->lat[0]))
            c->lat[c->nlat++] = (double)lat[STORM / 2];
        total += last - t0;
    }
    *ns = total;
    return 0;
}

static void scaling_names(void)
{
    static const long counts[NLEVELS] = {10, 1000, 10000, 100000};
    /* QUICK: filling 100,000 names takes seconds; the full run has it. */
    int nlevels = G.quick ? NLEVELS - 1 : NLEVELS;
    /* Shared, so that the workers' notes (fill time, limits) come back. */
    struct level *lv =
        mmap(NULL, NLEVELS * sizeof *lv, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (lv == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    static struct worker w[NLEVELS];
    static char labels[NLEVELS][48];
    struct bench_case bc = {.scenario = "7",
                            .title = "create+close",
                            .metric = METRIC_TIME,
                            .ncontenders = nlevels,
                            .subject_mask = (1u << nlevels) - 2u};
    progress("7a. filling stores with 10 / 1000 / 10000%s names", G.quick ? "" : " / 100000");
    for (int k = 0; k < nlevels; k++) {
        memset(&lv[k], 0, sizeof lv[k]);
        lv[k].names = counts[k];
        snprintf(lv[k].root, sizeof lv[k].root, "%s-n%ld", G.root, counts[k]);
        snprintf(labels[k], sizeof labels[k], "%ld other names%s", counts[k],
                 k == 0 ? " (baseline)" : "");
        char err[200];
        if (worker_start(&w[k], G.cpu_a, level_setup, level_batch, level_teardown, &lv[k], err,
                         sizeof err) != 0) {
            static char why[NLEVELS][200];
            snprintf(why[k], sizeof why[k], "%s", err);
            contender_skip(&bc.c[k], labels[k], why[k]);
            continue;
        }
        bc.c[k] = (struct contender){labels[k], worker_batch, &w[k], NULL, 0};
    }
    case_goal(&bc, 0, GOAL_MAX, 1.5, "≤ 1.5× the time with 10 names");
    bc.nops = calibrate_case(&bc, G.batch_ms, 100000);
    bc.rounds = G.rounds;
    bc.warmup = G.warmup;
    progress("7a. measuring");
    run_case(&bc);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    report_note("Each store size is its own store, filled by holder processes that keep "
                "their names open (live: a stale name would be swept by the next create).  "
                "A handle takes 2 descriptors, so 100,000 names need 200,000: the harness's "
                "RLIMIT_NOFILE is %lu (hard %lu).  Each store's worker tries to raise it "
                "(that needs CAP_SYS_RESOURCE; at most fs.nr_open); where it cannot, the names "
                "are shared out among more holder processes, each under the limit.  Batches of "
                "create+close (4 KiB, `SHMAP_CREATE_NEW`) run in a worker process per store, "
                "pinned to CPU %d, interleaved round by round.",
                (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max, G.cpu_a);
    report_case(&bc);
    if (G.quick)
        report_line("- QUICK: the 100,000-name store is left out (filling it takes seconds).");
    for (int k = 0; k < nlevels; k++)
        if (bc.c[k].batch)
            report_line("- %ld names: %d holder process(es), filled in %.2f s%s%s", lv[k].names,
                        lv[k].nholders, lv[k].fill_s, lv[k].limit_note[0] ? "; " : "",
                        lv[k].limit_note);
    report_line("%s", "");
    /* The plot: median and p10-p90 against the store size. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/scaling.dat", G.data_dir);
    FILE *f = fopen(path, "w");
    for (int k = 0; f && k < nlevels; k++) {
        struct series *s = &bc.s[k];
        if (s->n == 0)
            continue;
        struct stats st;
        stats_of(s->ns, s->n, &st);
        fprintf(f, "%ld %.3f %.3f %.3f\n", counts[k], st.median / 1e3, st.p10 / 1e3, st.p90 / 1e3);
    }
    if (f)
        fclose(f);
    if (G.plot_dir) {
        char defs[PATH_MAX * 2 + 64];
        snprintf(defs, sizeof defs, "data='%s'; out='%s/scaling.png'", path, G.plot_dir);
        if (plot_run("bench/scaling.gp", defs) == 0)
            report_note("Plot: `%s/scaling.png` (time per create+close against the number of "
                        "other names).",
                        G.plot_dir);
        else
            report_note("Plot: gnuplot failed.");
    }
    progress("7a. releasing the holders (they close their names)");
    for (int k = 0; k < nlevels; k++)
        worker_stop(&w[k]);
    munmap(lv, NLEVELS * sizeof *lv);
}

static void scaling_storm(void)
{
    progress("7b. %d processes opening one name at once", STORM);
    unpin();
    static struct storm_ctx sh, px;
    struct storm_result *res = mmap(NULL, 2 * STORM * sizeof *res, PROT_READ | PROT_WRITE,
                                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (res == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    memset(&sh, 0, sizeof sh);
    memset(&px, 0, sizeof px);
    sh.res = res;
    px.res = res + STORM;
    px.posix = true;
    snprintf(sh.name, sizeof sh.name, "Local\\bench-storm");
    posix_name(px.name, sizeof px.name, "storm");
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = 4096;
    shmap_mapping *held = NULL;
    void *view = NULL;
    int rc = shmap_mapping_create(sh.name, &cfg, &held);
    if (rc == 0)
        rc = shmap_view_map(held, SHMAP_ACCESS_WRITE, 0, 0, NULL, &view);
    if (rc == 0)
        *(char *)view = 42;
    int pfd = shm_open(px.name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (pfd < 0 || ftruncate(pfd, 4096) != 0 || pwrite(pfd, "*", 1, 0) != 1)
        die("shm_open %s: %s", px.name, strerror(errno));
    struct bench_case bc = {.scenario = "7",
                            .title = "64 opens at once",
                            .metric = METRIC_TIME,
                            .nsubjects = 1,
                            .ncontenders = 2};
    if (rc == 0)
        bc.c[0] = (struct contender){"shmap", storm_batch, &sh, NULL, 0};
    else
        contender_skip(&bc.c[0], "shmap", shmap_strerror(rc));
    bc.c[1] = (struct contender){"raw POSIX", storm_batch, &px, NULL, 0};
    bc.nops = 1;
    bc.rounds = G.quick ? 3 : 30;
    bc.warmup = 1;
    run_case(&bc);
    report_note("Per round: %d children block on one pipe; closing its write end releases them "
                "together; each opens the name (read-write), maps 4 KiB, reads the byte the "
                "harness wrote, unmaps, closes.  The figure is the time from the release to the "
                "last child done (both CPUs, unpinned).  Goal: every open succeeds.",
                STORM);
    report_case(&bc);
    for (int k = 0; k < 2; k++) {
        struct storm_ctx *c = k ? &px : &sh;
        if (!bc.c[k].batch)
            continue;
        char a[32];
        double med = quantile(c->lat, c->nlat, 0.5);
        const char *v = "reference";
        if (k == 0) {
            char measured[200];
            snprintf(measured, sizeof measured,
                     "%ld of %ld opens failed%s%s; all done in %s "
                     "(median)",
                     c->failures, c->opens, c->failures ? ", first: " : "", c->first_error,
                     fmt_time(quantile(bc.s[0].ns, bc.s[0].n, 0.5), a, sizeof a));
            v = report_verdict("7", "64 opens at once: every open succeeds", measured,
                               c->failures == 0);
        }
        report_line("- %s: %ld opens, %ld failed%s%s; a single open took %s (median) → %s",
                    bc.c[k].label, c->opens, c->failures, c->failures ? ", first: " : "",
                    c->first_error, fmt_time(med, a, sizeof a), v);
    }
    report_line("%s", "");
    if (view)
        shmap_view_unmap(view);
    if (held)
        shmap_mapping_close(held);
    close(pfd);
    shm_unlink(px.name);
    munmap(res, 2 * STORM * sizeof *res);
}

void scenario_scaling(void)
{
    report_scenario("7", "Scaling: store size, and many processes at once",
                    "create+close flat within 1.5× from 10 to 100,000 other names; 64 "
                    "processes opening one name at once all succeed (time reported).",
                    "");
    scaling_names();
    scaling_storm();
}
