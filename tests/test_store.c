/* test_store.c - store safety (planted links, modes, roots), list and sweep. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *path_in(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < size);
    return buf;
}

/* Create and open of NAME both say WANT, and nothing is left. */
static void assert_refused(const char *name, int want)
{
    shmap_mapping *m = NULL;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    int fds = tu_count_fds(), maps = tu_count_maps();
    assert_rc(shmap_mapping_create(name, &cfg, &m), want);
    assert_rc(shmap_mapping_open(name, SHMAP_ACCESS_ALL, &m), want);
    assert_null(m);
    /* (no warm-up here: the namespace cannot be opened, so nothing caches) */
    assert_int_equal(tu_count_fds(), fds);
    assert_int_equal(tu_count_maps(), maps);
}

/* Entries of DIR but "." and "..". */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* A symlink where a namespace directory belongs is never followed. */
static void test_symlinked_namespace(void **state)
{
    (void)state;
    char ns[PATH_MAX], evil[PATH_MAX], gns[PATH_MAX], gevil[PATH_MAX];
    tu_ns_path(SHMAP_SCOPE_LOCAL, ns, sizeof ns);
    tu_ns_path(SHMAP_SCOPE_GLOBAL, gns, sizeof gns);
    tu_scratch_path(evil, sizeof evil, "evil");
    tu_scratch_path(gevil, sizeof gevil, "gevil");
    assert_int_equal(mkdir(evil, 0700), 0);
    assert_int_equal(mkdir(gevil, 0700), 0);
    assert_int_equal(chmod(gevil, 01777), 0);
    assert_int_equal(symlink(evil, ns), 0);
    assert_int_equal(symlink(gevil, gns), 0);
    assert_refused("x", SHMAP_ESTORE);
    assert_refused("Global\\x", SHMAP_ESTORE);
    assert_rc(shmap_store_sweep(SHMAP_SCOPE_LOCAL, 0, NULL, NULL), SHMAP_ESTORE);
    assert_int_equal(dir_entries(evil), 0);
    assert_int_equal(dir_entries(gevil), 0);

    /* Once the real directory is there, the store works. */
    assert_int_equal(unlink(ns), 0);
    assert_int_equal(unlink(gns), 0);
    assert_rc(shmap_mapping_close(tu_create("x", GRAN)), 0);
    assert_rc(shmap_mapping_close(tu_create("Global\\x", GRAN)), 0);
    struct stat st;
    assert_int_equal(lstat(ns, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(lstat(gns, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0777); /* not sticky: see store_dir.c */
}

/* A symlink or FIFO in place of an object file: refused, target untouched. */
static void test_planted_object_files(void **state)
{
    (void)state;
    char ns[PATH_MAX], link[PATH_MAX], target[PATH_MAX], fifo[PATH_MAX];
    /* Let the library make its namespace, then leave it empty. */
    assert_rc(shmap_mapping_close(tu_create("victim", GRAN)), 0);
    tu_ns_path(SHMAP_SCOPE_LOCAL, ns, sizeof ns);
    tu_scratch_path(target, sizeof target, "precious");
    int fd = open(target, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "precious", 8), 8);
    close(fd);
    assert_int_equal(symlink(target, path_in(link, sizeof link, ns, "victim")), 0);
    assert_int_equal(mkfifo(path_in(fifo, sizeof fifo, ns, "fifo"), 0600), 0);

    assert_refused("victim", SHMAP_ESTORE);
    assert_refused("fifo", SHMAP_ESTORE); /* and no hang opening it */
    int rc = shmap_store_sweep(SHMAP_SCOPE_LOCAL, 0, NULL, NULL);
    if (rc < 0)
        fail_msg("sweep over planted files: %s", tu_errname(rc));
    /* Unlinking may refuse or remove the planted link itself; never more. */
    rc = shmap_unlink("victim");
    if (rc != 0 && rc != SHMAP_ESTORE)
        fail_msg("unlink of a planted symlink: %s", tu_errname(rc));

    struct stat st;
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, 8);
    assert_int_equal(st.st_mode & 07777, 0600);
    char buf[9] = {0};
    fd = open(target, O_RDONLY | O_CLOEXEC);
    assert_int_equal(read(fd, buf, 8), 8);
    close(fd);
    assert_string_equal(buf, "precious");
    unlink(link);
    unlink(fifo);
}

/* A namespace directory of the wrong mode or owner is refused. */
static void test_wrong_mode_namespace(void **state)
{
    (void)state;
    char ns[PATH_MAX], gns[PATH_MAX];
    tu_ns_path(SHMAP_SCOPE_LOCAL, ns, sizeof ns);
    tu_ns_path(SHMAP_SCOPE_GLOBAL, gns, sizeof gns);
    assert_int_equal(mkdir(ns, 0700), 0);
    assert_int_equal(mkdir(gns, 0700), 0);
    static const mode_t local_bad[] = {0777, 0755, 0770, 01777};
    for (size_t i = 0; i < sizeof local_bad / sizeof local_bad[0]; i++) {
        assert_int_equal(chmod(ns, local_bad[i]), 0);
        assert_refused("x", SHMAP_ESTORE);
        assert_int_equal(dir_entries(ns), 0);
    }
    static const mode_t global_bad[] = {01777, 0775, 0700};
    for (size_t i = 0; i < sizeof global_bad / sizeof global_bad[0]; i++) {
        assert_int_equal(chmod(gns, global_bad[i]), 0);
        assert_refused("Global\\x", SHMAP_ESTORE);
        assert_int_equal(dir_entries(gns), 0);
    }
    if (geteuid() == 0) { /* only root can give it away */
        assert_int_equal(chmod(ns, 0700), 0);
        assert_int_equal(chown(ns, 65534, 65534), 0);
        assert_refused("x", SHMAP_ESTORE);
    }
}

/* SHMAP_ROOT itself: a symlink, relative, or writable by all without the
 * sticky bit is refused. */
static void test_unsafe_root(void **state)
{
    (void)state;
    char link[PATH_MAX], open_dir[PATH_MAX];
    tu_scratch_path(link, sizeof link, "root-link");
    assert_int_equal(symlink(tu_store_root(), link), 0);
    tu_scratch_path(open_dir, sizeof open_dir, "open");
    assert_int_equal(mkdir(open_dir, 0700), 0);
    assert_int_equal(chmod(open_dir, 0777), 0);
    const char *roots[] = {link, "relative/store", open_dir};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        assert_int_equal(setenv("SHMAP_ROOT", roots[i], 1), 0);
        assert_refused("x", SHMAP_ESTORE);
    }
    assert_int_equal(setenv("SHMAP_ROOT", tu_store_root(), 1), 0);
    assert_int_equal(dir_entries(tu_store_root()), 0);
    assert_int_equal(dir_entries(open_dir), 0);
}

