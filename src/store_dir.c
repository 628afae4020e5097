/* store_dir.c - the store's directories.  $SHMAP_ROOT (default
 * /dev/shm/shmap, mode 01777) holds "local-UID" (mode 0700, owned by UID)
 * for each user's Local\ names and "global" (mode 0777) for Global\ names.
 *
 * Why "global" is not sticky: a name must go with its last handle, whoever
 * closes it last, and in a sticky directory a user may not unlink another
 * user's file.  So any user may remove a Global\ name (as shmap_unlink
 * does), while the object itself stays protected by its mode; a process
 * that finds a name can tell who made the object (shmap_mapping_query's
 * owner_uid is the file's owner) and whether it made it (SHMAP_EXISTED).
 * "global" belongs to root or to the owner of the root, and the library
 * makes it together with the root, so that it is never the first user of
 * Global\ who owns it.  Missing
 * directories are created with their exact mode (prepared under a
 * temporary name, then renamed into place, so nobody sees a half-made
 * one); an existing one is used only if it is a real directory, not a
 * symlink, with the expected owner and mode.
 *
 * Opened namespaces are cached per process and re-checked against their
 * path on every use, so that a store that was removed or replaced is
 * opened afresh rather than used stale. */
#include "store.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct store_ns {
    struct store_ns *next;
    unsigned refs;
    bool cached;
    uint32_t scope;
    uid_t uid;
    int dirfd;
    dev_t dev;
    ino_t ino;
    uid_t dir_uid; /* the directory's owner when it was checked */
    int huge;      /* -1 not yet known, 0 no, 1 yes */
    pthread_mutex_t cursor_lock;
    DIR *cursor; /* where the bounded sweep goes on from */
    char path[PATH_MAX];
};

static const char default_root[] = "/dev/shm/shmap";
static pthread_mutex_t ns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store_ns *ns_cache;

static const char *store_root(void)
{
    const char *root = getenv("SHMAP_ROOT");
    return root && root[0] ? root : default_root;
}

static int ns_build_path(uint32_t scope, char *buf, size_t size)
{
    int n;
    if (scope == SHMAP_SCOPE_LOCAL)
        n = snprintf(buf, size, "%s/local-%u", store_root(), (unsigned)geteuid());
    else
        n = snprintf(buf, size, "%s/global", store_root());
    return n < 0 || (size_t)n >= size ? SHMAP_ERANGE : 0;
}

/* The root may be ours or root's; if others may write to it, it must be
 * sticky so that nobody can remove another user's namespace. */
static bool root_is_safe(const struct stat *st)
{
    if (!S_ISDIR(st->st_mode))
        return false;
    if (st->st_uid != geteuid() && st->st_uid != 0)
        return false;
    return !(st->st_mode & (S_IWGRP | S_IWOTH)) || (st->st_mode & S_ISVTX);
}

static bool ns_dir_is_safe(uint32_t scope, const struct stat *st, const struct stat *root)
{
    if (!S_ISDIR(st->st_mode))
        return false;
    if (scope == SHMAP_SCOPE_LOCAL)
        return st->st_uid == geteuid() && (st->st_mode & 07777) == 0700;
    return (st->st_uid == 0 || st->st_uid == root->st_uid) && (st->st_mode & 07777) == 0777;
}

static int dir_open(int parent, const char *name)
{
    return openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Creates directory NAME in PARENT with exactly MODE, atomically; and, if
 * INNER is not NULL, the directory INNER (mode INNER_MODE) inside it. */
static int dir_create(int parent, const char *name, mode_t mode, const char *inner,
                      mode_t inner_mode)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, ".mkdir-%ld-%lx", (long)getpid(), (unsigned long)random());
    if (mkdirat(parent, tmp, 0700) != 0)
        return error_from_errno(errno);
    int rc = 0;
    int ifd = -1;
    int fd = dir_open(parent, tmp);
    if (fd < 0 || fchmod(fd, mode) != 0)
        goto sys_fail;
    if (inner && (mkdirat(fd, inner, 0700) != 0 || (ifd = dir_open(fd, inner)) < 0 ||
                  fchmod(ifd, inner_mode) != 0))
        goto sys_fail;
    if (renameat2(parent, tmp, parent, name, RENAME_NOREPLACE) == 0)
        goto out;
    if (errno != EEXIST)
    sys_fail:
        rc = error_from_errno(errno);
    if (inner)
        unlinkat(fd, inner, AT_REMOVEDIR);
    unlinkat(parent, tmp, AT_REMOVEDIR);
out:
    fd_close_quietly(ifd);
    fd_close_quietly(fd);
    return rc;
}

