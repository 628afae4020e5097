/* test_view.c - views: sharing, coherence, unmap, access, addresses, ranges. */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---- two processes, different addresses ------------------------------- */

struct two {
    int to_child[2], to_parent[2];
};

static void child_two_addresses(void *arg)
{
    struct two *t = arg;
    char *parent_view;
    TU_CHILD_CHECK(tu_pipe_read(t->to_child[0], &parent_view, sizeof parent_view) == 0);
    /* Occupy the parent's address so this view must land elsewhere. */
    void *block = mmap(parent_view, 4 * GRAN, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    TU_CHILD_CHECK(block == parent_view);
    shmap_mapping *m = NULL;
    TU_CHILD_RC(shmap_mapping_open("two", SHMAP_ACCESS_ALL, &m), 0);
    char *v = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v), 0);
    TU_CHILD_CHECK(v != parent_view);
    strcpy(v + 100000, "hello from the child");
    TU_CHILD_CHECK(tu_pipe_write(t->to_parent[1], &v, sizeof v) == 0);
    TU_CHILD_CHECK(tu_pipe_wait(t->to_child[0]) == 'r');
    TU_CHILD_CHECK(strcmp(v + 200000, "reply from the parent") == 0);
    TU_CHILD_RC(shmap_view_unmap(v), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

static void test_two_processes_different_addresses(void **state)
{
    (void)state;
    struct two t;
    tu_pipe(t.to_child);
    tu_pipe(t.to_parent);
    /* The child starts with no view inherited; it finds its own. */
    pid_t pid = tu_fork(child_two_addresses, &t);
    shmap_mapping *m = tu_create("two", 4 * GRAN);
    char *v = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    assert_int_equal(tu_pipe_write(t.to_child[1], &v, sizeof v), 0);
    char *child_view = NULL;
    assert_int_equal(tu_pipe_read(t.to_parent[0], &child_view, sizeof child_view), 0);
    assert_ptr_not_equal(child_view, v);
    assert_string_equal(v + 100000, "hello from the child");
    strcpy(v + 200000, "reply from the parent");
    assert_int_equal(tu_pipe_signal(t.to_child[1], 'r'), 0);
    tu_wait_ok(pid);
    assert_rc(shmap_view_unmap(v), 0);
    assert_rc(shmap_mapping_close(m), 0);
    for (int i = 0; i < 2; i++) {
        close(t.to_child[i]);
        close(t.to_parent[i]);
    }
}

/* Many views of one object, through two handles, all see one memory. */
static void test_many_views_coherent(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create("many", 4 * GRAN);
    shmap_mapping *m2 = tu_open("many", SHMAP_ACCESS_ALL);
    char *whole[4], *tail[4];
    for (int i = 0; i < 4; i++) {
        whole[i] = tu_map(i % 2 ? m2 : m, SHMAP_ACCESS_WRITE, 0, 0);
        tail[i] =
            tu_map(i % 2 ? m : m2, i == 3 ? SHMAP_ACCESS_READ : SHMAP_ACCESS_WRITE, 2 * GRAN, GRAN);
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(whole[i], whole[j]);
    }
    for (int i = 0; i < 4; i++) {
        whole[i][2 * GRAN + 10 * i] = (char)('a' + i);
        if (i < 3)
            tail[i][GRAN - 1 - i] = (char)('A' + i);
    }
    for (int i = 0; i < 4; i++) {
        for (int k = 0; k < 4; k++)
            assert_int_equal(tail[i][10 * k], 'a' + k);
        for (int k = 0; k < 3; k++)
            assert_int_equal(whole[i][3 * GRAN - 1 - k], 'A' + k);
    }
    for (int i = 0; i < 4; i++) {
        assert_rc(shmap_view_unmap(whole[i]), 0);
        assert_rc(shmap_view_unmap(tail[i]), 0);
    }
    assert_rc(shmap_mapping_close(m), 0);
    assert_rc(shmap_mapping_close(m2), 0);
}

/* ---- a view outlives its handle ---------------------------------------- */

static void child_view_without_handle(void *arg)
{
    struct two *t = arg;
    shmap_mapping *m = NULL;
    TU_CHILD_CHECK(tu_pipe_wait(t->to_child[0]) == 'n');
    TU_CHILD_RC(shmap_mapping_open("outlive", SHMAP_ACCESS_ALL, &m), 0);
    char *v = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
    TU_CHILD_CHECK(tu_pipe_signal(t->to_parent[1], 'c') == 0);
    TU_CHILD_CHECK(tu_pipe_wait(t->to_child[0]) == 'w');
    TU_CHILD_CHECK(strcmp(v, "written after both handles closed") == 0);
    strcpy(v + 5000, "and the child answers");
    TU_CHILD_RC(shmap_view_unmap(v), 0);
}

static void test_view_outlives_handle(void **state)
{
    (void)state;
    struct two t;
    tu_pipe(t.to_child);
    tu_pipe(t.to_parent);
    /* Forked first, so that the child inherits no handle of ours. */
    pid_t pid = tu_fork(child_view_without_handle, &t);
    shmap_mapping *m = tu_create("outlive", GRAN);
    char *v = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    assert_int_equal(tu_pipe_signal(t.to_child[1], 'n'), 0);
    assert_int_equal(tu_pipe_wait(t.to_parent[0]), 'c');
    assert_int_equal(tu_name_exists("outlive"), 1); /* this handle still holds it */
    assert_rc(shmap_mapping_close(m), 0);
    assert_int_equal(tu_name_exists("outlive"), 0); /* no handle anywhere */
    strcpy(v, "written after both handles closed");
    assert_int_equal(tu_pipe_signal(t.to_child[1], 'w'), 0);
    tu_wait_ok(pid);
    assert_string_equal(v + 5000, "and the child answers");
    assert_rc(shmap_view_unmap(v), 0);
    for (int i = 0; i < 2; i++) {
        close(t.to_child[i]);
        close(t.to_parent[i]);
    }
}

/* ---- unmap and query ------------------------------------------------------- */

static void test_unmap_by_inner_address(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create(NULL, 4 * GRAN);
    int maps = tu_count_maps();
    char *v = tu_map(m, SHMAP_ACCESS_WRITE, GRAN, 0);
    shmap_view_info vi;
    assert_rc(shmap_view_query(v + 100001, &vi), 0);
    assert_ptr_equal(vi.base, v);
    assert_int_equal(vi.length, 3 * GRAN);
    assert_int_equal(vi.offset, GRAN);
    assert_int_equal(vi.access, SHMAP_ACCESS_WRITE);
    assert_rc(shmap_view_query(v + 3 * GRAN - 1, &vi), 0);
    assert_ptr_equal(vi.base, v);

    assert_rc(shmap_view_unmap(v + 100001), 0);
    assert_false(tu_is_mapped(v, 1));
    assert_false(tu_is_mapped(v + 3 * GRAN - 1, 1));
    assert_int_equal(tu_count_maps(), maps);
    assert_rc(shmap_view_query(v, &vi), SHMAP_ENOTVIEW);
    assert_rc(shmap_view_unmap(v), SHMAP_ENOTVIEW);
    assert_rc(shmap_mapping_close(m), 0);
}

static void test_unmap_not_a_view(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create(NULL, GRAN);
    /* The view sits in the middle of an anonymous mapping of ours, so that
     * the bytes just before and after it surely belong to no view. */
    char *guard = tu_free_aligned_addr(3 * GRAN);
    assert_ptr_equal(mmap(guard, 3 * GRAN, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
                     guard);
    assert_int_equal(munmap(guard + GRAN, GRAN), 0);
    char *v = NULL;
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, guard + GRAN, (void **)&v), 0);
    v[0] = 'v';
    guard[0] = 'g';
    int local = 0;
    char *heap = malloc(100);
    struct tu_snap s;
    tu_snap_take(&s);
    shmap_view_info vi;
    void *not_views[] = {&local, heap, guard, v + GRAN, v - 1, (void *)(uintptr_t)4096};
    for (size_t i = 0; i < sizeof not_views / sizeof not_views[0]; i++) {
        assert_rc(shmap_view_unmap(not_views[i]), SHMAP_ENOTVIEW);
        assert_rc(shmap_view_query(not_views[i], &vi), SHMAP_ENOTVIEW);
        assert_rc(shmap_view_flush(not_views[i], 0), SHMAP_ENOTVIEW);
    }
    tu_snap_check(&s);
    /* What was there is still there. */
    assert_int_equal(guard[0], 'g');
    assert_int_equal(v[0], 'v');
    free(heap);
    assert_rc(shmap_view_unmap(v), 0);
    munmap(guard, 3 * GRAN);
    assert_rc(shmap_mapping_close(m), 0);
}

