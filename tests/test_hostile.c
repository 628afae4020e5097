/* test_hostile.c - a hostile store: directories and object files owned by
 * another user, special files and hard links where objects belong,
 * truncated object files, garbage in a live object's header page (magic,
 * version, type, size, data offset, strings, the backing-file fields) and
 * in the state words of live mutexes, events and semaphores, and another
 * user squatting a Global\ name.  Each must give a clear error (or be
 * recovered from), never a crash, a hang or a write outside the store.
 * Cases that might crash or hang run in a child (alarm() is only a safety
 * net there, and its firing fails the case).  Cases that need a second
 * user need root, and skip otherwise. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "header.h"
#include "sync.h"

#define ATTACKER 65534 /* nobody */
#define VICTIM 65533

/* ---- Helpers ----------------------------------------------------------- */

static void need_root(void)
{
    if (geteuid() != 0) {
        print_message("SKIP: needs root to act as other users (uid %d)\n", (int)geteuid());
        skip();
    }
}

/* The store as a system-wide one is: traversable top, sticky root. */
static void share_store(void)
{
    need_root();
    assert_int_equal(chmod(tu_store_top(), 0755), 0);
    assert_int_equal(chmod(tu_store_root(), 01777), 0);
}

static void become(uid_t uid)
{
    TU_CHILD_CHECK(setgroups(0, NULL) == 0);
    TU_CHILD_CHECK(setgid(uid) == 0);
    TU_CHILD_CHECK(setuid(uid) == 0);
}

static const char *obj_path(char *buf, size_t size, uint32_t scope, const char *file)
{
    char ns[PATH_MAX];
    tu_ns_path(scope, ns, sizeof ns);
    int n = snprintf(buf, size, "%s/%s", ns, file);
    if (n < 0 || (size_t)n >= size)
        fail_msg("path too long: %s/%s", ns, file);
    return buf;
}

static shmap_mapping_config cfg_of(uint64_t size, uint32_t mode)
{
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = size;
    cfg.mode = mode;
    return cfg;
}

/* Create and open of NAME both fail with WANT (create may also be told
 * CREATE_WANT), and leave no handle. */
static void assert_both(const char *name, int create_want, int open_want)
{
    shmap_mapping_config cfg = cfg_of(GRAN, 0600);
    shmap_mapping *m = NULL;
    assert_rc(shmap_mapping_create(name, &cfg, &m), create_want);
    assert_rc(shmap_mapping_open(name, SHMAP_ACCESS_ALL, &m), open_want);
    assert_null(m);
}

static void write_file(const char *path, mode_t mode, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        fail_msg("create %s: %s", path, strerror(errno));
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

/* 1 if PATH holds exactly LEN bytes of DATA. */
static int file_is(const char *path, const void *data, size_t len)
{
    static char buf[4 * 65536];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || len >= sizeof buf) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    size_t n = 0;
    ssize_t k;
    while ((k = read(fd, buf + n, sizeof buf - n)) > 0)
        n += (size_t)k;
    close(fd);
    return n == len && memcmp(buf, data, len) == 0;
}

static void header_get(const char *path, struct object_header *h)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, h, sizeof *h, 0), (ssize_t)sizeof *h);
    close(fd);
}

static void header_put(const char *path, const void *bytes, size_t len, off_t off)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("open %s: %s", path, strerror(errno));
    assert_int_equal(pwrite(fd, bytes, len, off), (ssize_t)len);
    close(fd);
}

static int count_cb(const shmap_object_info *o, void *arg)
{
    (void)o;
    ++*(int *)arg;
    return 0;
}

/* List and sweep the namespace: no crash, and they say no error. */
static void list_and_sweep(uint32_t scope)
{
    int n = 0;
    assert_rc(shmap_store_list(scope, count_cb, &n), 0);
    int rc = shmap_store_sweep(scope, SHMAP_SWEEP_DRY_RUN, NULL, NULL);
    if (rc < 0)
        fail_msg("dry-run sweep: %s", tu_errname(rc));
    rc = shmap_store_sweep(scope, 0, NULL, NULL);
    if (rc < 0)
        fail_msg("sweep: %s", tu_errname(rc));
}

/* ---- Directories owned by another user ---------------------------------- */

/* Made by hand before any shmap call (nothing is cached yet). */
static void test_store_dirs_of_another_user(void **state)
{
    (void)state;
    need_root();
    char gns[PATH_MAX], lns[PATH_MAX];
    tu_ns_path(SHMAP_SCOPE_GLOBAL, gns, sizeof gns);
    tu_ns_path(SHMAP_SCOPE_LOCAL, lns, sizeof lns);
    /* The global namespace owned by somebody: not the store's. */
    assert_int_equal(mkdir(gns, 0700), 0);
    assert_int_equal(chmod(gns, 0777), 0);
    assert_int_equal(chown(gns, ATTACKER, ATTACKER), 0);
    assert_both("Global\\x", SHMAP_ESTORE, SHMAP_ESTORE);
    assert_rc(shmap_store_sweep(SHMAP_SCOPE_GLOBAL, 0, NULL, NULL), SHMAP_ESTORE);
    assert_int_equal(chown(gns, 0, 0), 0);
    assert_rc(shmap_mapping_close(tu_create("Global\\x", GRAN)), 0);

    /* SHMAP_ROOT itself owned by another user: nothing under it is safe. */
    assert_int_equal(chown(tu_store_root(), ATTACKER, ATTACKER), 0);
    assert_int_equal(mkdir(lns, 0700), 0);
    assert_both("Local\\y", SHMAP_ESTORE, SHMAP_ESTORE);
    assert_int_equal(chown(tu_store_root(), 0, 0), 0);
}

/* The contract checks owner and mode "before every use": also once the
 * namespace is open and cached by the process. */
