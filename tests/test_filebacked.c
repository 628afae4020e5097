/* test_filebacked.c - file-backed mappings: size, growth, flush, COW, by name. */
#include "testutil.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

/* Makes a scratch file (outside SHMAP_ROOT) of SIZE bytes of BYTE and
 * returns an fd opened with FLAGS; its path goes into PATH. */
static int make_file(char *path, size_t psize, const char *name, size_t size, int byte, int flags)
{
    tu_scratch_path(path, psize, name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    char buf[4096];
    memset(buf, byte, sizeof buf);
    for (size_t done = 0; done < size;) {
        size_t n = size - done < sizeof buf ? size - done : sizeof buf;
        assert_int_equal(pwrite(fd, buf, n, (off_t)done), (ssize_t)n);
        done += n;
    }
    if ((flags & O_ACCMODE) != O_RDWR) {
        close(fd);
        fd = open(path, flags | O_CLOEXEC);
        assert_true(fd >= 0);
    }
    return fd;
}

static off_t file_size(int fd)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    return st.st_size;
}

/* Reads [OFF, OFF+N) of PATH through a descriptor of its own. */
static void read_back(const char *path, off_t off, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, n, off), (ssize_t)n);
    close(fd);
}

static shmap_mapping *create_file_mapping(const char *name, int fd, uint64_t size, uint32_t prot,
                                          int want)
{
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = size;
    cfg.file_fd = fd;
    cfg.protection = prot;
    return tu_create_cfg(name, &cfg, want);
}

/* Size 0 asks for the file's size: an empty file has none to give. */
static void test_empty_file_size_zero(void **state)
{
    (void)state;
    char path[PATH_MAX];
    int fd = make_file(path, sizeof path, "empty", 0, 0, O_RDWR);
    struct tu_snap s;
    tu_snap_take(&s);
    create_file_mapping("fb", fd, 0, SHMAP_PROT_READWRITE, SHMAP_EFILEEMPTY);
    create_file_mapping(NULL, fd, 0, SHMAP_PROT_READONLY, SHMAP_EFILEEMPTY);
    tu_snap_check(&s);
    assert_int_equal(file_size(fd), 0);
    /* The caller's descriptor is untouched and still usable. */
    assert_int_equal(pwrite(fd, "x", 1, 0), 1);
    close(fd);
}

/* Size 0 is the file's size; a larger writable size grows the file. */
static void test_sizes_and_growth(void **state)
{
    (void)state;
    char path[PATH_MAX];
    int fd = make_file(path, sizeof path, "f", 200000, 'a', O_RDWR);
    shmap_mapping *m = create_file_mapping("fb", fd, 0, SHMAP_PROT_READWRITE, 0);
    shmap_mapping_info info;
    tu_info(m, &info);
    assert_int_equal(info.size, 200000);
    assert_int_equal(info.file_backed, 1);
    assert_rc(shmap_mapping_close(m), 0);
    assert_int_equal(file_size(fd), 200000);

    m = create_file_mapping(NULL, fd, MiB, SHMAP_PROT_READWRITE, 0);
    assert_int_equal(file_size(fd), MiB);
    char *v = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    assert_int_equal(v[199999], 'a');
    assert_int_equal(v[200000], 0);
    v[MiB - 1] = 'z';
    assert_rc(shmap_view_flush(v, 0), 0);
    char c;
    read_back(path, MiB - 1, &c, 1);
    assert_int_equal(c, 'z');
    assert_rc(shmap_view_unmap(v), 0);
    assert_rc(shmap_mapping_close(m), 0);
    /* Closing never removes or shrinks the user's file. */
    assert_int_equal(file_size(fd), MiB);
    assert_int_equal(access(path, F_OK), 0);
    close(fd);
}

/* Flushed writes are in the file, seen through another descriptor. */
static void test_flush_and_sync(void **state)
{
    (void)state;
    char path[PATH_MAX];
    int fd = make_file(path, sizeof path, "f", 4 * GRAN, 0, O_RDWR);
    shmap_mapping *m = create_file_mapping("fb", fd, 0, SHMAP_PROT_READWRITE, 0);
    char *v = tu_map(m, SHMAP_ACCESS_WRITE, GRAN, 2 * GRAN);
    strcpy(v + 10, "flushed");
    strcpy(v + GRAN + 20, "flushed too");
    /* A range from an inner address; then the rest of the view. */
    assert_rc(shmap_view_flush(v + 10, 100), 0);
    assert_rc(shmap_view_flush(v + GRAN, 0), 0);
    char buf[32];
    read_back(path, GRAN + 10, buf, 8);
    assert_string_equal(buf, "flushed");
    read_back(path, 2 * GRAN + 20, buf, 12);
    assert_string_equal(buf, "flushed too");
    assert_rc(shmap_mapping_sync(m), 0);

    struct tu_snap s;
    tu_snap_take(&s);
    assert_rc(shmap_view_flush(v + GRAN, GRAN + 1), SHMAP_ERANGE);
    assert_rc(shmap_view_flush(v, 2 * GRAN + 1), SHMAP_ERANGE);
    tu_snap_check(&s);
    assert_rc(shmap_view_unmap(v), 0);
    assert_rc(shmap_mapping_close(m), 0);

    /* Memory-backed: nothing to write, still 0. */
    m = tu_create(NULL, GRAN);
    v = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    assert_rc(shmap_view_flush(v, 0), 0);
    assert_rc(shmap_mapping_sync(m), 0);
    assert_rc(shmap_view_unmap(v), 0);
    assert_rc(shmap_mapping_close(m), 0);
    close(fd);
}