/* Opens directory NAME in PARENT; creates it with MODE if CREATE (with
 * the directory INNER, mode 0777, in it if INNER is not NULL). */
static int dir_open_or_create(int parent, const char *name, mode_t mode, const char *inner,
                              bool create)
{
    int fd = dir_open(parent, name);
    if (fd < 0 && errno == ENOENT && create) {
        int rc = dir_create(parent, name, mode, inner, 0777);
        if (rc < 0)
            return rc;
        fd = dir_open(parent, name);
    }
    if (fd < 0)
        return errno == ELOOP || errno == ENOTDIR ? SHMAP_ESTORE : error_from_errno(errno);
    return fd;
}

/* Opens the root directory, creating it (mode 01777) if only it is missing
 * and CREATE. */
static int root_open(struct stat *st, bool create)
{
    const char *root = store_root();
    if (root[0] != '/')
        return SHMAP_ESTORE;
    char parent[PATH_MAX];
    const char *slash = strrchr(root, '/');
    size_t plen = slash == root ? 1 : (size_t)(slash - root);
    if (plen >= sizeof parent || slash[1] == '\0')
        return SHMAP_ESTORE;
    memcpy(parent, root, plen);
    parent[plen] = '\0';
    /* O_PATH: a parent we may search but not read (mode 0711) is fine. */
    int pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return errno == ENOENT || errno == ENOTDIR ? SHMAP_ESTORE : error_from_errno(errno);
    int fd = dir_open_or_create(pfd, slash + 1, 01777, "global", create);
    fd_close_quietly(pfd);
    if (fd < 0)
        return fd;
    if (fstat(fd, st) != 0 || !root_is_safe(st)) {
        fd_close_quietly(fd);
        return SHMAP_ESTORE;
    }
    return fd;
}

static int ns_open(uint32_t scope, bool create, struct store_ns **out)
{
    struct stat root_st = {0}, st = {0};
    int rootfd = root_open(&root_st, create);
    if (rootfd < 0)
        return rootfd;
    char sub[32];
    if (scope == SHMAP_SCOPE_LOCAL)
        snprintf(sub, sizeof sub, "local-%u", (unsigned)geteuid());
    else
        snprintf(sub, sizeof sub, "global");
    int fd =
        dir_open_or_create(rootfd, sub, scope == SHMAP_SCOPE_LOCAL ? 0700 : 0777, NULL, create);
    fd_close_quietly(rootfd);
    if (fd < 0)
        return fd;
    int rc = SHMAP_ESTORE;
    struct store_ns *ns = NULL;
    if (fstat(fd, &st) != 0 || !ns_dir_is_safe(scope, &st, &root_st))
        goto fail;
    rc = SHMAP_ENOMEM;
    ns = calloc(1, sizeof *ns);
    if (!ns)
        goto fail;
    rc = ns_build_path(scope, ns->path, sizeof ns->path);
    if (rc < 0)
        goto fail;
    ns->scope = scope;
    ns->uid = geteuid();
    ns->dirfd = fd;
    ns->dev = st.st_dev;
    ns->ino = st.st_ino;
    ns->dir_uid = st.st_uid;
    ns->huge = -1;
    ns->refs = 1;
    pthread_mutex_init(&ns->cursor_lock, NULL);
    *out = ns;
    return 0;
fail:
    free(ns);
    fd_close_quietly(fd);
    return rc;
}

/* Still there (not removed), still safe: fit for use.  The descriptor is
 * what was checked when opened, so a symlink or directory put at its path
 * since changes nothing for us (checking the descriptor costs a fifth of
 * walking the path). */
static bool ns_still_valid(const struct store_ns *ns)
{
    struct stat st;
    if (fstat(ns->dirfd, &st) != 0)
        return false;
    if (st.st_uid != ns->dir_uid)
        return false; /* given away since it was opened */
    return st.st_nlink > 0 && S_ISDIR(st.st_mode) &&
           (st.st_mode & 07777) == (ns->scope == SHMAP_SCOPE_LOCAL ? 0700 : 0777);
}

static void ns_free(struct store_ns *ns)
{
    if (ns->cursor)
        closedir(ns->cursor);
    pthread_mutex_destroy(&ns->cursor_lock);
    fd_close_quietly(ns->dirfd);
    free(ns);
}

/* Drops NS from the cache; call with ns_lock held. */
static void ns_uncache(struct store_ns *ns)
{
    for (struct store_ns **p = &ns_cache; *p; p = &(*p)->next) {
        if (*p == ns) {
            *p = ns->next;
            break;
        }
    }
    ns->cached = false;
    if (ns->refs == 0)
        ns_free(ns);
}

