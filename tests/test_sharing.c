/* test_sharing.c - sharing handles: send/recv, fork, export_fd across exec. */
/* The exec side is tests/helper_import.c. */
#include "testutil.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

struct peer {
    int sock[2]; /* socketpair: [0] parent's, [1] child's */
    int done[2]; /* child -> parent */
    int go[2];   /* parent -> child */
    uint32_t access;
    const char *name; /* expected name of the received mapping, or "" */
};

static void peer_open(struct peer *p, uint32_t access, const char *name)
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->sock), 0);
    tu_pipe(p->done);
    tu_pipe(p->go);
    p->access = access;
    p->name = name;
}

static void peer_close(struct peer *p)
{
    for (int i = 0; i < 2; i++) {
        close(p->sock[i]);
        close(p->done[i]);
        close(p->go[i]);
    }
}

/* Receives the mapping, checks what it got, writes an answer. */
static void child_receiver(void *arg)
{
    struct peer *p = arg;
    shmap_mapping *m = NULL;
    TU_CHILD_RC(shmap_mapping_recv(p->sock[1], p->access, &m), 0);
    shmap_mapping_info info;
    TU_CHILD_RC(shmap_mapping_query(m, &info), 0);
    TU_CHILD_CHECK(strcmp(info.name, p->name) == 0);
    char *v = NULL;
    if (p->access == SHMAP_ACCESS_READ) {
        TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v), SHMAP_EACCES);
        TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_READ, 0, 0, NULL, (void **)&v), 0);
        TU_CHILD_CHECK(strcmp(v, "from the parent") == 0);
    } else {
        TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v), 0);
        TU_CHILD_CHECK(strcmp(v, "from the parent") == 0);
        strcpy(v + GRAN, "from the child");
    }
    TU_CHILD_RC(shmap_view_unmap(v), 0);
    TU_CHILD_CHECK(tu_pipe_signal(p->done[1], 'r') == 0);
    /* Hold the handle until the parent has looked at the name. */
    TU_CHILD_CHECK(tu_pipe_wait(p->go[0]) == 'c');
    TU_CHILD_RC(shmap_mapping_close(m), 0);
    TU_CHILD_CHECK(tu_pipe_signal(p->done[1], 'c') == 0);
}

/* Sends NAME (NULL: unnamed) to a child forked before the mapping existed. */
static void send_case(const char *name, uint32_t access, const char *expect_name)
{
    struct peer p;
    peer_open(&p, access, expect_name);
    pid_t pid = tu_fork(child_receiver, &p);
    shmap_mapping *m = tu_create(name, 2 * GRAN);
    char *v = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    strcpy(v, "from the parent");
    int fds = tu_count_fds();
    assert_rc(shmap_mapping_send(m, p.sock[0]), 0);
    assert_int_equal(tu_count_fds(), fds); /* sending leaks nothing */
    assert_int_equal(tu_pipe_wait(p.done[0]), 'r');
    if (access != SHMAP_ACCESS_READ)
        assert_string_equal(v + GRAN, "from the child");
    assert_rc(shmap_mapping_close(m), 0);
    if (name) {
        /* The received handle is a holder like any other. */
        assert_int_equal(tu_name_exists(name), 1);
    }
    assert_int_equal(tu_pipe_signal(p.go[1], 'c'), 0);
    assert_int_equal(tu_pipe_wait(p.done[0]), 'c');
    if (name)
        assert_int_equal(tu_name_exists(name), 0);
    tu_wait_ok(pid);
    assert_rc(shmap_view_unmap(v), 0);
    peer_close(&p);
}

static void test_send_recv_unnamed(void **state)
{
    (void)state;
    send_case(NULL, SHMAP_ACCESS_ALL, "");
}

static void test_send_recv_read_only(void **state)
{
    (void)state;
    send_case(NULL, SHMAP_ACCESS_READ, "");
}

static void test_send_recv_named_keeps_name(void **state)
{
    (void)state;
    send_case("sent", SHMAP_ACCESS_ALL, "Local\\sent");
}

