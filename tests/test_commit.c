/* test_commit.c - memory commit on a small private tmpfs, and huge pages. */
/* SHMAP_ENOMEM comes up front, never SIGBUS later; SHMAP_RESERVE is sparse.
 * The tmpfs is mounted in a private mount namespace of a child, as root. */
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#define SKIP_NO_NS 77  /* child: no private mount namespace for us */
#define SKIP_NO_THP 78 /* child: the kernel has no transparent huge pages */

/* In the child: a private mount namespace with a tmpfs of OPTIONS mounted
 * on a fresh directory DIR (beside the test's store), SHMAP_ROOT on it. */
static void child_private_tmpfs(const char *dir, const char *options)
{
    if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0)
        _exit(SKIP_NO_NS);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        _exit(SKIP_NO_NS);
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0) {
        fprintf(stderr, "mount tmpfs %s: %s\n", options, strerror(errno));
        _exit(errno == EPERM ? SKIP_NO_NS : 3);
    }
    TU_CHILD_CHECK(setenv("SHMAP_ROOT", dir, 1) == 0);
}

/* Runs FN in a child given a private tmpfs; skips if that cannot be had. */
static void run_in_private_tmpfs(void (*fn)(void *), const char *name)
{
    static char dir[PATH_MAX];
    tu_scratch_path(dir, sizeof dir, name);
    assert_int_equal(mkdir(dir, 0700), 0);
    if (geteuid() != 0) {
        print_message("SKIP: needs root to mount a private tmpfs (uid %d)\n", (int)geteuid());
        skip();
    }
    int status = tu_wait_exit(tu_fork(fn, dir));
    if (status == SKIP_NO_NS) {
        print_message("SKIP: unshare(CLONE_NEWNS) or mount is not permitted here\n");
        skip();
    }
    if (status == SKIP_NO_THP) {
        print_message("SKIP: no transparent huge pages "
                      "(/sys/kernel/mm/transparent_hugepage is absent)\n");
        skip();
    }
    assert_int_equal(status, 0);
}

static shmap_mapping *child_create(const char *name, uint64_t size, uint32_t flags, int want)
{
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = size;
    cfg.flags = flags;
    shmap_mapping *m = NULL;
    TU_CHILD_RC(shmap_mapping_create(name, &cfg, &m), want);
    return m;
}

/* Blocks the tmpfs at DIR has in use. */
static unsigned long used_blocks(const char *dir)
{
    struct statvfs sv;
    TU_CHILD_CHECK(statvfs(dir, &sv) == 0);
    return (unsigned long)(sv.f_blocks - sv.f_bfree);
}

static void child_commit(void *arg)
{
    const char *dir = arg;
    child_private_tmpfs(dir, "size=16m,mode=0700");
    /* Once the namespace is open (and cached), a failure adds nothing. */
    TU_CHILD_RC(shmap_mapping_close(child_create("warm", GRAN, 0, 0)), 0);
    int fds = tu_count_fds(), maps = tu_count_maps();

    /* Too big: fails now, with nothing left on the tmpfs. */
    child_create("too-big", 64 * MiB, 0, SHMAP_ENOMEM);
    TU_CHILD_CHECK(tu_ns_count(SHMAP_SCOPE_LOCAL, 1) == 0);
    TU_CHILD_CHECK(used_blocks(dir) == 0);
    TU_CHILD_CHECK(tu_count_fds() == fds && tu_count_maps() == maps);

    /* Three of 4 MiB fit; a fourth does not.  Every page of the three can
     * then be written: a SIGBUS here kills the child and fails the test. */
    shmap_mapping *m[3];
    char *v[3];
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "fits-%d", i);
        m[i] = child_create(name, 4 * MiB, 0, 0);
        TU_CHILD_RC(shmap_view_map(m[i], SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v[i]), 0);
    }
    child_create("one-more", 4 * MiB, 0, SHMAP_ENOMEM);
    for (int i = 0; i < 3; i++)
        for (size_t off = 0; off < 4 * MiB; off += 4096)
            v[i][off] = (char)(i + 1);
    for (int i = 0; i < 3; i++)
        TU_CHILD_CHECK(v[i][4 * MiB - 4096] == i + 1);

    /* Reserved memory is not committed: 64 MiB on the nearly full tmpfs. */
    shmap_mapping *sparse = child_create("sparse", 64 * MiB, SHMAP_RESERVE, 0);
    char *s = NULL;
    TU_CHILD_RC(shmap_view_map(sparse, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&s), 0);
    s[0] = 's';
    TU_CHILD_RC(shmap_view_unmap(s), 0);
    TU_CHILD_RC(shmap_mapping_close(sparse), 0);

    for (int i = 0; i < 3; i++) {
        TU_CHILD_RC(shmap_view_unmap(v[i]), 0);
        TU_CHILD_RC(shmap_mapping_close(m[i]), 0);
    }
    TU_CHILD_CHECK(tu_ns_count(SHMAP_SCOPE_LOCAL, 1) == 0);
}