/* Copy-on-write changes reach neither the file nor other views. */
static void test_copy_view_stays_private(void **state)
{
    (void)state;
    char path[PATH_MAX];
    int fd = make_file(path, sizeof path, "f", 2 * GRAN, 'o', O_RDWR);
    shmap_mapping *m = create_file_mapping("fb", fd, 0, SHMAP_PROT_READWRITE, 0);
    char *shared = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    char *copy = tu_map(m, SHMAP_ACCESS_COPY, 0, 0);
    memset(copy, 'c', 2 * GRAN);
    assert_rc(shmap_view_flush(copy, 0), 0);
    assert_int_equal(shared[0], 'o');
    assert_int_equal(shared[2 * GRAN - 1], 'o');
    char buf[4];
    read_back(path, 0, buf, 4);
    assert_memory_equal(buf, "oooo", 4);
    assert_rc(shmap_view_unmap(copy), 0);
    assert_rc(shmap_view_unmap(shared), 0);
    assert_rc(shmap_mapping_close(m), 0);
    read_back(path, GRAN, buf, 4);
    assert_memory_equal(buf, "oooo", 4);
    close(fd);
}

/* Read-only: no growing the file; a read-only fd cannot back a writable
 * mapping; copy views still work. */
static void test_read_only_files(void **state)
{
    (void)state;
    char path[PATH_MAX];
    int fd = make_file(path, sizeof path, "ro", GRAN, 'r', O_RDONLY);
    struct tu_snap s;
    tu_snap_take(&s);
    create_file_mapping("fb", fd, 2 * GRAN, SHMAP_PROT_READONLY, SHMAP_ERANGE);
    create_file_mapping("fb", fd, 0, SHMAP_PROT_READWRITE, SHMAP_EACCES);
    tu_snap_check(&s);
    assert_int_equal(file_size(fd), GRAN);

    shmap_mapping *m = create_file_mapping("fb", fd, 0, SHMAP_PROT_READONLY, 0);
    void *p = NULL;
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, &p), SHMAP_EACCES);
    char *c = tu_map(m, SHMAP_ACCESS_COPY, 0, 0);
    c[0] = 'c';
    char buf;
    read_back(path, 0, &buf, 1);
    assert_int_equal(buf, 'r');
    assert_rc(shmap_view_unmap(c), 0);
    assert_rc(shmap_mapping_close(m), 0);
    close(fd);
}

static void child_open_by_name(void *arg)
{
    int *sync = arg; /* [0] read from parent, [1] write to parent */
    shmap_mapping *m = NULL;
    TU_CHILD_RC(shmap_mapping_open("Global\\fb-shared", SHMAP_ACCESS_ALL, &m), 0);
    shmap_mapping_info info;
    TU_CHILD_RC(shmap_mapping_query(m, &info), 0);
    TU_CHILD_CHECK(info.file_backed == 1);
    TU_CHILD_CHECK(info.size == 3 * GRAN);
    char *v = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v), 0);
    TU_CHILD_CHECK(strcmp(v + 2 * GRAN, "from the creator") == 0);
    strcpy(v + 7, "from the child");
    TU_CHILD_RC(shmap_view_flush(v, 0), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
    TU_CHILD_CHECK(tu_pipe_signal(sync[1], 'w') == 0);
    TU_CHILD_CHECK(tu_pipe_wait(sync[0]) == 'p');
    TU_CHILD_CHECK(strcmp(v + 100, "after the child wrote") == 0);
    TU_CHILD_RC(shmap_view_unmap(v), 0);
}

/* Another process opens the named file-backed mapping by name alone. */
static void test_second_process_opens_by_name(void **state)
{
    (void)state;
    char path[PATH_MAX];
    int fd = make_file(path, sizeof path, "shared", 3 * GRAN, 0, O_RDWR);
    shmap_mapping *m = create_file_mapping("Global\\fb-shared", fd, 0, SHMAP_PROT_READWRITE, 0);
    close(fd); /* the mapping does not need the caller's fd any more */
    char *v = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    strcpy(v + 2 * GRAN, "from the creator");
    int to_child[2], to_parent[2];
    tu_pipe(to_child);
    tu_pipe(to_parent);
    int sync[2] = {to_child[0], to_parent[1]};
    pid_t pid = tu_fork(child_open_by_name, sync);
    assert_int_equal(tu_pipe_wait(to_parent[0]), 'w');
    assert_string_equal(v + 7, "from the child");
    strcpy(v + 100, "after the child wrote");
    assert_int_equal(tu_pipe_signal(to_child[1], 'p'), 0);
    tu_wait_ok(pid);
    char buf[15];
    read_back(path, 7, buf, sizeof buf);
    assert_string_equal(buf, "from the child");
    assert_rc(shmap_view_unmap(v), 0);
    assert_rc(shmap_mapping_close(m), 0);
    assert_int_equal(tu_name_exists("Global\\fb-shared"), 0);
    for (int i = 0; i < 2; i++) {
        close(to_child[i]);
        close(to_parent[i]);
    }
}

/* A file-backed mapping cannot be exported as an fd for exec. */
static void test_export_file_backed(void **state)
{
    (void)state;
    char path[PATH_MAX];
    int fd = make_file(path, sizeof path, "f", GRAN, 0, O_RDWR);
    shmap_mapping *m = create_file_mapping(NULL, fd, 0, SHMAP_PROT_READWRITE, 0);
    int out = -5;
    struct tu_snap s;
    tu_snap_take(&s);
    assert_rc(shmap_mapping_export_fd(m, &out), SHMAP_ENOTSUP);
    assert_int_equal(out, -5);
    tu_snap_check(&s);
    assert_rc(shmap_mapping_close(m), 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_file_size_zero, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_sizes_and_growth, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_flush_and_sync, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_copy_view_stays_private, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_only_files, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_second_process_opens_by_name, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_export_file_backed, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