/* Garbage, nothing, or a foreign fd: an error, and no descriptor kept. */
static void test_recv_garbage(void **state)
{
    (void)state;
    shmap_mapping *m = NULL;
    int sv[2];
    struct tu_snap s;
    tu_snap_take(&s);

    /* Nothing: the peer hung up. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    close(sv[0]);
    assert_rc(shmap_mapping_recv(sv[1], SHMAP_ACCESS_ALL, &m), SHMAP_EIO);
    close(sv[1]);

    /* Bytes that are no message; then EOF so nothing waits for more. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    char junk[300];
    memset(junk, 0xa5, sizeof junk);
    assert_int_equal(write(sv[0], junk, sizeof junk), (ssize_t)sizeof junk);
    close(sv[0]);
    assert_rc(shmap_mapping_recv(sv[1], SHMAP_ACCESS_ALL, &m), SHMAP_EIO);
    close(sv[1]);

    /* Junk with a pipe's fd attached: the fd must not stay open here. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    int pfd[2];
    tu_pipe(pfd);
    char cbuf[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {junk, sizeof junk};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &pfd[0], sizeof(int));
    assert_int_equal(sendmsg(sv[0], &msg, 0), (ssize_t)sizeof junk);
    close(sv[0]);
    close(pfd[0]);
    close(pfd[1]);
    int rc = shmap_mapping_recv(sv[1], SHMAP_ACCESS_ALL, &m);
    if (rc != SHMAP_EIO && rc != SHMAP_ECORRUPT)
        fail_msg("recv of junk with an fd: %s", tu_errname(rc));
    close(sv[1]);
    assert_null(m);
    tu_snap_check(&s);
}

/* ---- fork ------------------------------------------------------------------ */

static void child_uses_inherited(void *arg)
{
    shmap_mapping *m = arg;
    char *v = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, GRAN, 0, NULL, (void **)&v), 0);
    strcpy(v, "child through the inherited handle");
    TU_CHILD_RC(shmap_view_unmap(v), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

static void test_fork_unnamed(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create(NULL, 2 * GRAN);
    tu_wait_ok(tu_fork(child_uses_inherited, m));
    /* The child's close did not close the parent's handle. */
    char *v = tu_map(m, SHMAP_ACCESS_READ, GRAN, 0);
    assert_string_equal(v, "child through the inherited handle");
    assert_rc(shmap_view_unmap(v), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

/* ---- export across exec ------------------------------------------------- */

struct exec_args {
    const char *helper;
    char *argv[12];
};

static void child_exec(void *arg)
{
    struct exec_args *e = arg;
    execv(e->helper, e->argv);
    TU_CHILD_CHECK(!"execv of the helper failed");
}

static const char *helper(char *buf, size_t size)
{
    const char *h = tu_helper_path("helper_import", buf, size);
    if (!h)
        fail_msg("helper_import not found next to this test or in $SHMAP_TEST_BIN_DIR");
    return h;
}

static void test_export_survives_exec(void **state)
{
    (void)state;
    char hbuf[PATH_MAX], fdstr[16];
    shmap_mapping *m = tu_create(NULL, 2 * GRAN);
    char *v = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    strcpy(v, "before exec");
    int fd = -1;
    assert_rc(shmap_mapping_export_fd(m, &fd), 0);
    assert_true(fd > 2);
    assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    snprintf(fdstr, sizeof fdstr, "%d", fd);
    struct exec_args e = {helper(hbuf, sizeof hbuf),
                          {"helper_import", "clean", fdstr, "import", fdstr, "70000",
                           "marker from the exec'd helper", NULL}};
    assert_int_equal(tu_wait_exit(tu_fork(child_exec, &e)), 0);
    assert_string_equal(v + 70000, "marker from the exec'd helper");
    close(fd);

    /* Imported here too, limited to reading. */
    assert_rc(shmap_mapping_export_fd(m, &fd), 0);
    shmap_mapping *r = NULL;
    assert_rc(shmap_mapping_import_fd(fd, SHMAP_ACCESS_READ, &r), 0);
    close(fd); /* the handle does not need it */
    void *p = NULL;
    assert_rc(shmap_view_map(r, SHMAP_ACCESS_WRITE, 0, 0, NULL, &p), SHMAP_EACCES);
    char *rv = tu_map(r, SHMAP_ACCESS_READ, 0, 0);
    assert_string_equal(rv + 70000, "marker from the exec'd helper");
    assert_rc(shmap_view_unmap(rv), 0);
    assert_rc(shmap_mapping_close(r), 0);
    assert_rc(shmap_view_unmap(v), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

/* A named handle does not survive exec: no descriptor leaks into the new
 * program, and with its only holder gone the name is gone. */
static void child_create_then_exec(void *arg)
{
    struct exec_args *e = arg;
    shmap_mapping *m = NULL;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    TU_CHILD_RC(shmap_mapping_create("execd", &cfg, &m), 0);
    void *v = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, &v), 0);
    execv(e->helper, e->argv);
    TU_CHILD_CHECK(!"execv of the helper failed");
}

static void test_exec_drops_named_handle(void **state)
{
    (void)state;
    char hbuf[PATH_MAX];
    struct exec_args e = {helper(hbuf, sizeof hbuf),
                          {"helper_import", "clean", "-1", "absent", "execd", NULL}};
    assert_int_equal(tu_wait_exit(tu_fork(child_create_then_exec, &e)), 0);
    assert_int_equal(tu_name_exists("execd"), 0);
}

struct recv_exec {
    struct exec_args e;
    int sock, exported;
};

static void child_recv_import_exec(void *arg)
{
    struct recv_exec *r = arg;
    shmap_mapping *got = NULL, *imported = NULL;
    TU_CHILD_RC(shmap_mapping_recv(r->sock, SHMAP_ACCESS_ALL, &got), 0);
    TU_CHILD_RC(shmap_mapping_import_fd(r->exported, SHMAP_ACCESS_ALL, &imported), 0);
    void *v = NULL;
    TU_CHILD_RC(shmap_view_map(got, SHMAP_ACCESS_WRITE, 0, 0, NULL, &v), 0);
    execv(r->e.helper, r->e.argv);
    TU_CHILD_CHECK(!"execv of the helper failed");
}

/* Handles made by recv and import hold descriptors that exec closes. */
static void test_received_handles_do_not_leak_into_exec(void **state)
{
    (void)state;
    char hbuf[PATH_MAX], fdstr[16];
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    shmap_mapping *named = tu_create("passed", GRAN);
    shmap_mapping *unnamed = tu_create(NULL, GRAN);
    assert_rc(shmap_mapping_send(named, sv[0]), 0);
    int fd = -1;
    assert_rc(shmap_mapping_export_fd(unnamed, &fd), 0);
    snprintf(fdstr, sizeof fdstr, "%d", fd);
    struct recv_exec r = {
        {helper(hbuf, sizeof hbuf), {"helper_import", "clean", fdstr, NULL}}, sv[1], fd};
    assert_int_equal(tu_wait_exit(tu_fork(child_recv_import_exec, &r)), 0);
    close(fd);
    close(sv[0]);
    close(sv[1]);
    assert_rc(shmap_mapping_close(unnamed), 0);
    assert_rc(shmap_mapping_close(named), 0);
}

/* Descriptors that are no shmap object are refused and not kept. */
static void test_import_foreign_fd(void **state)
{
    (void)state;
    shmap_mapping *m = NULL;
    int mfd = memfd_create("not-shmap", MFD_CLOEXEC);
    assert_true(mfd >= 0);
    char junk[8192];
    memset(junk, 0x3c, sizeof junk);
    assert_int_equal(write(mfd, junk, sizeof junk), (ssize_t)sizeof junk);
    char path[PATH_MAX];
    int ffd = open(tu_scratch_path(path, sizeof path, "zeros"), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(ffd >= 0);
    assert_int_equal(ftruncate(ffd, 2 * GRAN), 0);
    int pfd[2];
    tu_pipe(pfd);
    struct tu_snap s;
    tu_snap_take(&s);
    assert_rc(shmap_mapping_import_fd(mfd, SHMAP_ACCESS_ALL, &m), SHMAP_ECORRUPT);
    assert_rc(shmap_mapping_import_fd(ffd, SHMAP_ACCESS_ALL, &m), SHMAP_ECORRUPT);
    int rc = shmap_mapping_import_fd(pfd[0], SHMAP_ACCESS_ALL, &m);
    if (rc != SHMAP_ECORRUPT && rc != SHMAP_EINVAL)
        fail_msg("import of a pipe: %s", tu_errname(rc));
    assert_null(m);
    tu_snap_check(&s);
    close(mfd);
    close(ffd);
    close(pfd[0]);
    close(pfd[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_send_recv_unnamed, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_send_recv_read_only, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_send_recv_named_keeps_name, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_recv_garbage, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_fork_unnamed, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_export_survives_exec, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_exec_drops_named_handle, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_received_handles_do_not_leak_into_exec, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_import_foreign_fd, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
