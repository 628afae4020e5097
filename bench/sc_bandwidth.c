/* sc_bandwidth.c - scenario 6: bandwidth through a shared view.  The
 * harness writes 1 GiB through a 64 MiB view of a shmap mapping, in 16 MiB
 * chunks that go round the view's four slots (QUICK: 64 MiB in 4 MiB
 * chunks through a 16 MiB view); a child process, with a view of its own of
 * the same name, reads each chunk back, then hands the slot back.  Writer
 * and reader overlap on the two CPUs.  Two ways to move the bytes:
 *  - fill + checksum: the writer fills the chunk (memset of a byte that
 *    depends on the chunk's number), the reader sums it as 64-bit words and
 *    checks the sum: one write and one read per byte, as memcpy does;
 *  - memcpy in + out: the writer memcpy's a private source into the chunk
 *    (stamped with its number), the reader memcpy's it out into a private
 *    buffer and checks the stamp: two copies per byte.
 * The reference is one process memcpy-ing the same bytes, in the same
 * chunks, from a private source into a private ring of the view's size.
 *
 * The hand-off is a pair of auto-reset shmap events per slot when the sync
 * API exists, a pair of pipes until then. */
#include "bench.h"

#include "shmap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

#define SLOTS 4

/* 16 MiB chunks through a 64 MiB view; QUICK: 4 MiB through 16 MiB, so that
 * its 64 MiB are still 16 chunks and the pipeline's fill and drain weigh
 * little. */
static size_t chunk_bytes = 16 * MIB;
static size_t view_bytes(void)
{
    return SLOTS * chunk_bytes;
}

struct bw_ctx {
    int id;
    bool copy; /* memcpy in + out (else fill + checksum) */
    char name[64];
    shmap_mapping *m;
    char *view;
    char *src; /* the writer's private source, one chunk */
    pid_t child;
    int full[2], empty[2]; /* pipe hand-off: writer -> reader, reader -> writer */
    bool inflight[SLOTS];
    uint64_t seq;            /* chunks written so far */
    volatile uint64_t *quit; /* in the mapping's last bytes */
#if BENCH_SYNC
    shmap_sync *ev_full[SLOTS], *ev_empty[SLOTS];
#endif
};

static bool use_events(void)
{
    return BENCH_SYNC;
}

/* ---- hand-off --------------------------------------------------------------- */