static void test_commit_small_tmpfs(void **state)
{
    (void)state;
    run_in_private_tmpfs(child_commit, "small");
}

/* ---- huge pages ----------------------------------------------------------- */

/* kB of PMD-mapped (huge) pages in [ADDR, ADDR+LEN) per /proc/self/smaps. */
static long pmd_mapped_kb(const void *addr, size_t len)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    TU_CHILD_CHECK(f != NULL);
    char line[512];
    int inside = 0;
    long kb = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = lo < (uintptr_t)addr + len && hi > (uintptr_t)addr;
            continue;
        }
        long v;
        if (inside && (sscanf(line, "FilePmdMapped: %ld kB", &v) == 1 ||
                       sscanf(line, "ShmemPmdMapped: %ld kB", &v) == 1))
            kb += v;
    }
    fclose(f);
    return kb;
}

static void child_huge(void *arg)
{
    const char *dir = arg;
    if (access("/sys/kernel/mm/transparent_hugepage", F_OK) != 0)
        _exit(SKIP_NO_THP);
    child_private_tmpfs(dir, "size=64m,huge=always,mode=0700");
    shmap_mapping *m = child_create("huge", 4 * MiB, SHMAP_HUGE_PAGES, 0);
    shmap_mapping_info info;
    TU_CHILD_RC(shmap_mapping_query(m, &info), 0);
    TU_CHILD_CHECK(info.flags & SHMAP_HUGE_PAGES);
    char *v = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v), 0);
    memset(v, 0x68, 4 * MiB);
    long kb = pmd_mapped_kb(v, 4 * MiB);
    if (kb <= 0)
        fprintf(stderr, "view %p of 4 MiB: no PMD-mapped huge pages in smaps\n", (void *)v);
    TU_CHILD_CHECK(kb > 0);
    TU_CHILD_RC(shmap_view_unmap(v), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

static void test_huge_pages_private_tmpfs(void **state)
{
    (void)state;
    run_in_private_tmpfs(child_huge, "huge");
}

/* On the default store huge pages either work or say SHMAP_ENOHUGE. */
static void test_huge_pages_default_store(void **state)
{
    (void)state;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = 4 * MiB;
    cfg.flags = SHMAP_HUGE_PAGES;
    shmap_mapping *m = NULL;
    struct tu_snap s;
    tu_snap_take(&s);
    int rc = shmap_mapping_create("huge", &cfg, &m);
    if (rc == SHMAP_ENOHUGE) {
        assert_null(m);
        tu_snap_check(&s);
        return;
    }
    assert_rc(rc, 0);
    char *v = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    memset(v, 1, 4 * MiB);
    assert_rc(shmap_view_unmap(v), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_small_tmpfs, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_huge_pages_private_tmpfs, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_huge_pages_default_store, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
