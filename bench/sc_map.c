/* sc_map.c - scenarios 1 and 2: the life cycle of a mapping.
 *  1. create a named mapping, map it, touch every page, unmap, close, at
 *     64 KiB, 1 MiB and 64 MiB: shmap vs raw POSIX shm vs Boost;
 *  2. open an existing name (held by the harness), map, unmap, close. */
#include "bench.h"

#include "shmap.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* ---- 1. create, map, touch, unmap, close -------------------------------------- */

struct create_ctx {
    size_t size;
    char name[64];
};

static int create_shmap(void *vc, long nops, uint64_t *ns, char *err, size_t errlen)
{
    struct create_ctx *c = vc;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = c->size;
    cfg.flags = SHMAP_CREATE_NEW;
    uint64_t t0 = now_ns();
    for (long i = 0; i < nops; i++) {
        shmap_mapping *m;
        void *p;
        int rc = shmap_mapping_create(c->name, &cfg, &m);
        if (rc != 0)
            return ERR("shmap_mapping_create: %s", shmap_strerror(rc));
        rc = shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, &p);
        if (rc != 0)
            return ERR("shmap_view_map: %s", shmap_strerror(rc));
        touch_pages(p, c->size);
        shmap_view_unmap(p);
        shmap_mapping_close(m);
    }
    *ns = now_ns() - t0;
    return 0;
}

static int create_posix(void *vc, long nops, uint64_t *ns, char *err, size_t errlen)
{
    struct create_ctx *c = vc;
    uint64_t t0 = now_ns();
    for (long i = 0; i < nops; i++) {
        int fd = shm_open(c->name, O_CREAT | O_EXCL | O_RDWR, 0600);
        if (fd < 0)
            return ERR("shm_open: %s", strerror(errno));
        if (ftruncate(fd, (off_t)c->size) != 0) {
            close(fd);
            shm_unlink(c->name);
            return ERR("ftruncate: %s", strerror(errno));
        }
        void *p = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            shm_unlink(c->name);
            return ERR("mmap: %s", strerror(errno));
        }
        touch_pages(p, c->size);
        munmap(p, c->size);
        close(fd);
        shm_unlink(c->name);
    }
    *ns = now_ns() - t0;
    return 0;
}

void scenario_create(void)
{
    report_scenario("1", "Create, map, touch every page, unmap, close",
                    "shmap ≤ 1.5× raw POSIX; shmap ≤ 1.0× Boost.",
                    "One operation: create a new named mapping, map a read-write view of all "
                    "of it, write one byte per 4 KiB page, unmap, close (the last handle, so "
                    "the name goes).  shmap: `shmap_mapping_create(SHMAP_CREATE_NEW)`, "
                    "`shmap_view_map`, `shmap_view_unmap`, `shmap_mapping_close` (shmap "
                    "commits the memory at create: fallocate).  raw POSIX: `shm_open(O_CREAT|"
                    "O_EXCL)`, `ftruncate`, `mmap`, touch, `munmap`, `close`, `shm_unlink`.  "
                    "Boost: `shared_memory_object(create_only)`, `truncate`, `mapped_region`, "
                    "touch, destructors, `shared_memory_object::remove`.  One process, pinned.");
    static const size_t sizes[] = {64 * KIB, 1 * MIB, 64 * MIB};
    static const char *titles[] = {"64 KiB", "1 MiB", "64 MiB"};
    pin_cpu(G.cpu_a);
    boost_cmd((char[128]){0}, 128, "pin %d", G.cpu_a);
    for (int k = 0; k < 3; k++) {
        progress("1. create/map/touch/unmap/close %s", titles[k]);
        static struct create_ctx sh, px;
        static char boost_cmdline[64];
        sh.size = px.size = sizes[k];
        snprintf(sh.name, sizeof sh.name, "Local\\bench-create");
        posix_name(px.name, sizeof px.name, "create");
        snprintf(boost_cmdline, sizeof boost_cmdline, "create %zu", sizes[k]);
        struct bench_case bc = {.scenario = "1",
                                .title = titles[k],
                                .metric = METRIC_TIME,
                                .nsubjects = 1,
                                .ncontenders = 3};
        bc.c[0] = (struct contender){"shmap", create_shmap, &sh, NULL, 0};
        bc.c[1] = (struct contender){"raw POSIX", create_posix, &px, NULL, 0};
        if (boost_running())
            bc.c[2] = (struct contender){"Boost", boost_batch, boost_cmdline, NULL, 0};
        else
            contender_skip(&bc.c[2], "Boost", G.boost_skip);
        case_goal(&bc, 1, GOAL_MAX, 1.5, "shmap ≤ 1.5× raw POSIX");
        case_goal(&bc, 2, GOAL_MAX, 1.0, "shmap ≤ 1.0× Boost");
        bc.nops = calibrate_case(&bc, G.batch_ms, 100000);
        bc.rounds = G.rounds;
        bc.warmup = G.warmup;
        if (sizes[k] >= 64 * MIB && !G.quick)
            bc.rounds = 40; /* 3 contenders x 40 rounds x ~65 ms */
        run_case(&bc);
        report_case(&bc);
    }
    unpin();
}