/* ---- access rights ----------------------------------------------------- */

static void child_write_read_view(void *arg)
{
    *(volatile char *)arg = 'x'; /* must raise SIGSEGV */
}

static void test_read_view_is_read_only(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create("ro-view", GRAN);
    char *r = tu_map(m, SHMAP_ACCESS_READ, 0, 0);
    assert_int_equal(tu_wait_exit(tu_fork(child_write_read_view, r)), 128 + SIGSEGV);
    assert_int_equal(r[0], 0);
    assert_rc(shmap_view_unmap(r), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

static void test_write_view_denied(void **state)
{
    (void)state;
    void *p = NULL;
    /* A read-only handle to a read-write object. */
    shmap_mapping *m = tu_create("rw", GRAN);
    shmap_mapping *r = tu_open("rw", SHMAP_ACCESS_READ);
    struct tu_snap s;
    tu_snap_take(&s);
    assert_rc(shmap_view_map(r, SHMAP_ACCESS_WRITE, 0, 0, NULL, &p), SHMAP_EACCES);
    assert_rc(shmap_view_map(r, SHMAP_ACCESS_READ | SHMAP_ACCESS_EXECUTE, 0, 0, NULL, &p),
              SHMAP_EACCES);
    assert_null(p);
    tu_snap_check(&s);
    assert_rc(shmap_mapping_close(r), 0);
    assert_rc(shmap_mapping_close(m), 0);

    /* A read-only object: no write view, and no write handle either. */
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    cfg.protection = SHMAP_PROT_READONLY;
    m = tu_create_cfg("ro", &cfg, 0);
    tu_snap_take(&s);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, &p), SHMAP_EACCES);
    assert_rc(shmap_mapping_open("ro", SHMAP_ACCESS_WRITE, &r), SHMAP_EACCES);
    assert_rc(shmap_mapping_open("ro", SHMAP_ACCESS_READ | SHMAP_ACCESS_WRITE, &r), SHMAP_EACCES);
    assert_null(p);
    tu_snap_check(&s);
    /* Opening for all it allows is reading. */
    r = tu_open("ro", SHMAP_ACCESS_ALL);
    shmap_mapping_info info;
    tu_info(r, &info);
    assert_int_equal(info.access & SHMAP_ACCESS_WRITE, 0);
    assert_rc(shmap_mapping_close(r), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

static void child_copy_view_private(void *arg)
{
    (void)arg;
    shmap_mapping *m = NULL;
    /* ALL: reading and copying, all a read-only object allows. */
    TU_CHILD_RC(shmap_mapping_open("ro-copy", SHMAP_ACCESS_ALL, &m), 0);
    char *c = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_COPY, 0, 0, NULL, (void **)&c), 0);
    TU_CHILD_CHECK(c[0] == 0);
    strcpy(c, "child's private copy");
    TU_CHILD_RC(shmap_view_unmap(c), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

/* A copy view of a read-only object may be written; nobody else sees it. */
static void test_copy_view_of_read_only(void **state)
{
    (void)state;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = 2 * GRAN;
    cfg.protection = SHMAP_PROT_READONLY;
    shmap_mapping *m = tu_create_cfg("ro-copy", &cfg, 0);
    char *r = tu_map(m, SHMAP_ACCESS_READ, 0, 0);
    char *c = tu_map(m, SHMAP_ACCESS_COPY, 0, 0);
    strcpy(c, "private");
    assert_string_equal(c, "private");
    assert_int_equal(r[0], 0);
    char *c2 = tu_map(m, SHMAP_ACCESS_COPY, 0, 0);
    assert_int_equal(c2[0], 0);
    tu_wait_ok(tu_fork(child_copy_view_private, NULL));
    assert_int_equal(r[0], 0);
    assert_string_equal(c, "private");
    shmap_view_info vi;
    assert_rc(shmap_view_query(c, &vi), 0);
    assert_int_equal(vi.access, SHMAP_ACCESS_COPY);
    assert_rc(shmap_view_unmap(c2), 0);
    assert_rc(shmap_view_unmap(c), 0);
    assert_rc(shmap_view_unmap(r), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

/* ---- alignment, fixed addresses, ranges --------------------------------- */

static void test_alignment(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create(NULL, 4 * GRAN);
    void *p = NULL;
    struct tu_snap s;
    tu_snap_take(&s); /* first: it maps things, which could fill the hole */
    char *free_at = tu_free_aligned_addr(2 * GRAN);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, 4096, GRAN, NULL, &p), SHMAP_EALIGN);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, GRAN / 2, 0, NULL, &p), SHMAP_EALIGN);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, 0, GRAN, free_at + 4096, &p), SHMAP_EALIGN);
    assert_null(p);
    tu_snap_check(&s);
    assert_false(tu_is_file_mapped(free_at + 4096));
    assert_rc(shmap_mapping_close(m), 0);
}

