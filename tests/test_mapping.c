/* test_mapping.c - create/open of mappings: created vs existed, info, races. */
#include "testutil.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define MAGIC 0x5eed1234u

/* ---- create: new versus existing --------------------------------------- */

static void child_create_existing(void *arg)
{
    (void)arg;
    /* Size, flags and mode differ from the existing object's: ignored.
     * (The protection is kept equal: like Win32, the library reads it as
     * the access this handle asks for.) */
    shmap_mapping_config cfg = {GRAN, -1, SHMAP_PROT_READWRITE, SHMAP_RESERVE, 0644};
    shmap_mapping *m = NULL;
    TU_CHILD_RC(shmap_mapping_create("obj", &cfg, &m), SHMAP_EXISTED);
    shmap_mapping_info info;
    TU_CHILD_RC(shmap_mapping_query(m, &info), 0);
    TU_CHILD_CHECK(info.size == MiB);
    TU_CHILD_CHECK(info.protection == SHMAP_PROT_READWRITE);
    TU_CHILD_CHECK(info.mode == 0600);
    TU_CHILD_CHECK(info.flags == 0);
    TU_CHILD_CHECK((info.access & SHMAP_ACCESS_WRITE) != 0);
    void *p = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, &p), 0);
    uint32_t *w = p;
    TU_CHILD_CHECK(w[MiB / 4 - 1] == MAGIC); /* the creator's write, at the end */
    w[0] = MAGIC + 1;
    TU_CHILD_RC(shmap_view_unmap(p), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

/* A second create of a name opens the existing object, size and all. */
static void test_create_existing_gets_existing(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create("obj", MiB);
    uint32_t *w = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    w[MiB / 4 - 1] = MAGIC;
    tu_wait_ok(tu_fork(child_create_existing, NULL));
    assert_int_equal(w[0], MAGIC + 1);
    /* Also in this process, through the same library state. */
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = 8 * MiB;
    shmap_mapping *again = tu_create_cfg("obj", &cfg, SHMAP_EXISTED);
    shmap_mapping_info info;
    tu_info(again, &info);
    assert_int_equal(info.size, MiB);
    assert_rc(shmap_mapping_close(again), 0);
    assert_rc(shmap_view_unmap(w), 0);
    assert_rc(shmap_mapping_close(m), 0);
    assert_int_equal(tu_name_exists("obj"), 0);
}

/* ---- open: ENOENT, never creates ----------------------------------------- */

static void child_open_missing(void *arg)
{
    (void)arg;
    shmap_mapping *m = NULL;
    int fds = tu_count_fds();
    TU_CHILD_RC(shmap_mapping_open("missing", SHMAP_ACCESS_ALL, &m), SHMAP_ENOENT);
    TU_CHILD_RC(shmap_mapping_open("missing", SHMAP_ACCESS_READ, &m), SHMAP_ENOENT);
    TU_CHILD_CHECK(m == NULL);
    TU_CHILD_CHECK(tu_count_fds() <= fds + 2); /* at most the cached namespace dirs */
}

static void test_open_missing_never_creates(void **state)
{
    (void)state;
    shmap_mapping *m = NULL;
    struct tu_snap s;
    tu_snap_take(&s);
    assert_rc(shmap_mapping_open("missing", SHMAP_ACCESS_ALL, &m), SHMAP_ENOENT);
    assert_rc(shmap_mapping_open("Global\\missing", SHMAP_ACCESS_READ, &m), SHMAP_ENOENT);
    assert_null(m);
    tu_snap_check(&s);
    tu_wait_ok(tu_fork(child_open_missing, NULL));
    assert_int_equal(tu_store_count(), 0);
    /* Nobody made it: a create now is a real creation. */
    m = tu_create("missing", GRAN);
    assert_rc(shmap_mapping_close(m), 0);
}

/* ---- SHMAP_CREATE_NEW -------------------------------------------------- */

static void child_create_new_existing(void *arg)
{
    (void)arg;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    cfg.flags = SHMAP_CREATE_NEW;
    shmap_mapping *m = NULL;
    TU_CHILD_RC(shmap_mapping_create("excl", &cfg, &m), SHMAP_EEXIST);
    TU_CHILD_CHECK(m == NULL);
    /* Nor did the failure disturb the object: a plain open still works. */
    TU_CHILD_RC(shmap_mapping_open("excl", SHMAP_ACCESS_READ, &m), 0);
    void *p = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_READ, 0, 0, NULL, &p), 0);
    TU_CHILD_CHECK(*(uint32_t *)p == MAGIC);
    TU_CHILD_RC(shmap_view_unmap(p), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

static void test_create_new_flag(void **state)
{
    (void)state;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = 2 * GRAN;
    cfg.flags = SHMAP_CREATE_NEW;
    shmap_mapping *m = tu_create_cfg("excl", &cfg, 0);
    uint32_t *w = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    *w = MAGIC;
    tu_wait_ok(tu_fork(child_create_new_existing, NULL));

    shmap_mapping *o = NULL;
    struct tu_snap s;
    tu_snap_take(&s);
    assert_rc(shmap_mapping_create("excl", &cfg, &o), SHMAP_EEXIST);
    assert_null(o);
    tu_snap_check(&s);
    assert_int_equal(*w, MAGIC);
    assert_rc(shmap_view_unmap(w), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

/* ---- info ------------------------------------------------------------------ */

static void test_info_named_and_unnamed(void **state)
{
    (void)state;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = 100000; /* not a multiple of anything */
    cfg.mode = 0640;
    shmap_mapping *m = tu_create_cfg("Global\\info", &cfg, 0);
    shmap_mapping_info info;
    tu_info(m, &info);
    assert_int_equal(info.size, 100000);
    assert_int_equal(info.type, SHMAP_TYPE_MAPPING);
    assert_int_equal(info.protection, SHMAP_PROT_READWRITE);
    assert_int_equal(info.access & (SHMAP_ACCESS_READ | SHMAP_ACCESS_WRITE),
                     SHMAP_ACCESS_READ | SHMAP_ACCESS_WRITE);
    assert_int_equal(info.flags, 0);
    assert_int_equal(info.mode, 0640);
    assert_int_equal(info.owner_uid, geteuid());
    assert_int_equal(info.file_backed, 0);
    assert_int_equal(info.named, 1);
    assert_string_equal(info.name, "Global\\info");

    /* The object file carries the mode. */
    char dir[4096], path[4200];
    snprintf(path, sizeof path, "%s/info", tu_ns_path(SHMAP_SCOPE_GLOBAL, dir, sizeof dir));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);

    /* A handle opened for reading reports its own access. */
    shmap_mapping *r = tu_open("Global\\info", SHMAP_ACCESS_READ);
    tu_info(r, &info);
    assert_int_equal(info.access & SHMAP_ACCESS_WRITE, 0);
    assert_true(info.access & SHMAP_ACCESS_READ);
    assert_rc(shmap_mapping_close(r), 0);
    assert_rc(shmap_mapping_close(m), 0);

    /* Unnamed: no name, no mode, nothing in the store. */
    cfg.flags = SHMAP_RESERVE;
    m = tu_create_cfg(NULL, &cfg, 0);
    tu_info(m, &info);
    assert_int_equal(info.named, 0);
    assert_string_equal(info.name, "");
    assert_int_equal(info.mode, 0);
    assert_int_equal(info.flags, SHMAP_RESERVE);
    assert_int_equal(tu_ns_count(SHMAP_SCOPE_LOCAL, 0), 0);
    assert_int_equal(tu_ns_count(SHMAP_SCOPE_GLOBAL, 0), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

/* Every protection is accepted by create, and bounds the handle. */
static void test_protections(void **state)
{
    (void)state;
    static const struct {
        uint32_t prot, must, mustnot;
    } t[] = {
        {SHMAP_PROT_READONLY, SHMAP_ACCESS_READ, SHMAP_ACCESS_WRITE | SHMAP_ACCESS_EXECUTE},
        {SHMAP_PROT_READWRITE, SHMAP_ACCESS_READ | SHMAP_ACCESS_WRITE, SHMAP_ACCESS_EXECUTE},
        {SHMAP_PROT_EXECUTE_READ, SHMAP_ACCESS_READ | SHMAP_ACCESS_EXECUTE, SHMAP_ACCESS_WRITE},
        {SHMAP_PROT_EXECUTE_READWRITE,
         SHMAP_ACCESS_READ | SHMAP_ACCESS_WRITE | SHMAP_ACCESS_EXECUTE, 0},
        /* Write-copy: private writes through copy views only. */
        {SHMAP_PROT_WRITECOPY, SHMAP_ACCESS_READ | SHMAP_ACCESS_COPY,
         SHMAP_ACCESS_WRITE | SHMAP_ACCESS_EXECUTE},
        {SHMAP_PROT_EXECUTE_WRITECOPY, SHMAP_ACCESS_READ | SHMAP_ACCESS_COPY | SHMAP_ACCESS_EXECUTE,
         SHMAP_ACCESS_WRITE},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
        cfg.size = GRAN;
        cfg.protection = t[i].prot;
        shmap_mapping *m = tu_create_cfg("prot", &cfg, 0);
        shmap_mapping_info info;
        tu_info(m, &info);
        assert_int_equal(info.protection, t[i].prot);
        if ((info.access & t[i].must) != t[i].must || (info.access & t[i].mustnot))
            fail_msg("protection %u gave handle access 0x%x", t[i].prot, info.access);
        assert_rc(shmap_mapping_close(m), 0);
    }
}

/* ---- 32 processes race to create one name ------------------------------ */

#define RACERS 32

struct race {
    int go[2];      /* closed by the parent: every racer wakes at once */
    int ready[2];   /* one byte per racer about to block on go */
    int done[2];    /* one byte per racer that wrote its slot */
    int release[2]; /* closed by the parent: racers close and exit */
    int *rc;        /* shared page: each racer's create result */
    int index;
};

static void racer(void *arg)
{
    struct race *r = arg;
    /* Drop our copies of the write ends, or EOF would never come. */
    close(r->go[1]);
    close(r->release[1]);
    close(r->ready[0]);
    close(r->done[0]);
    TU_CHILD_CHECK(tu_pipe_signal(r->ready[1], 'r') == 0);
    TU_CHILD_CHECK(tu_pipe_wait(r->go[0]) == -1);
    shmap_mapping *m = NULL;
    shmap_mapping_config cfg = {RACERS * GRAN, -1, SHMAP_PROT_READWRITE, 0, 0600};
    int rc = shmap_mapping_create("race", &cfg, &m);
    r->rc[r->index] = rc;
    /* No early exit before the done byte: the parent counts them. */
    void *p = NULL;
    int ok = (rc == 0 || rc == SHMAP_EXISTED) &&
             shmap_view_map(m, SHMAP_ACCESS_WRITE, (uint64_t)r->index * GRAN, GRAN, NULL, &p) == 0;
    if (ok)
        *(int *)p = r->index + 1;
    TU_CHILD_CHECK(tu_pipe_signal(r->done[1], ok ? 'd' : 'f') == 0);
    TU_CHILD_CHECK(ok);
    /* Hold the name until every racer has made its create. */
    TU_CHILD_CHECK(tu_pipe_wait(r->release[0]) == -1);
    TU_CHILD_RC(shmap_view_unmap(p), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

static void test_race_32_creators(void **state)
{
    (void)state;
    struct race r;
    tu_pipe(r.go);
    tu_pipe(r.ready);
    tu_pipe(r.done);
    tu_pipe(r.release);
    r.rc = tu_shared_alloc(RACERS * sizeof(int));
    pid_t pids[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r.rc[i] = 99;
        r.index = i;
        pids[i] = tu_fork(racer, &r);
    }
    close(r.ready[1]);
    close(r.done[1]);
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(tu_pipe_wait(r.ready[0]), 'r');
    close(r.go[1]); /* all racers go */
    int done = 0;
    for (int i = 0; i < RACERS; i++)
        done += tu_pipe_wait(r.done[0]) == 'd';
    /* A racer that died before writing its slot shows in its exit code. */
    if (done == RACERS) {
        shmap_mapping *m = tu_open("race", SHMAP_ACCESS_READ);
        const int *p = tu_map(m, SHMAP_ACCESS_READ, 0, 0);
        for (int i = 0; i < RACERS; i++)
            assert_int_equal(p[(size_t)i * GRAN / sizeof(int)], i + 1);
        assert_rc(shmap_view_unmap((void *)p), 0);
        assert_rc(shmap_mapping_close(m), 0);
    }
    close(r.release[1]);
    for (int i = 0; i < RACERS; i++)
        tu_wait_ok(pids[i]);
    assert_int_equal(done, RACERS);
    int created = 0, existed = 0;
    for (int i = 0; i < RACERS; i++) {
        created += r.rc[i] == 0;
        existed += r.rc[i] == SHMAP_EXISTED;
    }
    if (created != 1 || existed != RACERS - 1)
        fail_msg("racers: %d created, %d existed (of %d)", created, existed, RACERS);
    assert_int_equal(tu_name_exists("race"), 0);
    close(r.go[0]);
    close(r.ready[0]);
    close(r.done[0]);
    close(r.release[0]);
    tu_shared_free(r.rc, RACERS * sizeof(int));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_existing_gets_existing, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_open_missing_never_creates, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_create_new_flag, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_info_named_and_unnamed, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_protections, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_race_32_creators, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
