/* bench.c - main program of `make bench`: measures shmap side by side with
 * its peers (raw POSIX shm/pthread/futex/semaphores/pipes, memcpy, and
 * Boost.Interprocess through bench/boost_peer) in one run, interleaved, and
 * prints a Markdown report with ratios and goals (see bench/README.md).
 *
 * Usage: shmap-bench [--quick] [--only 1,5,...] [--out FILE] [--data DIR]
 *        [--boost PATH | --no-boost REASON] [--plots DIR | --no-plots REASON]
 *        [--cc VERSION] [--cxx VERSION] */
#include "bench.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct bench_cfg G;

bool scenario_selected(int n)
{
    if (!G.only)
        return true;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", G.only);
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save))
        if (atoi(tok) == n)
            return true;
    return false;
}

/* ---- Rounds ------------------------------------------------------------------- */

void contender_skip(struct contender *c, const char *label, const char *why)
{
    memset(c, 0, sizeof *c);
    c->label = label;
    c->skip = why;
}

void case_goal(struct bench_case *bc, int ref, enum goal_kind kind, double bound, const char *text)
{
    if (bc->ngoals < MAX_GOALS)
        bc->goals[bc->ngoals++] = (struct goal){ref, kind, bound, text};
}

long calibrate(struct contender *c, double ms, long max_nops)
{
    if (!c->batch)
        return 1;
    double target = ms * 1e6;
    long n = 1;
    char err[200];
    uint64_t cold;
    /* The first operation pays first-time costs (page faults, caches). */
    if (c->batch(c->ctx, 1, &cold, err, sizeof err) != 0)
        return 1; /* run_case reports the failure */
    for (;;) {
        /* The best of 3, so that one preempted batch does not decide. */
        uint64_t best = UINT64_MAX;
        for (int t = 0; t < 3; t++) {
            uint64_t ns = 0;
            if (c->batch(c->ctx, n, &ns, err, sizeof err) != 0)
                return n; /* run_case reports the failure */
            if (ns < best)
                best = ns;
        }
        if (n >= max_nops)
            return max_nops;
        if (best >= target / 4) {
            double per = (double)best / (double)n;
            long want = (long)(target / per + 0.5);
            if (want < 1)
                want = 1;
            return want > max_nops ? max_nops : want;
        }
        n *= 2;
    }
}

long calibrate_case(struct bench_case *bc, double ms, long max_nops)
{
    long best = max_nops;
    for (int i = 0; i < bc->ncontenders; i++)
        if (bc->c[i].batch) {
            long n = calibrate(&bc->c[i], ms, max_nops);
            if (n < best)
                best = n;
        }
    return best;
}

void run_case(struct bench_case *bc)
{
    int nc = bc->ncontenders;
    bool failed[MAX_CONTENDERS] = {false};
    for (int i = 0; i < nc; i++) {
        struct series *s = &bc->s[i];
        memset(s, 0, sizeof *s);
        snprintf(s->label, sizeof s->label, "%s", bc->c[i].label);
        s->units_per_op = bc->c[i].units > 0 ? bc->c[i].units : 1;
        if (!bc->c[i].batch) {
            snprintf(s->skip, sizeof s->skip, "skipped: %s",
                     bc->c[i].skip ? bc->c[i].skip : "not available");
            failed[i] = true;
        }
    }
    if (bc->nops < 1)
        bc->nops = 1;
    int total = bc->warmup + bc->rounds;
    for (int r = 0; r < total; r++) {
        for (int k = 0; k < nc; k++) {
            int i = (r + k) % nc;
            if (failed[i])
                continue;
            struct series *s = &bc->s[i];
            uint64_t ns = 0;
            char err[200] = "";
            if (bc->c[i].batch(bc->c[i].ctx, bc->nops, &ns, err, sizeof err) != 0) {
                snprintf(s->skip, sizeof s->skip, "FAILED: %s", err);
                s->n = 0;
                failed[i] = true;
                progress("%s / %s failed: %s", bc->title, s->label, err);
                continue;
            }
            if (r >= bc->warmup && s->n < MAX_ROUNDS)
                s->ns[s->n++] = (double)ns / (double)bc->nops;
        }
    }
}