static void test_store_dir_given_away_while_in_use(void **state)
{
    (void)state;
    need_root();
    char gns[PATH_MAX];
    tu_ns_path(SHMAP_SCOPE_GLOBAL, gns, sizeof gns);
    assert_rc(shmap_mapping_close(tu_create("Global\\before", GRAN)), 0);
    assert_int_equal(chown(gns, ATTACKER, ATTACKER), 0);
    shmap_mapping_config cfg = cfg_of(GRAN, 0600);
    shmap_mapping *m = NULL;
    int rc = shmap_mapping_create("Global\\after", &cfg, &m);
    if (rc >= 0)
        shmap_mapping_close(m);
    assert_int_equal(chown(gns, 0, 0), 0);
    assert_rc(rc, SHMAP_ESTORE);
}

/* ---- Object files that are not the store's --------------------------------- */

struct planted {
    int ready[2], go[2];
};

/* The victim, in its own Local\ namespace, meets files root planted there. */
static void child_meets_foreign_files(void *arg)
{
    struct planted *p = arg;
    become(VICTIM);
    TU_CHILD_CHECK(tu_pipe_wait(p->go[0]) == 'p');
    shmap_mapping_config cfg = cfg_of(GRAN, 0600);
    shmap_mapping *m = NULL;
    /* 0600 and another user's: cannot even be looked at. */
    int rc = shmap_mapping_open("foreign600", SHMAP_ACCESS_ALL, &m);
    TU_CHILD_CHECK(rc == SHMAP_EACCES || rc == SHMAP_ESTORE);
    rc = shmap_mapping_create("foreign600", &cfg, &m);
    TU_CHILD_CHECK(rc == SHMAP_EACCES || rc == SHMAP_ESTORE);
    /* 0666 garbage, held by nobody: refused, or removed and made anew. */
    rc = shmap_mapping_create("foreign666", &cfg, &m);
    TU_CHILD_CHECK(rc == 0 || rc == SHMAP_ESTORE || rc == SHMAP_ECORRUPT || rc == SHMAP_EACCES);
    if (rc == 0) {
        shmap_mapping_info info;
        TU_CHILD_RC(shmap_mapping_query(m, &info), 0);
        TU_CHILD_CHECK(info.owner_uid == VICTIM);
        TU_CHILD_RC(shmap_mapping_close(m), 0);
    }
    int n = 0;
    TU_CHILD_RC(shmap_store_list(SHMAP_SCOPE_LOCAL, count_cb, &n), 0);
    TU_CHILD_CHECK(shmap_store_sweep(SHMAP_SCOPE_LOCAL, 0, NULL, NULL) >= 0);
    m = NULL;
    TU_CHILD_CHECK(m == NULL);
}

static void test_object_files_of_another_user(void **state)
{
    (void)state;
    share_store();
    /* The victim's namespace, made as the library would. */
    char lns[PATH_MAX], path[PATH_MAX + 32];
    snprintf(lns, sizeof lns, "%s/local-%d", tu_store_root(), VICTIM);
    assert_int_equal(mkdir(lns, 0700), 0);
    assert_int_equal(chown(lns, VICTIM, VICTIM), 0);
    static const char junk[] = "not an object of this store";
    snprintf(path, sizeof path, "%s/foreign600", lns);
    write_file(path, 0600, junk, sizeof junk);
    assert_int_equal(chown(path, ATTACKER, ATTACKER), 0);
    snprintf(path, sizeof path, "%s/foreign666", lns);
    write_file(path, 0666, junk, sizeof junk);
    assert_int_equal(chown(path, ATTACKER, ATTACKER), 0);

    struct planted p;
    tu_pipe(p.ready);
    tu_pipe(p.go);
    pid_t pid = tu_fork(child_meets_foreign_files, &p);
    assert_int_equal(tu_pipe_signal(p.go[1], 'p'), 0);
    tu_wait_ok(pid);
    /* The unreadable file is untouched; a 0666 one may have been replaced. */
    snprintf(path, sizeof path, "%s/foreign600", lns);
    assert_true(file_is(path, junk, sizeof junk));
    unlink(path);
    snprintf(path, sizeof path, "%s/foreign666", lns);
    unlink(path);
    for (int i = 0; i < 2; i++) {
        tu_close(p.ready[i]);
        tu_close(p.go[i]);
    }
}

/* A directory, a socket and (as root) a device node where an object file
 * belongs: the store's "unsafe file" error, from create and from open. */