/* ---- 2. open an existing name, map, unmap, close ------------------------------------ */

#define OPEN_SIZE (64 * KIB)

struct open_ctx {
    char name[64];
};

static int open_shmap(void *vc, long nops, uint64_t *ns, char *err, size_t errlen)
{
    struct open_ctx *c = vc;
    uint64_t t0 = now_ns();
    for (long i = 0; i < nops; i++) {
        shmap_mapping *m;
        void *p;
        int rc = shmap_mapping_open(c->name, SHMAP_ACCESS_READ | SHMAP_ACCESS_WRITE, &m);
        if (rc != 0)
            return ERR("shmap_mapping_open: %s", shmap_strerror(rc));
        rc = shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, &p);
        if (rc != 0)
            return ERR("shmap_view_map: %s", shmap_strerror(rc));
        shmap_view_unmap(p);
        shmap_mapping_close(m);
    }
    *ns = now_ns() - t0;
    return 0;
}

static int open_posix(void *vc, long nops, uint64_t *ns, char *err, size_t errlen)
{
    struct open_ctx *c = vc;
    uint64_t t0 = now_ns();
    for (long i = 0; i < nops; i++) {
        int fd = shm_open(c->name, O_RDWR, 0);
        if (fd < 0)
            return ERR("shm_open: %s", strerror(errno));
        void *p = mmap(NULL, OPEN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return ERR("mmap: %s", strerror(errno));
        }
        munmap(p, OPEN_SIZE);
        close(fd);
    }
    *ns = now_ns() - t0;
    return 0;
}

void scenario_open(void)
{
    report_scenario("2", "Open an existing name, map, unmap, close",
                    "shmap ≤ 1.3× raw POSIX; Boost reported.",
                    "The harness creates and holds a 64 KiB object; one operation opens it by "
                    "name read-write, maps a view of all of it, unmaps, closes.  shmap: "
                    "`shmap_mapping_open(READ|WRITE)`, `shmap_view_map`, `shmap_view_unmap`, "
                    "`shmap_mapping_close`.  raw POSIX: `shm_open(O_RDWR)`, `mmap`, `munmap`, "
                    "`close`.  Boost: `shared_memory_object(open_only)` + `mapped_region` (the "
                    "peer holds its own object).  One process, pinned.");
    progress("2. open/map/unmap/close");
    pin_cpu(G.cpu_a);
    char reply[256];
    static struct open_ctx sh, px;
    snprintf(sh.name, sizeof sh.name, "Local\\bench-open");
    posix_name(px.name, sizeof px.name, "open");
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = OPEN_SIZE;
    shmap_mapping *held = NULL;
    int rc = shmap_mapping_create(sh.name, &cfg, &held);
    int pfd = shm_open(px.name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (pfd < 0 || ftruncate(pfd, OPEN_SIZE) != 0)
        die("shm_open %s: %s", px.name, strerror(errno));
    struct bench_case bc = {.scenario = "2",
                            .title = "64 KiB",
                            .metric = METRIC_TIME,
                            .nsubjects = 1,
                            .ncontenders = 3};
    if (rc == 0)
        bc.c[0] = (struct contender){"shmap", open_shmap, &sh, NULL, 0};
    else
        contender_skip(&bc.c[0], "shmap", shmap_strerror(rc));
    bc.c[1] = (struct contender){"raw POSIX", open_posix, &px, NULL, 0};
    if (boost_running() && boost_cmd(reply, sizeof reply, "open_setup %lu", OPEN_SIZE) == 0)
        bc.c[2] = (struct contender){"Boost", boost_batch, "open", NULL, 0};
    else
        contender_skip(&bc.c[2], "Boost", boost_running() ? "open_setup failed" : G.boost_skip);
    boost_cmd(reply, sizeof reply, "pin %d", G.cpu_a);
    case_goal(&bc, 1, GOAL_MAX, 1.3, "shmap ≤ 1.3× raw POSIX");
    bc.nops = calibrate_case(&bc, G.batch_ms, 100000);
    bc.rounds = G.rounds;
    bc.warmup = G.warmup;
    run_case(&bc);
    report_case(&bc);
    if (boost_running())
        boost_cmd(reply, sizeof reply, "open_teardown");
    if (held)
        shmap_mapping_close(held);
    close(pfd);
    shm_unlink(px.name);
    unpin();
}