/* ---- Setup and cleanup ---------------------------------------------------------- */

static void at_exit(void)
{
    if (getpid() == G.pid)
        cleanup_names();
}

static void on_signal(int sig)
{
    if (getpid() == G.pid) {
        cleanup_names();
        signal(sig, SIG_DFL);
        raise(sig);
    }
    _exit(128 + sig);
}

static void usage(void)
{
    fprintf(stderr, "usage: shmap-bench [--quick] [--only 1,5,...] [--out FILE] [--data DIR]\n"
                    "       [--boost PATH | --no-boost REASON] [--plots DIR | --no-plots REASON]\n"
                    "       [--cc VERSION] [--cxx VERSION]\n");
    exit(2);
}

static void pick_cpus(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    G.cpu_a = G.cpu_b = 0;
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        G.ncpu = 1;
        return;
    }
    G.ncpu = CPU_COUNT(&set);
    int found = 0;
    for (int i = 0; i < CPU_SETSIZE && found < 2; i++)
        if (CPU_ISSET(i, &set)) {
            if (found++ == 0)
                G.cpu_a = G.cpu_b = i;
            else
                G.cpu_b = i;
        }
}

int main(int argc, char **argv)
{
    G.out_md = "bench/results/latest.md";
    G.data_dir = "build/bench/data";
    G.plot_skip = "skipped: gnuplot not installed (make bench PLOTS=1 installs it)";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0)
            G.quick = true;
        else if (!v)
            usage();
        else if (strcmp(a, "--only") == 0)
            G.only = v, i++;
        else if (strcmp(a, "--out") == 0)
            G.out_md = v, i++;
        else if (strcmp(a, "--data") == 0)
            G.data_dir = v, i++;
        else if (strcmp(a, "--boost") == 0)
            G.boost_path = v, i++;
        else if (strcmp(a, "--no-boost") == 0)
            G.boost_skip = v, i++;
        else if (strcmp(a, "--plots") == 0)
            G.plot_dir = v, i++;
        else if (strcmp(a, "--no-plots") == 0)
            G.plot_skip = v, i++;
        else if (strcmp(a, "--cc") == 0)
            G.cc_version = v, i++;
        else if (strcmp(a, "--cxx") == 0)
            G.cxx_version = v, i++;
        else
            usage();
    }
    if (!G.boost_path && !G.boost_skip)
        G.boost_skip = "no --boost given";
    G.pid = getpid();
    G.rounds = G.quick ? 7 : 200;
    G.warmup = G.quick ? 1 : 3;
    G.batch_ms = G.quick ? 0.5 : 4;
    pick_cpus();
    snprintf(G.root, sizeof G.root, "/dev/shm/shmapbench-%ld-store", (long)G.pid);
    snprintf(G.posix_prefix, sizeof G.posix_prefix, "/shmapbench-%ld", (long)G.pid);
    if (setenv("SHMAP_ROOT", G.root, 1) != 0)
        die("setenv: %s", strerror(errno));
    mkdir(G.data_dir, 0755);
    atexit(at_exit);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGPIPE, SIG_IGN);

    uint64_t t0 = now_ns();
    boost_start();
    report_open();
    void (*scenarios[])(void) = {scenario_create,  scenario_open,     scenario_lock,
                                 scenario_contend, scenario_pingpong, scenario_bandwidth,
                                 scenario_scaling, scenario_wait_many};
    for (int i = 0; i < 8; i++)
        if (scenario_selected(i + 1)) {
            uint64_t s0 = now_ns();
            scenarios[i]();
            progress("scenario %d took %.1f s", i + 1, (double)(now_ns() - s0) / 1e9);
        }
    char load[128] = "unknown";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(load, sizeof load, f))
            snprintf(load, sizeof load, "unknown");
        load[strcspn(load, "\n")] = '\0';
        fclose(f);
    }
    report_note("Whole run: %.1f s; load average at the end: %s.", (double)(now_ns() - t0) / 1e9,
                load);
    report_close();
    boost_stop();
    cleanup_names();
    return 0;
}