#if BENCH_SYNC
static int events_open(struct bw_ctx *c, bool create)
{
    for (int k = 0; k < SLOTS; k++) {
        char n[64];
        int rc;
        snprintf(n, sizeof n, "Local\\bench-bw%d-full-%d", c->id, k);
        rc = create ? shmap_event_create(n, SHMAP_CREATE_NEW, 0600, &c->ev_full[k])
                    : shmap_event_open(n, &c->ev_full[k]);
        if (rc != 0)
            return rc;
        snprintf(n, sizeof n, "Local\\bench-bw%d-empty-%d", c->id, k);
        rc = create ? shmap_event_create(n, SHMAP_CREATE_NEW, 0600, &c->ev_empty[k])
                    : shmap_event_open(n, &c->ev_empty[k]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void events_close(struct bw_ctx *c)
{
    for (int k = 0; k < SLOTS; k++) {
        if (c->ev_full[k])
            shmap_sync_close(c->ev_full[k]);
        if (c->ev_empty[k])
            shmap_sync_close(c->ev_empty[k]);
        c->ev_full[k] = c->ev_empty[k] = NULL;
    }
}
#endif

/* The slot is ready for the other side (FULL: for the reader). */
static int hand(struct bw_ctx *c, int slot, bool full)
{
#if BENCH_SYNC
    if (use_events())
        return shmap_event_set(full ? c->ev_full[slot] : c->ev_empty[slot]) == 0 ? 0 : -1;
#endif
    char b = (char)slot;
    return write_full(full ? c->full[1] : c->empty[1], &b, 1);
}

/* Waits for the slot (FULL: the reader waits for a full slot); gives up
 * after 10 s (the other side died). */
static int await(struct bw_ctx *c, int slot, bool full)
{
#if BENCH_SYNC
    if (use_events())
        return shmap_wait(full ? c->ev_full[slot] : c->ev_empty[slot], 10000) == 0 ? 0 : -1;
#endif
    char b;
    if (read_full(full ? c->full[0] : c->empty[0], &b, 1) != 0)
        return -1;
    return b == (char)slot ? 0 : -1;
}

/* ---- the data ------------------------------------------------------------------------ */

/* The byte chunk SEQ is filled with. */
static int fill_byte(uint64_t seq)
{
    return (int)(seq * 37 + 11) & 0xff;
}

/* The sum of the 64-bit words of a chunk filled for SEQ. */
static uint64_t fill_sum(uint64_t seq, size_t len)
{
    return (uint64_t)(len / 8) * (0x0101010101010101ull * (uint64_t)fill_byte(seq));
}

/* Sum of the 64-bit words of [P, P+LEN), LEN a multiple of 32; four
 * accumulators so that the compiler can vectorize it. */
static uint64_t checksum(const void *p, size_t len)
{
    const uint64_t *w = p;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i < len / 8; i += 4) {
        a += w[i];
        b += w[i + 1];
        c += w[i + 2];
        d += w[i + 3];
    }
    return a + b + c + d;
}

/* ---- the reader (child) --------------------------------------------------------- */

static void reader(struct bw_ctx *c)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pin_cpu(G.cpu_b);
    shmap_mapping *m;
    void *view;
    if (shmap_mapping_open(c->name, SHMAP_ACCESS_READ | SHMAP_ACCESS_WRITE, &m) != 0 ||
        shmap_view_map(m, SHMAP_ACCESS_READ, 0, 0, NULL, &view) != 0)
        _exit(2);
    shmap_mapping_close(m);
#if BENCH_SYNC
    if (use_events()) {
        memset(c->ev_full, 0, sizeof c->ev_full);
        memset(c->ev_empty, 0, sizeof c->ev_empty);
        if (events_open(c, false) != 0)
            _exit(2);
    }
#endif
    volatile uint64_t *quit = (volatile uint64_t *)((char *)view + view_bytes());
    char *dst = malloc(chunk_bytes);
    if (!dst)
        _exit(2);
    memset(dst, 0, chunk_bytes);
    for (uint64_t seq = 0;; seq++) {
        int slot = (int)(seq % SLOTS);
        if (await(c, slot, true) != 0)
            _exit(3);
        if (*quit)
            break;
        const char *p = (const char *)view + (size_t)slot * chunk_bytes;
        bool good;
        if (c->copy) {
            memcpy(dst, p, chunk_bytes);
            uint64_t stamp;
            memcpy(&stamp, dst, sizeof stamp);
            good = stamp == seq;
        } else {
            good = checksum(p, chunk_bytes) == fill_sum(seq, chunk_bytes);
        }
        if (!good)
            _exit(4); /* the writer sees the pipe or event go quiet */
        if (hand(c, slot, false) != 0)
            _exit(3);
    }
    _exit(0);
}

/* ---- the writer (the harness) and the reference ------------------------------------ */

static int bw_batch(void *vc, long nops, uint64_t *ns, char *err, size_t errlen)
{
    struct bw_ctx *c = vc;
    uint64_t t0 = now_ns();
    for (long i = 0; i < nops; i++, c->seq++) {
        int slot = (int)(c->seq % SLOTS);
        if (c->inflight[slot] && await(c, slot, false) != 0)
            return ERR("reader stopped answering (bad data or crash)");
        char *p = c->view + (size_t)slot * chunk_bytes;
        if (c->copy) {
            memcpy(p, c->src, chunk_bytes);
            memcpy(p, &c->seq, sizeof c->seq);
        } else {
            memset(p, fill_byte(c->seq), chunk_bytes);
        }
        c->inflight[slot] = true;
        if (hand(c, slot, true) != 0)
            return ERR("hand-off failed");
    }
    for (uint64_t s = c->seq; s < c->seq + SLOTS; s++) {
        int slot = (int)(s % SLOTS);
        if (c->inflight[slot] && await(c, slot, false) != 0)
            return ERR("reader stopped answering (bad data or crash)");
        c->inflight[slot] = false;
    }
    *ns = now_ns() - t0;
    return 0;
}

struct memcpy_ctx {
    char *src, *ring;
    uint64_t seq;
};

static int memcpy_batch(void *vc, long nops, uint64_t *ns, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct memcpy_ctx *c = vc;
    uint64_t t0 = now_ns();
    for (long i = 0; i < nops; i++, c->seq++)
        memcpy(c->ring + (c->seq % SLOTS) * chunk_bytes, c->src, chunk_bytes);
    *ns = now_ns() - t0;
    return 0;
}

static int bw_start(struct bw_ctx *c, int id, bool copy, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->id = id;
    c->copy = copy;
    c->full[0] = c->full[1] = c->empty[0] = c->empty[1] = -1;
    snprintf(c->name, sizeof c->name, "Local\\bench-bw%d", c->id);
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = view_bytes() + SHMAP_GRANULARITY; /* + room for the quit flag */
    int rc = shmap_mapping_create(c->name, &cfg, &c->m);
    if (rc == 0)
        rc = shmap_view_map(c->m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&c->view);
    if (rc != 0)
        return ERR("shmap: %s", shmap_strerror(rc));
    c->quit = (volatile uint64_t *)(c->view + view_bytes());
    c->src = malloc(chunk_bytes);
    if (!c->src)
        return ERR("out of memory");
    for (size_t i = 0; i < chunk_bytes; i++)
        c->src[i] = (char)(i * 7 + 1);
#if BENCH_SYNC
    if (use_events() && (rc = events_open(c, true)) != 0)
        return ERR("shmap_event_create: %s", shmap_strerror(rc));
#endif
    if (!use_events() && (pipe2(c->full, O_CLOEXEC) != 0 || pipe2(c->empty, O_CLOEXEC) != 0))
        return ERR("pipe: %s", strerror(errno));
    fflush(NULL);
    c->child = fork();
    if (c->child < 0)
        return ERR("fork: %s", strerror(errno));
    if (c->child == 0) {
        if (c->full[1] >= 0) {
            close(c->full[1]);
            close(c->empty[0]);
        }
        reader(c);
    }
    child_track(c->child);
    if (c->full[0] >= 0) { /* the reader's ends: a dead reader is then an EOF */
        close(c->full[0]);
        close(c->empty[1]);
        c->full[0] = c->empty[1] = -1;
    }
    return 0;
}

static void bw_stop(struct bw_ctx *c)
{
    if (c->child > 0) {
        *c->quit = 1;
        hand(c, (int)(c->seq % SLOTS), true);
        int st = child_reap(c->child);
        if (st != 0)
            progress("6. the reader exited with status %d", st);
        c->child = 0;
    }
#if BENCH_SYNC
    events_close(c);
#endif
    for (int i = 0; i < 2; i++) {
        if (c->full[i] >= 0)
            close(c->full[i]);
        if (c->empty[i] >= 0)
            close(c->empty[i]);
    }
    if (c->view)
        shmap_view_unmap(c->view);
    if (c->m)
        shmap_mapping_close(c->m);
    free(c->src);
}

void scenario_bandwidth(void)
{
    size_t total = G.quick ? 64 * MIB : 1 * GIB;
    chunk_bytes = G.quick ? 4 * MIB : 16 * MIB;
    report_scenario("6", "Bandwidth through a shared view",
                    "shmap's bytes per second ≥ 0.8× single-thread memcpy in one process.", "");
    report_note("One batch moves %zu MiB through a %zu MiB view of a shmap mapping, in %zu MiB "
                "chunks going round its 4 slots: the harness (CPU %d) writes a chunk, a child "
                "(CPU %d) with its own view of the same name reads it back and checks it, and "
                "hands the slot back (per slot: %s); writer and reader overlap.  "
                "*fill + checksum*: the writer memsets the chunk, the reader sums it as 64-bit "
                "words (one write and one read per byte, like memcpy).  *memcpy in + out*: the "
                "writer memcpy's it in from a private buffer, the reader memcpy's it out into "
                "another (two copies per byte: twice memcpy's memory traffic).  Reference: one "
                "process memcpy's the same chunks from a private buffer into a private ring of the "
                "view's size.",
                total / MIB, view_bytes() / MIB, chunk_bytes / MIB, G.cpu_a, G.cpu_b,
                use_events() ? "a pair of auto-reset shmap events"
                             : "pipes (the sync API is not there yet)");
    progress("6. bandwidth (%zu MiB a batch)", total / MIB);
    pin_cpu(G.cpu_a);
    static struct bw_ctx bw[2];
    static struct memcpy_ctx mc;
    static const char *labels[2] = {"shmap, fill + checksum", "shmap, memcpy in + out"};
    static char title[64];
    snprintf(title, sizeof title, "%zu MiB in %zu MiB chunks", total / MIB, chunk_bytes / MIB);
    struct bench_case bc = {.scenario = "6",
                            .title = title,
                            .metric = METRIC_RATE,
                            .unit = "GB/s",
                            .unit_scale = 1e9,
                            .nsubjects = 2,
                            .ncontenders = 3};
    for (int k = 0; k < 2; k++) {
        char err[200];
        if (bw_start(&bw[k], k, k == 1, err, sizeof err) == 0) {
            bc.c[k] = (struct contender){labels[k], bw_batch, &bw[k], NULL, (double)chunk_bytes};
        } else {
            static char why[2][200];
            snprintf(why[k], sizeof why[k], "%s", err);
            contender_skip(&bc.c[k], labels[k], why[k]);
        }
    }
    mc.src = malloc(chunk_bytes);
    mc.ring = malloc(view_bytes());
    if (!mc.src || !mc.ring)
        die("out of memory");
    memset(mc.src, 3, chunk_bytes);
    memset(mc.ring, 0, view_bytes());
    bc.c[2] = (struct contender){"memcpy, 1 process", memcpy_batch, &mc, NULL, (double)chunk_bytes};
    case_goal(&bc, 2, GOAL_MIN, 0.8, "shmap ≥ 0.8× memcpy");
    bc.nops = (long)(total / chunk_bytes);
    bc.rounds = G.quick ? 5 : 15;
    bc.warmup = 1;
    run_case(&bc);
    report_case(&bc);
    report_note("(p99 of so few rounds is their worst.)");
    for (int k = 0; k < 2; k++)
        bw_stop(&bw[k]);
    free(mc.src);
    free(mc.ring);
    unpin();
}