static void test_fixed_address(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create(NULL, 4 * GRAN);
    char *mine = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    mine[GRAN] = 'm';

    /* A free, aligned address: the view is exactly there. */
    char *at = tu_free_aligned_addr(2 * GRAN);
    void *p = NULL;
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, GRAN, 2 * GRAN, at, &p), 0);
    assert_ptr_equal(p, at);
    assert_int_equal(at[0], 'm');
    assert_rc(shmap_view_unmap(at), 0);

    /* Over an anonymous mapping, whole or in part: refused, and the
     * mapping keeps its contents. */
    struct tu_snap s;
    tu_snap_take(&s); /* first: it maps things, which could fill the hole */
    /* The range stays reserved (PROT_NONE) until the moment it must be
     * free, so that no allocator of this process takes it meanwhile. */
    char *busy = tu_free_aligned_addr(4 * GRAN);
    char *reserved = mmap(busy, 4 * GRAN, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    assert_ptr_equal(reserved, busy);
    char *anon = mmap(busy + 2 * GRAN, GRAN, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    assert_ptr_equal(anon, busy + 2 * GRAN);
    memset(anon, 0x5a, GRAN);
    p = NULL;
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, 0, GRAN, anon, &p), SHMAP_EADDRINUSE);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, 0, 3 * GRAN, busy, &p), SHMAP_EADDRINUSE);
    /* Over another view of the same object (an aligned address in it). */
    char *inside = (char *)(((uintptr_t)mine + GRAN) & ~(uintptr_t)(GRAN - 1));
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, 0, GRAN, inside, &p), SHMAP_EADDRINUSE);
    assert_null(p);
    tu_snap_check(&s);
    for (size_t i = 0; i < GRAN; i++)
        if ((unsigned char)anon[i] != 0x5a)
            fail_msg("byte %zu of the existing mapping was changed", i);
    assert_false(tu_is_file_mapped(busy)); /* the refused part left no view */
    assert_int_equal(mine[GRAN], 'm');
    /* Ending exactly where the anonymous mapping starts is no overlap. */
    munmap(busy, 2 * GRAN);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, GRAN, 2 * GRAN, busy, &p), 0);
    assert_ptr_equal(p, busy);
    assert_int_equal(busy[0], 'm');
    assert_rc(shmap_view_unmap(busy + 2 * GRAN - 1), 0);
    munmap(anon, 2 * GRAN); /* and the rest of the reservation */
    assert_rc(shmap_view_unmap(mine), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

static void test_ranges(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create(NULL, 4 * GRAN);
    void *p = NULL;
    struct tu_snap s;
    tu_snap_take(&s);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, 4 * GRAN, 0, NULL, &p), SHMAP_ERANGE);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, 5 * GRAN, GRAN, NULL, &p), SHMAP_ERANGE);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, 2 * GRAN, 2 * GRAN + 1, NULL, &p), SHMAP_ERANGE);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, 0, 4 * GRAN + 1, NULL, &p), SHMAP_ERANGE);
    assert_null(p);
    tu_snap_check(&s);

    /* Length 0 maps to the end. */
    shmap_view_info vi;
    p = tu_map(m, SHMAP_ACCESS_READ, 3 * GRAN, 0);
    assert_rc(shmap_view_query(p, &vi), 0);
    assert_int_equal(vi.length, GRAN);
    assert_rc(shmap_view_unmap(p), 0);
    assert_rc(shmap_mapping_close(m), 0);

    /* A size that is no multiple of a page: the view ends at the size. */
    m = tu_create(NULL, 100000);
    char *c = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    assert_rc(shmap_view_query(c, &vi), 0);
    assert_int_equal(vi.length, 100000);
    c[99999] = 'e';
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, 0, 100001, NULL, &p), SHMAP_ERANGE);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, 2 * GRAN, 0, NULL, &p), SHMAP_ERANGE);
    char *tail = tu_map(m, SHMAP_ACCESS_READ, GRAN, 0);
    assert_int_equal(tail[99999 - GRAN], 'e');
    assert_rc(shmap_view_unmap(tail), 0);
    assert_rc(shmap_view_unmap(c), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

/* ---- threads ---------------------------------------------------------------- */

#define VIEW_THREADS 8
#define VIEW_ROUNDS 200

static void *view_churn(void *arg)
{
    shmap_mapping *m = arg;
    intptr_t bad = 0;
    for (int i = 0; i < VIEW_ROUNDS; i++) {
        char *p = NULL;
        uint64_t off = (uint64_t)(i % 4) * GRAN;
        if (shmap_view_map(m, SHMAP_ACCESS_WRITE, off, GRAN, NULL, (void **)&p) != 0) {
            bad++;
            continue;
        }
        shmap_view_info vi;
        bad += shmap_view_query(p + GRAN / 2, &vi) != 0 || vi.base != p || vi.offset != off;
        p[i % GRAN] = 1;
        /* (No query after this: another thread may get the same address.) */
        bad += shmap_view_unmap(p + GRAN - 1) != 0;
    }
    return (void *)bad;
}

static void churn_in_threads(shmap_mapping *m)
{
    pthread_t t[VIEW_THREADS];
    for (int i = 0; i < VIEW_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, view_churn, m), 0);
    for (int i = 0; i < VIEW_THREADS; i++) {
        void *bad;
        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_int_equal((intptr_t)bad, 0);
    }
}