static struct store_ns *ns_cache_find(uint32_t scope, const char *path)
{
    for (struct store_ns *ns = ns_cache; ns; ns = ns->next) {
        if (ns->scope != scope || ns->uid != geteuid() || strcmp(ns->path, path) != 0)
            continue;
        if (ns_still_valid(ns))
            return ns;
        ns_uncache(ns);
        return NULL;
    }
    return NULL;
}

int store_ns_get(uint32_t scope, bool create, struct store_ns **out)
{
    char path[PATH_MAX];
    if (scope != SHMAP_SCOPE_LOCAL && scope != SHMAP_SCOPE_GLOBAL)
        return SHMAP_EINVAL;
    if (ns_build_path(scope, path, sizeof path) < 0)
        return SHMAP_ESTORE;
    pthread_mutex_lock(&ns_lock);
    struct store_ns *ns = ns_cache_find(scope, path);
    if (ns)
        ns->refs++;
    pthread_mutex_unlock(&ns_lock);
    if (ns) {
        *out = ns;
        return 0;
    }
    int rc = ns_open(scope, create, &ns);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&ns_lock);
    ns->cached = true;
    ns->next = ns_cache;
    ns_cache = ns;
    pthread_mutex_unlock(&ns_lock);
    *out = ns;
    return 0;
}

void store_ns_put(struct store_ns *ns)
{
    if (!ns)
        return;
    pthread_mutex_lock(&ns_lock);
    if (--ns->refs == 0 && !ns->cached)
        ns_free(ns);
    pthread_mutex_unlock(&ns_lock);
}

int store_ns_dirfd(const struct store_ns *ns)
{
    return ns->dirfd;
}

int store_ns_next_entry(struct store_ns *ns, char *name, size_t size)
{
    if (pthread_mutex_trylock(&ns->cursor_lock) != 0)
        return 0; /* another thread is sweeping: nothing to do here */
    int rc = 0;
    if (!ns->cursor) {
        int fd = openat(ns->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ns->cursor = fd < 0 ? NULL : fdopendir(fd);
        if (!ns->cursor) {
            fd_close_quietly(fd);
            goto out;
        }
    }
    struct dirent *e = readdir(ns->cursor);
    if (!e) {
        rewinddir(ns->cursor);
        goto out;
    }
    snprintf(name, size, "%s", e->d_name);
    rc = 1;
out:
    pthread_mutex_unlock(&ns->cursor_lock);
    return rc;
}

void store_ns_lock_for_fork(bool lock)
{
    if (lock)
        pthread_mutex_lock(&ns_lock);
    else
        pthread_mutex_unlock(&ns_lock);
}

/* Reads the tmpfs "huge=" option of the mount holding the namespace. */
static bool mount_allows_huge(dev_t dev)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return false;
    char line[4096];
    bool huge = false;
    unsigned want_major = major(dev), want_minor = minor(dev);
    while (fgets(line, sizeof line, f)) {
        unsigned maj, min;
        if (sscanf(line, "%*u %*u %u:%u", &maj, &min) != 2 || maj != want_major ||
            min != want_minor)
            continue;
        const char *sep = strstr(line, " - tmpfs ");
        if (!sep)
            continue;
        huge = strstr(sep, "huge=always") || strstr(sep, "huge=within_size") ||
               strstr(sep, "huge=advise");
        break;
    }
    fclose(f);
    return huge;
}

/* Reads the kernel's policy for huge pages in internal shared memory. */
static void shmem_thp_policy(char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "re");
    if (!f)
        return;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static bool shmem_thp_forced(void)
{
    char buf[128];
    shmem_thp_policy(buf, sizeof buf);
    return strstr(buf, "[force]") != NULL;
}

bool store_unnamed_has_huge(void)
{
    char buf[128];
    shmem_thp_policy(buf, sizeof buf);
    return strstr(buf, "[always]") || strstr(buf, "[within_size]") || strstr(buf, "[advise]") ||
           strstr(buf, "[force]");
}

bool store_ns_has_huge(struct store_ns *ns)
{
    if (ns->huge < 0) {
        bool yes = access("/sys/kernel/mm/transparent_hugepage", F_OK) == 0 &&
                   (mount_allows_huge(ns->dev) || shmem_thp_forced());
        ns->huge = yes;
    }
    return ns->huge == 1;
}

SHMAP_API int shmap_store_path(uint32_t scope, char *buf, size_t size)
{
    if (!buf || size == 0 || (scope != SHMAP_SCOPE_LOCAL && scope != SHMAP_SCOPE_GLOBAL))
        return SHMAP_EINVAL;
    return ns_build_path(scope, buf, size);
}