/* ---- list and sweep --------------------------------------------------------- */

struct seen {
    int count;
    int held_ok;
};

static int list_cb(const shmap_object_info *o, void *arg)
{
    struct seen *s = arg;
    s->count++;
    if (strcmp(o->name, "Global\\listed") == 0 && o->type == SHMAP_TYPE_MAPPING &&
        o->size == 3 * GRAN && o->stale == 0 && o->mode == 0640 && o->file_backed == 0 &&
        o->creator_pid == (uint32_t)getpid() && o->owner_uid == geteuid())
        s->held_ok = 1;
    return 0;
}

static int stop_cb(const shmap_object_info *o, void *arg)
{
    (void)o;
    ++*(int *)arg;
    return 42;
}

/* Store-wide calls on a namespace nobody made yet find nothing, make nothing. */
static void test_list_missing_namespace(void **state)
{
    (void)state;
    struct seen s = {0};
    /* Listing a namespace that does not exist finds nothing and creates
     * nothing; nor does sweeping it or unlinking a name in it. */
    assert_rc(shmap_store_list(SHMAP_SCOPE_GLOBAL, list_cb, &s), 0);
    assert_int_equal(s.count, 0);
    assert_rc(shmap_store_sweep(SHMAP_SCOPE_GLOBAL, 0, NULL, NULL), 0);
    assert_rc(shmap_unlink("Global\\absent"), SHMAP_ENOENT);
    assert_int_equal(dir_entries(tu_store_root()), 0);
}

static void test_list_and_sweep(void **state)
{
    (void)state;
    struct seen s = {0};
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = 3 * GRAN;
    cfg.mode = 0640;
    shmap_mapping *a = tu_create_cfg("Global\\listed", &cfg, 0);
    shmap_mapping *b = tu_create("Global\\other", GRAN);
    assert_rc(shmap_store_list(SHMAP_SCOPE_GLOBAL, list_cb, &s), 0);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.held_ok, 1);
    int calls = 0;
    assert_rc(shmap_store_list(SHMAP_SCOPE_GLOBAL, stop_cb, &calls), 42);
    assert_int_equal(calls, 1);
    /* Held names are not stale: a sweep leaves them. */
    assert_rc(shmap_store_sweep(SHMAP_SCOPE_GLOBAL, 0, NULL, NULL), 0);
    assert_int_equal(tu_name_exists("Global\\listed"), 1);
    assert_rc(shmap_mapping_close(a), 0);
    assert_rc(shmap_mapping_close(b), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_symlinked_namespace, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_planted_object_files, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_mode_namespace, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_root, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_list_missing_namespace, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_list_and_sweep, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