/* Views mapped, queried and unmapped from many threads at once. */
static void test_views_from_threads(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create(NULL, 4 * GRAN);
    /* The first round leaves glibc's cached thread stacks mapped; the
     * second reuses them, so any growth after it is views left behind. */
    churn_in_threads(m);
    int maps = tu_count_maps();
    churn_in_threads(m);
    assert_int_equal(tu_count_maps(), maps);
    assert_rc(shmap_mapping_close(m), 0);
}

/* ---- above 4 GiB -------------------------------------------------------- */

static void child_read_big(void *arg)
{
    (void)arg;
    shmap_mapping *m = NULL;
    TU_CHILD_RC(shmap_mapping_open("big", SHMAP_ACCESS_READ, &m), 0);
    shmap_mapping_info info;
    TU_CHILD_RC(shmap_mapping_query(m, &info), 0);
    TU_CHILD_CHECK(info.size == 8 * GiB);
    char *last = NULL, *mid = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_READ, 8 * GiB - GRAN, 0, NULL, (void **)&last), 0);
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_READ, 4 * GiB, GRAN, NULL, (void **)&mid), 0);
    TU_CHILD_CHECK(last[GRAN - 1] == 'L');
    TU_CHILD_CHECK(mid[1] == 'M');
    TU_CHILD_CHECK(mid[0] == 0);
    TU_CHILD_RC(shmap_view_unmap(last), 0);
    TU_CHILD_RC(shmap_view_unmap(mid), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

static void test_above_4_gib(void **state)
{
    (void)state;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = 8 * GiB;
    cfg.flags = SHMAP_RESERVE;
    shmap_mapping *m = tu_create_cfg("big", &cfg, 0);
    /* One view from 4 GiB to the end: 4 GiB of address space, two pages. */
    char *hi = tu_map(m, SHMAP_ACCESS_WRITE, 4 * GiB, 0);
    shmap_view_info vi;
    assert_rc(shmap_view_query(hi + 4 * GiB - 1, &vi), 0);
    assert_int_equal(vi.offset, 4 * GiB);
    assert_int_equal(vi.length, 4 * GiB);
    hi[4 * GiB - 1] = 'L';
    hi[1] = 'M';
    /* Offsets past 4 GiB do not wrap onto low ones. */
    char *lo = tu_map(m, SHMAP_ACCESS_READ, 0, GRAN);
    assert_int_equal(lo[1], 0);
    tu_wait_ok(tu_fork(child_read_big, NULL));
    assert_rc(shmap_view_unmap(lo), 0);
    assert_rc(shmap_view_unmap(hi), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_processes_different_addresses, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_many_views_coherent, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_view_outlives_handle, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_unmap_by_inner_address, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_unmap_not_a_view, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_view_is_read_only, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_write_view_denied, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_copy_view_of_read_only, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_alignment, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_fixed_address, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_ranges, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_views_from_threads, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_above_4_gib, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