static void test_special_files_in_place_of_objects(void **state)
{
    (void)state;
    assert_rc(shmap_mapping_close(tu_create("warm-up", GRAN)), 0);
    char path[PATH_MAX];
    assert_int_equal(mkdir(obj_path(path, sizeof path, SHMAP_SCOPE_LOCAL, "adir"), 0700), 0);
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(sock >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    obj_path(sa.sun_path, sizeof sa.sun_path, SHMAP_SCOPE_LOCAL, "asock");
    assert_int_equal(bind(sock, (struct sockaddr *)&sa, sizeof sa), 0);
    int dev = geteuid() == 0 && mknod(obj_path(path, sizeof path, SHMAP_SCOPE_LOCAL, "adev"),
                                      S_IFCHR | 0600, makedev(1, 3)) == 0; /* /dev/null */

    static const char *names[] = {"adir", "asock", "adev"};
    char wrong[1024] = "";
    for (int i = 0; i < 2 + dev; i++) {
        shmap_mapping_config cfg = cfg_of(GRAN, 0600);
        shmap_mapping *m = NULL;
        shmap_sync *s = NULL;
        int rc[4] = {shmap_mapping_create(names[i], &cfg, &m),
                     shmap_mapping_open(names[i], SHMAP_ACCESS_ALL, &m),
                     shmap_mutex_open(names[i], &s), shmap_event_create(names[i], 0, 0600, &s)};
        static const char *calls[] = {"mapping_create", "mapping_open", "mutex_open",
                                      "event_create"};
        assert_null(m);
        assert_null(s);
        for (int j = 0; j < 4; j++) {
            if (rc[j] == SHMAP_ESTORE)
                continue;
            char line[128];
            snprintf(line, sizeof line, "  %s over a %s: %s\n", calls[j], names[i] + 1,
                     tu_errname(rc[j]));
            strncat(wrong, line, sizeof wrong - strlen(wrong) - 1);
        }
    }
    list_and_sweep(SHMAP_SCOPE_LOCAL);
    struct stat st;
    assert_int_equal(stat(obj_path(path, sizeof path, SHMAP_SCOPE_LOCAL, "adir"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    rmdir(path);
    unlink(sa.sun_path);
    close(sock);
    if (dev)
        unlink(obj_path(path, sizeof path, SHMAP_SCOPE_LOCAL, "adev"));
    if (wrong[0])
        fail_msg("special files where objects belong, want SHMAP_ESTORE:\n%s", wrong);
}

/* A hard link to a file outside the store: never written, never truncated,
 * never resized; the store may only drop its own link. */
static void test_hard_link_to_outside_file(void **state)
{
    (void)state;
    assert_rc(shmap_mapping_close(tu_create("warm-up", GRAN)), 0);
    assert_rc(shmap_mapping_close(tu_create("Global\\warm-up", GRAN)), 0);
    char precious[PATH_MAX], lpath[PATH_MAX];
    char data[8192];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)('a' + i % 26);
    tu_scratch_path(precious, sizeof precious, "precious");
    write_file(precious, 0644, data, sizeof data);
    static const uint32_t scopes[] = {SHMAP_SCOPE_LOCAL, SHMAP_SCOPE_GLOBAL};
    static const char *names[] = {"victim", "Global\\victim"};
    for (int i = 0; i < 2; i++) {
        obj_path(lpath, sizeof lpath, scopes[i], "victim");
        assert_int_equal(link(precious, lpath), 0);
        shmap_mapping *m = NULL;
        int rc = shmap_mapping_open(names[i], SHMAP_ACCESS_ALL, &m);
        if (rc != SHMAP_ENOENT && rc != SHMAP_ECORRUPT && rc != SHMAP_ESTORE)
            fail_msg("open of a hard link to a foreign file: %s", tu_errname(rc));
        unlink(lpath);
        assert_int_equal(link(precious, lpath), 0);
        shmap_mapping_config cfg = cfg_of(4 * GRAN, 0600);
        rc = shmap_mapping_create(names[i], &cfg, &m);
        if (rc == 0) { /* recovered: the link was dropped, a new object made */
            char *v = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
            memset(v, 'X', 4 * GRAN);
            assert_rc(shmap_view_unmap(v), 0);
            assert_rc(shmap_mapping_close(m), 0);
        } else if (rc != SHMAP_ECORRUPT && rc != SHMAP_ESTORE) {
            fail_msg("create over a hard link to a foreign file: %s", tu_errname(rc));
        }
        unlink(lpath);
        assert_true(file_is(precious, data, sizeof data));
    }
    struct stat st;
    assert_int_equal(stat(precious, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(st.st_nlink, 1);
}

/* ---- Truncated object files ----------------------------------------------- */

static void test_truncated_object_files(void **state)
{
    (void)state;
    char mpath[PATH_MAX], spath[PATH_MAX];
    shmap_mapping *m = tu_create("trunc", GRAN);
    shmap_sync *mx = NULL;
    assert_rc(shmap_mutex_create("trunc-mx", 0, 0600, &mx), 0);
    obj_path(mpath, sizeof mpath, SHMAP_SCOPE_LOCAL, "trunc");
    obj_path(spath, sizeof spath, SHMAP_SCOPE_LOCAL, "trunc-mx");
    struct object_header mh, sh;
    header_get(mpath, &mh);
    header_get(spath, &sh);
    struct stat st;
    assert_int_equal(stat(mpath, &st), 0);
    off_t full = st.st_size;

    static const off_t sizes[] = {0, 1, 100, 4095, 4096, 65536, 65536 + 4096};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        assert_int_equal(truncate(mpath, sizes[i]), 0);
        assert_both("trunc", SHMAP_ECORRUPT, SHMAP_ECORRUPT);
        list_and_sweep(SHMAP_SCOPE_LOCAL);
        assert_int_equal(truncate(mpath, full), 0);
        header_put(mpath, &mh, sizeof mh, 0);
        assert_int_equal(tu_name_exists("trunc"), 1);
        if (sizes[i] < (off_t)HEADER_SIZE) {
            shmap_sync *s = NULL;
            assert_int_equal(truncate(spath, sizes[i]), 0);
            assert_rc(shmap_mutex_open("trunc-mx", &s), SHMAP_ECORRUPT);
            assert_rc(shmap_mutex_create("trunc-mx", 0, 0600, &s), SHMAP_ECORRUPT);
            assert_null(s);
            list_and_sweep(SHMAP_SCOPE_LOCAL);
            assert_int_equal(truncate(spath, HEADER_SIZE), 0);
            header_put(spath, &sh, sizeof sh, 0);
            assert_rc(shmap_mutex_open("trunc-mx", &s), 0);
            assert_rc(shmap_sync_close(s), 0);
        }
    }
    /* (The handles' own pages were never touched while cut short: a
     * mapping of a truncated file raises SIGBUS, see the report.) */
    assert_rc(shmap_wait(mx, 0), 0);
    assert_rc(shmap_mutex_release(mx), 0);
    assert_rc(shmap_sync_close(mx), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

/* ---- Garbage in a mapping's header ---------------------------------------- */

struct hcase {
    const char *what;
    int want; /* what create and open of the mapping say */
    void (*apply)(struct object_header *h);
};

static void h_magic(struct object_header *h)
{
    h->magic ^= 1;
}
static void h_version(struct object_header *h)
{
    h->version = HEADER_VERSION + 1;
}
static void h_version0(struct object_header *h)
{
    h->version = 0;
}
static void h_hsize(struct object_header *h)
{
    h->header_size = 2 * HEADER_SIZE;
}
static void h_type99(struct object_header *h)
{
    h->type = 99;
}
static void h_type0(struct object_header *h)
{
    h->type = 0;
}
static void h_type_mutex(struct object_header *h)
{
    h->type = SHMAP_TYPE_MUTEX;
}
static void h_type_event(struct object_header *h)
{
    h->type = SHMAP_TYPE_EVENT;
}
static void h_flags(struct object_header *h)
{
    h->flags |= 0x80000000u;
}
static void h_prot0(struct object_header *h)
{
    h->protection = 0;
}
static void h_prot7(struct object_header *h)
{
    h->protection = 7;
}
static void h_size0(struct object_header *h)
{
    h->size = 0;
}
static void h_size_big(struct object_header *h)
{
    h->size += 1;
}
static void h_size_max(struct object_header *h)
{
    h->size = UINT64_MAX;
}
static void h_size_2_62(struct object_header *h)
{
    h->size = (1ull << 62) + 1;
}
static void h_off0(struct object_header *h)
{
    h->data_offset = 0;
}
static void h_off4k(struct object_header *h)
{
    h->data_offset = 4096;
}
static void h_off_huge(struct object_header *h)
{
    h->data_offset = 1ull << 40;
}
static void h_off_max(struct object_header *h)
{
    h->data_offset = UINT64_MAX;
}
static void h_name(struct object_header *h)
{
    memset(h->name, 'A', sizeof h->name);
}
static void h_path(struct object_header *h)
{
    memset(h->file_path, '/', sizeof h->file_path);
}
static void h_fb_empty(struct object_header *h)
{
    h->flags |= HEADER_FILE_BACKED;
    h->data_offset = 0;
    h->file_path[0] = '\0';
}
static void h_fb_relative(struct object_header *h)
{
    h->flags |= HEADER_FILE_BACKED;
    h->data_offset = 0;
    strcpy(h->file_path, "relative/path");
}
static void h_fb_missing(struct object_header *h)
{
    h->flags |= HEADER_FILE_BACKED;
    h->data_offset = 0;
    strcpy(h->file_path, "/nonexistent/shmap/file");
}
static void h_zero(struct object_header *h)
{
    memset(h, 0, sizeof *h);
}
static void h_ones(struct object_header *h)
{
    memset(h, 0xff, sizeof *h);
}
static void h_random(struct object_header *h)
{
    uint64_t x = 0x243f6a8885a308d3ull;
    unsigned char *p = (unsigned char *)h;
    for (size_t i = 0; i < sizeof *h; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (unsigned char)x;
    }
}
static void h_random_body(struct object_header *h)
{
    /* Valid magic and version, garbage everywhere else. */
    h_random(h);
    h->magic = HEADER_MAGIC;
    h->version = HEADER_VERSION;
    h->header_size = HEADER_SIZE;
}

static const struct hcase hcases[] = {
    {"bad magic", SHMAP_ECORRUPT, h_magic},
    {"next version", SHMAP_ECORRUPT, h_version},
    {"version 0", SHMAP_ECORRUPT, h_version0},
    {"header size", SHMAP_ECORRUPT, h_hsize},
    {"type 99", SHMAP_ECORRUPT, h_type99},
    {"type 0", SHMAP_ECORRUPT, h_type0},
    {"type mutex", SHMAP_ETYPE, h_type_mutex},
    {"type event", SHMAP_ETYPE, h_type_event},
    {"unknown flag", SHMAP_ECORRUPT, h_flags},
    {"protection 0", SHMAP_ECORRUPT, h_prot0},
    {"protection 7", SHMAP_ECORRUPT, h_prot7},
    {"size 0", SHMAP_ECORRUPT, h_size0},
    {"size past the file", SHMAP_ECORRUPT, h_size_big},
    {"size UINT64_MAX", SHMAP_ECORRUPT, h_size_max},
    {"size 2^62+1", SHMAP_ECORRUPT, h_size_2_62},
    {"data offset 0", SHMAP_ECORRUPT, h_off0},
    {"data offset 4096", SHMAP_ECORRUPT, h_off4k},
    {"data offset 2^40", SHMAP_ECORRUPT, h_off_huge},
    {"data offset UINT64_MAX", SHMAP_ECORRUPT, h_off_max},
    {"name not terminated", SHMAP_ECORRUPT, h_name},
    {"file path not terminated", SHMAP_ECORRUPT, h_path},
    {"file-backed, empty path", SHMAP_ECORRUPT, h_fb_empty},
    {"file-backed, relative path", SHMAP_ECORRUPT, h_fb_relative},
    {"all zero", SHMAP_ECORRUPT, h_zero},
    {"all ones", SHMAP_ECORRUPT, h_ones},
    {"random", SHMAP_ECORRUPT, h_random},
    {"random after a valid magic", SHMAP_ECORRUPT, h_random_body},
};

static int type0_cb(const shmap_object_info *o, void *arg)
{
    if (strcmp(o->name, "Local\\garbled") == 0)
        *(uint32_t *)arg = o->type;
    return 0;
}

static void test_header_garbage_mapping(void **state)
{
    (void)state;
    char path[PATH_MAX];
    shmap_mapping *m = tu_create("garbled", GRAN);
    char *v = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    strcpy(v, "data");
    obj_path(path, sizeof path, SHMAP_SCOPE_LOCAL, "garbled");
    struct object_header good;
    header_get(path, &good);
    for (size_t i = 0; i < sizeof hcases / sizeof hcases[0]; i++) {
        const struct hcase *c = &hcases[i];
        struct object_header bad = good;
        c->apply(&bad);
        header_put(path, &bad, sizeof bad, 0);
        shmap_mapping_config cfg = cfg_of(GRAN, 0600);
        shmap_mapping *o = NULL;
        int rc_open = shmap_mapping_open("garbled", SHMAP_ACCESS_ALL, &o);
        int rc_create = shmap_mapping_create("garbled", &cfg, &o);
        shmap_sync *s = NULL;
        int rc_mutex = shmap_mutex_open("garbled", &s);
        uint32_t listed = 1234;
        assert_rc(shmap_store_list(SHMAP_SCOPE_LOCAL, type0_cb, &listed), 0);
        assert_rc(shmap_store_sweep(SHMAP_SCOPE_LOCAL, 0, NULL, NULL), 0); /* held */
        if (rc_open != c->want || rc_create != c->want || o || s)
            fail_msg("header with %s: open %s, create %s; want %s", c->what, tu_errname(rc_open),
                     tu_errname(rc_create), tu_errname(c->want));
        if (rc_mutex != SHMAP_ECORRUPT && rc_mutex != SHMAP_ETYPE)
            fail_msg("header with %s: mutex_open %s", c->what, tu_errname(rc_mutex));
        if (c->want == SHMAP_ECORRUPT && listed != 0)
            fail_msg("header with %s: listed with type %u, not 0", c->what, listed);
        /* The handle made before goes on working, on its own data. */
        assert_string_equal(v, "data");
        header_put(path, &good, sizeof good, 0);
        shmap_mapping_close(tu_open("garbled", SHMAP_ACCESS_ALL));
    }
    /* A file-backed flag naming a missing file: a clear error too. */
    struct object_header bad = good;
    h_fb_missing(&bad);
    header_put(path, &bad, sizeof bad, 0);
    shmap_mapping *o = NULL;
    int rc = shmap_mapping_open("garbled", SHMAP_ACCESS_ALL, &o);
    header_put(path, &good, sizeof good, 0);
    if (rc != SHMAP_ECORRUPT && rc != SHMAP_ENOENT)
        fail_msg("header naming a missing backing file: open %s", tu_errname(rc));
    assert_rc(shmap_view_unmap(v), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

/* ---- A live object's header pointed at another file ---------------------- */

struct redirect {
    char obj[PATH_MAX];
    char target[PATH_MAX];
};

/* The attacker may write the object (mode 0666): it makes it "file-backed"
 * by a file it cannot write itself, but the victim (root) can. */
static void child_redirects(void *arg)
{
    struct redirect *r = arg;
    become(ATTACKER);
    struct stat st;
    TU_CHILD_CHECK(stat(r->target, &st) == 0);
    int fd = open(r->obj, O_RDWR | O_CLOEXEC);
    TU_CHILD_CHECK(fd >= 0);
    struct object_header h;
    TU_CHILD_CHECK(pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h);
    h.flags |= HEADER_FILE_BACKED;
    h.data_offset = 0;
    h.size = (uint64_t)st.st_size;
    h.file_dev = (uint64_t)st.st_dev;
    h.file_ino = (uint64_t)st.st_ino;
    int n = snprintf(h.file_path, sizeof h.file_path, "%s", r->target);
    TU_CHILD_CHECK(n > 0 && (size_t)n < sizeof h.file_path);
    TU_CHILD_CHECK(pwrite(fd, &h, sizeof h, 0) == (ssize_t)sizeof h);
    close(fd);
}

static void test_header_redirected_to_foreign_file(void **state)
{
    (void)state;
    share_store();
    struct redirect r;
    char data[GRAN];
    memset(data, 'T', sizeof data);
    tu_scratch_path(r.target, sizeof r.target, "root-only");
    write_file(r.target, 0600, data, sizeof data);
    shmap_mapping_config cfg = cfg_of(GRAN, 0666);
    shmap_mapping *m = tu_create_cfg("Global\\redirect", &cfg, 0);
    obj_path(r.obj, sizeof r.obj, SHMAP_SCOPE_GLOBAL, "redirect");
    tu_wait_ok(tu_fork(child_redirects, &r));

    /* Root opens the object it made and writes its data. */
    shmap_mapping *o = NULL;
    int rc = shmap_mapping_open("Global\\redirect", SHMAP_ACCESS_ALL, &o);
    if (rc == 0) {
        void *v = NULL;
        if (shmap_view_map(o, SHMAP_ACCESS_WRITE, 0, 0, NULL, &v) == 0) {
            memset(v, 'V', 16);
            shmap_view_unmap(v);
        }
        shmap_mapping_close(o);
    }
    assert_rc(shmap_mapping_close(m), 0);
    if (!file_is(r.target, data, sizeof data))
        fail_msg("another user's header edit made root write into %s (open said %s)", r.target,
                 tu_errname(rc));
    if (rc != SHMAP_ECORRUPT && rc != SHMAP_EACCES && rc != SHMAP_ESTORE)
        fail_msg("open of a header redirected to a foreign file: %s, want a refusal",
                 tu_errname(rc));
}

/* ---- Garbage in a live synchronization object's state --------------------- */

#define ST(field)                                                                                  \
    ((off_t)offsetof(struct object_header, sync_state) + (off_t)offsetof(struct sync_state, field))
#define MX(field) (ST(mx) + (off_t)offsetof(pthread_mutex_t, __data.field))

enum { V_CONST, V_SELF_TID, V_SELF_OWNED, V_FILL_FF, V_RANDOM };

struct scase {
    uint32_t type; /* SHMAP_TYPE_* the case applies to */
    const char *what;
    int kind; /* V_* */
    off_t off;
    size_t len; /* 4 or 8 for V_CONST / V_SELF_TID */
    uint64_t val;
    int invalid; /* the library's own checks must refuse a new handle */
};

static const struct scase scases[] = {
    /* every type */
    {0, "magic 0", V_CONST, ST(magic), 4, 0, 1},
    {0, "magic garbage", V_CONST, ST(magic), 4, 0xdeadbeef, 1},
    {0, "type 99", V_CONST, ST(type), 4, 99, 1},
    {0, "type mapping", V_CONST, ST(type), 4, SHMAP_TYPE_MAPPING, 1},
    {0, "id changed", V_CONST, ST(id), 8, 0x1234, 0},
    {0, "state all 0xff", V_FILL_FF, ST(magic), SHMAP_SYNC_SIZE, 0, 1},
    {0, "state random", V_RANDOM, ST(magic), SHMAP_SYNC_SIZE, 1, 1},
    {0, "words random", V_RANDOM, ST(u), 48, 2, 0},
    {0, "mutex slot random", V_RANDOM, ST(mx), 64, 3, 0},
    /* events */
    {SHMAP_TYPE_EVENT, "type semaphore", V_CONST, ST(type), 4, SHMAP_TYPE_SEMAPHORE, 1},
    {SHMAP_TYPE_EVENT, "type mutex", V_CONST, ST(type), 4, SHMAP_TYPE_MUTEX, 1},
    {SHMAP_TYPE_EVENT, "word held by a dead wait-all", V_CONST, ST(u.event.word), 4, EV_HELD, 0},
    {SHMAP_TYPE_EVENT, "word 5", V_CONST, ST(u.event.word), 4, 5, 1},
    {SHMAP_TYPE_EVENT, "word 0xffffffff", V_CONST, ST(u.event.word), 4, 0xffffffffu, 1},
    {SHMAP_TYPE_EVENT, "manual 7", V_CONST, ST(u.event.manual), 4, 7, 1},
    {SHMAP_TYPE_EVENT, "waiters huge", V_CONST, ST(u.event.waiters), 4, 0xffffffffu, 0},
    /* semaphores */
    {SHMAP_TYPE_SEMAPHORE, "type event", V_CONST, ST(type), 4, SHMAP_TYPE_EVENT, 1},
    {SHMAP_TYPE_SEMAPHORE, "type mutex", V_CONST, ST(type), 4, SHMAP_TYPE_MUTEX, 1},
    {SHMAP_TYPE_SEMAPHORE, "count above maximum", V_CONST, ST(u.sem.word), 8, 0xffffffffu, 1},
    {SHMAP_TYPE_SEMAPHORE, "held units", V_CONST, ST(u.sem.word), 8, 0xffffffff00000000ull, 1},
    {SHMAP_TYPE_SEMAPHORE, "maximum 0", V_CONST, ST(u.sem.maximum), 4, 0, 1},
    {SHMAP_TYPE_SEMAPHORE, "maximum 2^32-1", V_CONST, ST(u.sem.maximum), 4, 0xffffffffu, 1},
    {SHMAP_TYPE_SEMAPHORE, "waiters huge", V_CONST, ST(u.sem.waiters), 4, 0xffffffffu, 0},
    /* mutexes */
    {SHMAP_TYPE_MUTEX, "type event", V_CONST, ST(type), 4, SHMAP_TYPE_EVENT, 1},
    {SHMAP_TYPE_MUTEX, "type semaphore", V_CONST, ST(type), 4, SHMAP_TYPE_SEMAPHORE, 1},
    {SHMAP_TYPE_MUTEX, "abi", V_CONST, ST(u.mutex.abi), 4, 0x12345678, 1},
    {SHMAP_TYPE_MUTEX, "abandoned 5", V_CONST, ST(u.mutex.abandoned), 4, 5, 1},
    {SHMAP_TYPE_MUTEX, "abandoned 1", V_CONST, ST(u.mutex.abandoned), 4, 1, 0},
    {SHMAP_TYPE_MUTEX, "kind 0 (plain, private)", V_CONST, MX(__kind), 4, 0, 1},
    {SHMAP_TYPE_MUTEX, "kind robust, private", V_CONST, MX(__kind), 4, 17, 1},
    {SHMAP_TYPE_MUTEX, "kind priority-inheritance", V_CONST, MX(__kind), 4, 128 | 32 | 16 | 1, 1},
    {SHMAP_TYPE_MUTEX, "kind priority-protect", V_CONST, MX(__kind), 4, 128 | 64 | 1, 1},
    {SHMAP_TYPE_MUTEX, "kind -1", V_CONST, MX(__kind), 4, 0xffffffffu, 1},
    {SHMAP_TYPE_MUTEX, "owned by a thread that never was", V_CONST, MX(__lock), 4, 0x3ffffffe, 0},
    {SHMAP_TYPE_MUTEX, "owner died, no owner", V_CONST, MX(__lock), 4, SYNC_FUTEX_OWNER_DIED, 0},
    {SHMAP_TYPE_MUTEX, "owned by the victim's thread", V_SELF_TID, MX(__lock), 4, 0, 0},
    {SHMAP_TYPE_MUTEX, "owned by the victim's thread, __owner too", V_SELF_OWNED, MX(__lock), 4, 0,
     0},
    {SHMAP_TYPE_MUTEX, "recursion count huge", V_CONST, MX(__count), 4, 0xffffffffu, 0},
    {SHMAP_TYPE_MUTEX, "robust list links", V_RANDOM, MX(__list), 16, 4, 0},
};

/* Each operation's result must be one its documentation names. */
static int rc_in(int rc, const int *ok, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rc == ok[i])
            return 1;
    return 0;
}

static const char *case_name = "";

#define EXPECT(expr, ...)                                                                          \
    do {                                                                                           \
        static const int ok_[] = {__VA_ARGS__};                                                    \
        int rc_ = (expr);                                                                          \
        if (!rc_in(rc_, ok_, sizeof ok_ / sizeof ok_[0])) {                                        \
            fprintf(stderr, "    [%s] %s returned %s\n", case_name, #expr, tu_errname(rc_));       \
            bad++;                                                                                 \
        }                                                                                          \
    } while (0)

static uint32_t self_tid(void)
{
    return (uint32_t)syscall(SYS_gettid);
}

static shmap_sync *sync_make(uint32_t type, const char *name)
{
    shmap_sync *s = NULL;
    int rc = type == SHMAP_TYPE_MUTEX   ? shmap_mutex_create(name, 0, 0600, &s)
             : type == SHMAP_TYPE_EVENT ? shmap_event_create(name, 0, 0600, &s)
                                        : shmap_semaphore_create(name, 1, 4, 0, 0600, &s);
    TU_CHILD_RC(rc, 0);
    return s;
}

static int sync_reopen(uint32_t type, const char *name, shmap_sync **s)
{
    return type == SHMAP_TYPE_MUTEX   ? shmap_mutex_open(name, s)
           : type == SHMAP_TYPE_EVENT ? shmap_event_open(name, s)
                                      : shmap_semaphore_open(name, s);
}

struct scase_run {
    const struct scase *c;
    uint32_t type;
};

/* In a child: make the object, garble it as the case says, and use it. */
static void child_sync_case(void *arg)
{
    const struct scase_run *r = arg;
    const struct scase *c = r->c;
    alarm(10); /* safety net: a hang fails the case */
    static char label[128];
    static const char *type_names[] = {"", "", "mutex", "event", "semaphore"};
    snprintf(label, sizeof label, "%s, %s", type_names[r->type], c->what);
    case_name = label;
    char name[64], path[PATH_MAX];
    snprintf(name, sizeof name, "garbled-%u", r->type);
    shmap_sync *s = sync_make(r->type, name);
    shmap_sync *other = NULL;
    TU_CHILD_RC(shmap_event_create(NULL, SHMAP_EVENT_MANUAL_RESET, 0, &other), 0);
    obj_path(path, sizeof path, SHMAP_SCOPE_LOCAL, name);

    unsigned char bytes[SHMAP_SYNC_SIZE];
    uint64_t v = c->val;
    if (c->kind == V_SELF_TID || c->kind == V_SELF_OWNED)
        v = self_tid();
    if (c->kind == V_FILL_FF)
        memset(bytes, 0xff, c->len);
    else if (c->kind == V_RANDOM)
        for (size_t i = 0; i < c->len; i++) {
            v = v * 6364136223846793005ull + 1442695040888963407ull;
            bytes[i] = (unsigned char)(v >> 56);
        }
    else if (c->len == 4) {
        uint32_t w = (uint32_t)v;
        memcpy(bytes, &w, 4);
    } else {
        memcpy(bytes, &v, 8);
    }
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    TU_CHILD_CHECK(fd >= 0);
    TU_CHILD_CHECK(pwrite(fd, bytes, c->len, c->off) == (ssize_t)c->len);
    if (c->kind == V_SELF_OWNED) /* glibc's own record of the owner, too */
        TU_CHILD_CHECK(pwrite(fd, bytes, 4, MX(__owner)) == 4);
    close(fd);

    int bad = 0;
    shmap_sync_info info;
    /* A new handle, before anything below repairs the state: refused when
     * the state is invalid. */
    shmap_sync *again = NULL;
    int rc = sync_reopen(r->type, name, &again);
    if (c->invalid && rc >= 0) {
        fprintf(stderr, "    [%s] a new handle to the garbled object was given (%s)\n", case_name,
                tu_errname(rc));
        bad++;
    }
    EXPECT(rc, 0, SHMAP_ECORRUPT, SHMAP_ETYPE, SHMAP_ENOTSUP);
    if (again)
        shmap_sync_close(again);
    /* Describing the raw header page. */
    struct object_header h;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    TU_CHILD_CHECK(fd >= 0 && pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h);
    close(fd);
    EXPECT(shmap_sync_describe(&h, sizeof h, &info), 0, SHMAP_ECORRUPT, SHMAP_ETYPE);
    /* The handle made before: every call says something documented. */
    EXPECT(shmap_sync_query(s, &info), 0);
    EXPECT(shmap_wait(s, 0), 0, SHMAP_ABANDONED, SHMAP_ETIMEDOUT, SHMAP_ECORRUPT, SHMAP_ERANGE);
    EXPECT(shmap_wait(s, 20), 0, SHMAP_ABANDONED, SHMAP_ETIMEDOUT, SHMAP_ECORRUPT, SHMAP_ERANGE);
    shmap_sync *two[2] = {other, s};
    EXPECT(shmap_wait_multiple(two, 2, true, 0, NULL), 0, SHMAP_ABANDONED, SHMAP_ETIMEDOUT,
           SHMAP_ECORRUPT, SHMAP_ERANGE);
    EXPECT(shmap_wait_multiple(two, 2, false, 10, NULL), 0, SHMAP_ABANDONED, SHMAP_ETIMEDOUT,
           SHMAP_ECORRUPT, SHMAP_ERANGE);
    if (r->type == SHMAP_TYPE_MUTEX) {
        for (int i = 0; i < 4; i++)
            EXPECT(shmap_mutex_release(s), 0, SHMAP_ENOTOWNER, SHMAP_ECORRUPT);
    } else if (r->type == SHMAP_TYPE_EVENT) {
        EXPECT(shmap_event_set(s), 0, SHMAP_ECORRUPT);
        EXPECT(shmap_wait(s, 0), 0, SHMAP_ETIMEDOUT, SHMAP_ECORRUPT);
        EXPECT(shmap_event_reset(s), 0, SHMAP_ECORRUPT);
        EXPECT(shmap_event_set(s), 0, SHMAP_ECORRUPT);
    } else {
        uint32_t prev;
        EXPECT(shmap_semaphore_release(s, 1, &prev), 0, SHMAP_ERANGE, SHMAP_ECORRUPT);
        EXPECT(shmap_semaphore_release(s, 0x7fffffff, &prev), 0, SHMAP_ERANGE, SHMAP_ECORRUPT);
        EXPECT(shmap_wait(s, 0), 0, SHMAP_ETIMEDOUT, SHMAP_ECORRUPT);
    }
    EXPECT(shmap_sync_query(s, &info), 0);

    shmap_sync_close(other);
    shmap_sync_close(s);
    if (bad)
        _exit(2);
}

static void test_sync_state_garbage(void **state)
{
    (void)state;
    static const uint32_t types[] = {SHMAP_TYPE_MUTEX, SHMAP_TYPE_EVENT, SHMAP_TYPE_SEMAPHORE};
    static const char *type_names[] = {"", "", "mutex", "event", "semaphore"};
    char failures[4096] = "";
    int failed = 0, run = 0;
    for (size_t t = 0; t < 3; t++) {
        for (size_t i = 0; i < sizeof scases / sizeof scases[0]; i++) {
            if (scases[i].type && scases[i].type != types[t])
                continue;
            struct scase_run r = {&scases[i], types[t]};
            int status = tu_wait_exit(tu_fork(child_sync_case, &r));
            run++;
            if (status == 0)
                continue;
            failed++;
            char line[160];
            snprintf(line, sizeof line, "  %s, %s: %s\n", type_names[types[t]], scases[i].what,
                     status == 128 + SIGALRM ? "HANG (alarm fired)"
                     : status > 128          ? strsignal(status - 128)
                                             : "wrong result (see above)");
            strncat(failures, line, sizeof failures - strlen(failures) - 1);
        }
    }
    /* Whatever the children left is stale now. */
    shmap_store_sweep(SHMAP_SCOPE_LOCAL, 0, NULL, NULL);
    print_message("sync state garbage: %d cases, %d failed\n", run, failed);
    if (failed)
        fail_msg("garbage in a live object's state:\n%s", failures);
}

/* ---- Name squatting --------------------------------------------------------- */

struct squat {
    int ready[2], done[2];
    int spoof; /* also claim, in the header, to be the victim */
};

static void child_squatter(void *arg)
{
    struct squat *q = arg;
    become(ATTACKER);
    shmap_mapping_config cfg = cfg_of(GRAN, 0666);
    shmap_mapping *m = NULL, *m600 = NULL;
    shmap_sync *mx = NULL;
    TU_CHILD_RC(shmap_mapping_create("Global\\squat", &cfg, &m), 0);
    cfg.mode = 0600;
    TU_CHILD_RC(shmap_mapping_create("Global\\squat600", &cfg, &m600), 0);
    TU_CHILD_RC(shmap_mutex_create("Global\\squatmx", 0, 0666, &mx), 0);
    if (q->spoof) {
        char path[PATH_MAX];
        obj_path(path, sizeof path, SHMAP_SCOPE_GLOBAL, "squat");
        int fd = open(path, O_RDWR | O_CLOEXEC);
        TU_CHILD_CHECK(fd >= 0);
        uint32_t ids[2] = {VICTIM, 1}; /* creator_uid, creator_pid */
        TU_CHILD_CHECK(pwrite(fd, ids, sizeof ids, offsetof(struct object_header, creator_uid)) ==
                       (ssize_t)sizeof ids);
        close(fd);
    }
    TU_CHILD_CHECK(tu_pipe_signal(q->ready[1], 'r') == 0);
    TU_CHILD_CHECK(tu_pipe_wait(q->done[0]) == 'd');
    TU_CHILD_RC(shmap_mapping_close(m), 0);
    TU_CHILD_RC(shmap_mapping_close(m600), 0);
    TU_CHILD_RC(shmap_sync_close(mx), 0);
}

static void child_victim(void *arg)
{
    (void)arg;
    become(VICTIM);
    shmap_mapping_config cfg = cfg_of(GRAN, 0600);
    shmap_mapping *m = NULL;
    /* The victim can tell it did not make the object, and who did. */
    TU_CHILD_RC(shmap_mapping_create("Global\\squat", &cfg, &m), SHMAP_EXISTED);
    shmap_mapping_info info;
    TU_CHILD_RC(shmap_mapping_query(m, &info), 0);
    if (info.owner_uid != ATTACKER)
        fprintf(stderr, "    query of the squatted object: owner_uid %u, not the squatter %u\n",
                info.owner_uid, ATTACKER);
    TU_CHILD_CHECK(info.owner_uid == ATTACKER);
    TU_CHILD_CHECK(info.mode == 0666);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
    m = NULL;
    cfg.flags = SHMAP_CREATE_NEW;
    TU_CHILD_RC(shmap_mapping_create("Global\\squat", &cfg, &m), SHMAP_EEXIST);
    cfg.flags = 0;
    TU_CHILD_RC(shmap_mapping_create("Global\\squat600", &cfg, &m), SHMAP_EACCES);
    TU_CHILD_RC(shmap_mapping_create("Global\\squatmx", &cfg, &m), SHMAP_ETYPE);
    TU_CHILD_CHECK(m == NULL);
}

static void squat_case(int spoof)
{
    share_store();
    struct squat q = {.spoof = spoof};
    tu_pipe(q.ready);
    tu_pipe(q.done);
    /* The namespace is the system's (root made it), as it would be. */
    assert_rc(shmap_mapping_close(tu_create("Global\\root-was-here", GRAN)), 0);
    pid_t squatter = tu_fork(child_squatter, &q);
    tu_close(q.ready[1]);
    tu_close(q.done[0]);
    q.ready[1] = q.done[0] = -1;
    if (tu_pipe_wait(q.ready[0]) != 'r') {
        tu_wait_exit(squatter);
        fail_msg("the squatter failed");
    }
    int victim = tu_wait_exit(tu_fork(child_victim, NULL));
    assert_int_equal(tu_pipe_signal(q.done[1], 'd'), 0);
    tu_wait_ok(squatter);
    for (int i = 0; i < 2; i++) {
        tu_close(q.ready[i]);
        tu_close(q.done[i]);
    }
    assert_int_equal(victim, 0);
}

static void test_squatted_global_name(void **state)
{
    (void)state;
    squat_case(0);
}

/* The squatter owns its file and may write its header: the owner the
 * victim is told must come from the kernel, not from that header. */
static void test_squatter_claims_to_be_the_victim(void **state)
{
    (void)state;
    squat_case(1);
}

int main(void)
{
    if (getenv("SHMAP_TEST_FILTER"))
        cmocka_set_test_filter(getenv("SHMAP_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_dirs_of_another_user, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_store_dir_given_away_while_in_use, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_object_files_of_another_user, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_special_files_in_place_of_objects, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_hard_link_to_outside_file, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_object_files, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_header_garbage_mapping, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_header_redirected_to_foreign_file, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_sync_state_garbage, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_squatted_global_name, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_squatter_claims_to_be_the_victim, tu_setup,
                                        tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
