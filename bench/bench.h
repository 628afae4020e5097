/* bench.h - declarations shared by the files of the shmap benchmark harness
 * (`make bench`): the run configuration, timing and CPU pinning, the
 * interleaved rounds that measure shmap and its peers side by side, the
 * statistics, the Markdown report, worker processes, and the client of the
 * Boost.Interprocess peer program (bench/boost_peer.cpp).
 *
 * Every figure is measured in rounds: in each round every contender of a
 * case runs one batch of NOPS operations (the order rotates from round to
 * round), timed with CLOCK_MONOTONIC around the whole batch; the statistics
 * are over the per-operation times of the batches. */
#ifndef BENCH_H
#define BENCH_H

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

/* The sync section of include/shmap.h (mutexes, events, semaphores, waits)
 * is used only when the Makefile found it there. */
#ifndef BENCH_SYNC
#define BENCH_SYNC 0
#endif

#define MAX_ROUNDS 400
#define MAX_CONTENDERS 8
#define KIB 1024ul
#define MIB (1024ul * 1024ul)
#define GIB (1024ul * 1024ul * 1024ul)

/* ---- Configuration of the run -------------------------------------------- */

struct bench_cfg {
    bool quick;              /* QUICK=1: every scenario, briefly */
    int rounds;              /* measured rounds of a case */
    int warmup;              /* unmeasured rounds before them */
    double batch_ms;         /* target length of one batch */
    int ncpu;                /* CPUs this process may run on */
    int cpu_a, cpu_b;        /* the two CPUs pinned to (equal on 1 CPU) */
    pid_t pid;               /* the harness's pid, in every name it makes */
    char root[128];          /* SHMAP_ROOT of the run's isolated store */
    char posix_prefix[64];   /* "/shmapbench-PID" for shm_open names */
    const char *only;        /* run only these scenarios ("1,5"), or NULL */
    const char *boost_path;  /* boost_peer program, or NULL */
    const char *boost_skip;  /* why the Boost column is skipped */
    const char *out_md;      /* Markdown report file */
    const char *data_dir;    /* scratch data for the plots */
    const char *plot_dir;    /* where PNGs go, NULL: no plots */
    const char *plot_skip;   /* why plots are skipped */
    const char *cc_version;  /* compiler of the harness */
    const char *cxx_version; /* compiler of the Boost peer */
};

extern struct bench_cfg G;

/* Whether scenario N is selected (--only). */
bool scenario_selected(int n);

/* ---- Time, CPUs, processes -------------------------------------------------- */

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Pins the calling process (all its threads) to CPU; 0 or -1. */
int pin_cpu(int cpu);

/* Lets the calling process run on every CPU again. */
void unpin(void);

/* Remembers a child to kill if the harness dies; forget it once reaped. */
void child_track(pid_t pid);
void child_forget(pid_t pid);

/* Waits for PID and returns its exit status (or 128+signal), untracking it. */
int child_reap(pid_t pid);

/* Reads or writes exactly N bytes (retrying EINTR, short transfers); 0 or
 * -1 (EOF counts as failure). */
int read_full(int fd, void *buf, size_t n);
int write_full(int fd, const void *buf, size_t n);

/* Fatal harness error: prints and exits (cleanup runs at exit). */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);

/* Writes a progress line to stderr. */
__attribute__((format(printf, 1, 2))) void progress(const char *fmt, ...);

/* Touches every 4 KiB page of [P, P+LEN) by writing one byte to it. */
void touch_pages(void *p, size_t len);

/* ---- Contenders and rounds ------------------------------------------------ */

/* Runs NOPS operations and stores the elapsed nanoseconds of the whole batch
 * in *NS; returns 0, or -1 after writing a reason to ERR (ERRLEN bytes). */
typedef int (*batch_fn)(void *ctx, long nops, uint64_t *ns, char *err, size_t errlen);

struct contender {
    const char *label; /* "shmap", "raw POSIX", ... */
    batch_fn batch;    /* NULL when skipped */
    void *ctx;
    const char *skip; /* why it is not measured (batch NULL) */
    double units;     /* for rates: bytes (or acquisitions) per op */
};

/* The measurements of one contender in one case. */
struct series {
    char label[64];
    char skip[200]; /* not measured, or failed: why */
    int n;
    double ns[MAX_ROUNDS]; /* nanoseconds per operation, one per batch */
    double units_per_op;   /* for rates: bytes (or acquisitions) per op */
};

/* How a case's figures read. */
enum metric {
    METRIC_TIME, /* time per operation: lower is better */
    METRIC_RATE, /* operations (or bytes) per second: higher is better */
};

/* The goal of a case: each subject's median against a reference's. */
enum goal_kind {
    GOAL_NONE, /* report only */
    GOAL_MAX,  /* subject/reference ratio (in the case's metric) <= bound */
    GOAL_MIN,  /* subject/reference ratio (in the case's metric) >= bound */
};

struct goal {
    int ref; /* index of the reference contender */
    enum goal_kind kind;
    double bound;
    const char *text; /* "shmap <= 1.5x raw POSIX" */
};

#define MAX_GOALS 6

struct bench_case {
    const char *scenario; /* "1" */
    const char *title;    /* shown as the case's heading row */
    enum metric metric;
    const char *unit;      /* for rates: "acq/s", "GB/s" */
    double unit_scale;     /* for rates: units per op / this = shown value */
    int nsubjects;         /* the first NSUBJECTS contenders are shmap's... */
    unsigned subject_mask; /* ...or, if not 0, those of these bits */
    int ncontenders;
    struct contender c[MAX_CONTENDERS];
    struct series s[MAX_CONTENDERS];
    int ngoals;
    struct goal goals[MAX_GOALS];
    long nops; /* operations per batch */
    int rounds, warmup;
};

/* Picks the batch size: doubles NOPS from 1 until contender C's batch takes
 * at least MS milliseconds (at most MAX_NOPS). */
long calibrate(struct contender *c, double ms, long max_nops);

/* The batch size of a case: the least that calibrate picks for any of its
 * contenders, so that no contender's batch takes much longer than MS. */
long calibrate_case(struct bench_case *bc, double ms, long max_nops);

/* Runs the case's rounds (bc->rounds, bc->warmup, bc->nops), contenders
 * interleaved, filling bc->s. */
void run_case(struct bench_case *bc);

/* Adds a goal to a case. */
void case_goal(struct bench_case *bc, int ref, enum goal_kind kind, double bound, const char *text);

/* A contender that is not measured, with the reason. */
void contender_skip(struct contender *c, const char *label, const char *why);

/* ---- Statistics ------------------------------------------------------------- */

struct stats {
    int n;
    double median, p10, p90, p99, min, max;
};

void stats_of(const double *v, int n, struct stats *st);

/* The Q-quantile (0..1) of V (N values), by linear interpolation. */
double quantile(const double *v, int n, double q);

/* ---- The report ------------------------------------------------------------- */

/* Starts the report: machine, run parameters.  Written to stdout and to
 * G.out_md as it goes. */
void report_open(void);

/* Prints a scenario's heading, its goal, and what it does. */
void report_scenario(const char *num, const char *title, const char *goal, const char *how);

/* Prints a note line (or paragraph) under the current scenario. */
__attribute__((format(printf, 1, 2))) void report_note(const char *fmt, ...);

/* Prints one line as it is (table rows of a scenario's own). */
__attribute__((format(printf, 1, 2))) void report_line(const char *fmt, ...);

/* Prints a case's table rows (the table header comes first when FIRST). */
void report_case(struct bench_case *bc);

/* Records a goal's verdict for the summary and returns a short verdict
 * text ("met", "missed", "n/a: why"). */
const char *report_verdict(const char *scenario, const char *goal, const char *measured, int met);

/* Prints the summary of every goal and closes the report. */
void report_close(void);

/* Formats a time in nanoseconds ("812 ns", "12.3 us", "4.56 ms"). */
const char *fmt_time(double ns, char *buf, size_t n);

/* ---- Worker processes --------------------------------------------------------
 * A worker is a child that runs batches on command: the parent sends NOPS,
 * the worker runs its batch function and answers with the nanoseconds (or
 * an error).  Its contender's batch is worker_batch with the worker as ctx. */

struct worker {
    pid_t pid;
    int cmd_fd;   /* parent writes commands */
    int reply_fd; /* parent reads replies */
};

/* Forks a worker that first calls SETUP(ARG) (unless NULL; a non-zero
 * return makes it exit with the message in ERR), then serves batches of
 * BATCH(ARG, ...) until told to stop, then calls TEARDOWN(ARG).  CPU >= 0
 * pins it.  Returns 0, or -1 with the reason in ERR. */
int worker_start(struct worker *w, int cpu, int (*setup)(void *, char *, size_t), batch_fn batch,
                 void (*teardown)(void *), void *arg, char *err, size_t errlen);

int worker_batch(void *w, long nops, uint64_t *ns, char *err, size_t errlen);

void worker_stop(struct worker *w);

/* ---- The Boost.Interprocess peer ---------------------------------------------- */

/* Starts bench/boost_peer (if G.boost_path); 0, or -1 (G.boost_skip set). */
int boost_start(void);

/* Whether the peer is running, and its BOOST_LIB_VERSION. */
bool boost_running(void);
const char *boost_version(void);

/* Sends one command line and reads the one-line answer into REPLY; returns
 * 0 when the answer starts with "OK", -1 otherwise (REPLY holds it). */
int boost_cmd(char *reply, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A contender running "<command prefix> NOPS" in the peer.  CTX is the
 * command prefix (a string that must live as long as the case). */
int boost_batch(void *ctx, long nops, uint64_t *ns, char *err, size_t errlen);

void boost_stop(void);

/* ---- Names -------------------------------------------------------------------- */

/* "/shmapbench-PID-TAG" into BUF. */
const char *posix_name(char *buf, size_t n, const char *tag);

/* Removes what the run may have left: /dev/shm/shmapbench-PID* and the store. */
void cleanup_names(void);

/* ---- Scenarios ------------------------------------------------------------------- */

void scenario_create(void);    /* 1 */
void scenario_open(void);      /* 2 */
void scenario_lock(void);      /* 3 */
void scenario_contend(void);   /* 4 */
void scenario_pingpong(void);  /* 5 */
void scenario_bandwidth(void); /* 6 */
void scenario_scaling(void);   /* 7 */
void scenario_wait_many(void); /* 8 */

/* ---- Plots -------------------------------------------------------------------------- */

/* Writes N values to DATA_DIR/NAME (one per line); returns the path or NULL. */
const char *data_write(const char *name, const double *v, size_t n);

/* Runs gnuplot on SCRIPT with the -e definitions DEFS; returns 0 or -1. */
int plot_run(const char *script, const char *defs);

#endif
