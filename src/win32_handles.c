/* win32_handles.c - the Win32 handle table.  A HANDLE's value is
 * (fd + 1) * 4, where fd is the descriptor that identifies the object (a
 * file's, or a mapping's data descriptor): values are unique while the
 * handle is open, never 0 or INVALID_HANDLE_VALUE, multiples of 4 as on
 * Windows, and a child that inherited the descriptor across exec can use
 * the value its parent gave it: the first use adopts the descriptor. */
#include "mapping.h"
#include "win32.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct handle_entry *table; /* indexed by descriptor */
static size_t table_size;

static HANDLE handle_of_fd(int fd)
{
    return (HANDLE)(((uintptr_t)fd + 1) << 2);
}

static int fd_of_handle(HANDLE h)
{
    uintptr_t v = (uintptr_t)h;
    if (v == 0 || (v & 3) || h == INVALID_HANDLE_VALUE || (v >> 2) - 1 > INT_MAX)
        return -1;
    return (int)((v >> 2) - 1);
}

int fd_set_inheritable(int fd, bool inheritable)
{
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0)
        return -1;
    flags = inheritable ? flags & ~FD_CLOEXEC : flags | FD_CLOEXEC;
    return fcntl(fd, F_SETFD, flags);
}

static int table_grow(size_t need)
{
    if (need <= table_size)
        return 0;
    size_t size = table_size ? table_size : 64;
    while (size < need)
        size *= 2;
    struct handle_entry *grown = realloc(table, size * sizeof *grown);
    if (!grown)
        return -1;
    for (size_t i = table_size; i < size; i++)
        grown[i] = (struct handle_entry){HANDLE_NONE, 0, NULL, -1};
    table = grown;
    table_size = size;
    return 0;
}

HANDLE handle_insert(enum handle_kind kind, int fd, void *object, DWORD access)
{
    pthread_mutex_lock(&table_lock);
    int rc = table_grow((size_t)fd + 1);
    bool taken = rc == 0 && table[fd].kind != HANDLE_NONE;
    if (rc == 0 && !taken)
        table[fd] = (struct handle_entry){kind, access, object, fd};
    pthread_mutex_unlock(&table_lock);
    if (rc != 0 || taken) {
        /* taken: a descriptor that already is a handle (handle_from_fd) */
        win32_set_error(taken ? ERROR_INVALID_PARAMETER : ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    return handle_of_fd(fd);
}

/* A file-backed mapping's handle inherited across exec: FD holds the
 * record that mapping_handle (win32_mapping.c) wrote.  Returns 0, 1 if FD
 * is no such record, or -1. */
static int adopt_file_backed(int fd)
{
    struct object_header h;
    struct stat st;
    if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || h.magic != HEADER_MAGIC ||
        !(h.flags & HEADER_FILE_BACKED) || h.inherited_fd < 0 ||
        header_validate(&h, HEADER_SIZE) != 0)
        return 1;
    int data = h.inherited_fd;
    if (fstat(data, &st) != 0 || (uint64_t)st.st_dev != h.file_dev ||
        (uint64_t)st.st_ino != h.file_ino || (uint64_t)st.st_size < h.size)
        return 1;
    int fl = fcntl(data, F_GETFL);
    uint32_t access = (fl & O_ACCMODE) == O_RDWR ? protection_access(h.protection)
                                                 : SHMAP_ACCESS_READ | SHMAP_ACCESS_COPY;
    struct shmap_mapping *m = mapping_alloc();
    if (!m || mapping_fill(m, &h, access & protection_access(h.protection)) != 0) {
        free(m);
        return -1;
    }
    fd_set_inheritable(data, false);
    fd_set_inheritable(fd, false);
    m->data_fd = data; /* no hold: the child does not keep the name alive */
    if (!handle_insert(HANDLE_MAPPING, fd, m, 0)) {
        free(m);
        return -1;
    }
    return 0;
}

/* A descriptor inherited across exec: a shmap mapping, or a plain file. */
static int handle_adopt(int fd)
{
    int fdflags = fcntl(fd, F_GETFD);
    struct stat st;
    if (fdflags < 0 || (fdflags & FD_CLOEXEC) || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    /* The handle keeps the access of the parent's: what its descriptor
     * was opened for (a read-only one must not come back read-write). */
    int fl = fcntl(fd, F_GETFL);
    uint32_t access =
        (fl & O_ACCMODE) == O_RDWR ? SHMAP_ACCESS_ALL : SHMAP_ACCESS_READ | SHMAP_ACCESS_COPY;
    int record = adopt_file_backed(fd);
    if (record <= 0)
        return record;
    struct object_header h;
    if (pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h && h.magic == HEADER_MAGIC &&
        h.type >= SHMAP_TYPE_MUTEX && h.type <= SHMAP_TYPE_SEMAPHORE)
        return win32_sync_adopt(fd);
    shmap_mapping *m;
    int rc = shmap_mapping_import_fd(fd, access, &m);
    if (rc == SHMAP_EACCES && access != SHMAP_ACCESS_ALL)
        rc = shmap_mapping_import_fd(fd, SHMAP_ACCESS_READ, &m);
    if (rc != 0)
        return handle_insert(HANDLE_FILE, fd, NULL, 0) ? 0 : -1;
    /* The new handle takes over the inherited descriptor's number. */
    if (dup3(m->data_fd, fd, O_CLOEXEC) < 0) {
        shmap_mapping_close(m);
        return -1;
    }
    fd_close_quietly(m->data_fd);
    m->data_fd = fd;
    return handle_insert(HANDLE_MAPPING, fd, m, 0) ? 0 : -1;
}

int handle_lookup(HANDLE handle, enum handle_kind kind, struct handle_entry *out)
{
    int fd = fd_of_handle(handle);
    for (int attempt = 0; fd >= 0 && attempt < 2; attempt++) {
        pthread_mutex_lock(&table_lock);
        bool found = (size_t)fd < table_size && table[fd].kind != HANDLE_NONE;
        if (found)
            *out = table[fd];
        pthread_mutex_unlock(&table_lock);
        if (found && (kind == HANDLE_NONE || out->kind == kind))
            return 0;
        if (found || handle_adopt(fd) != 0)
            break;
    }
    win32_set_error(ERROR_INVALID_HANDLE);
    return -1;
}

int handle_remove(HANDLE handle, struct handle_entry *out)
{
    if (handle_lookup(handle, HANDLE_NONE, out) != 0)
        return -1;
    pthread_mutex_lock(&table_lock);
    bool same = table[out->fd].kind == out->kind && table[out->fd].object == out->object;
    if (same)
        table[out->fd] = (struct handle_entry){HANDLE_NONE, 0, NULL, -1};
    pthread_mutex_unlock(&table_lock);
    if (!same) {
        win32_set_error(ERROR_INVALID_HANDLE); /* closed by another thread meanwhile */
        return -1;
    }
    return 0;
}

WIN32_API BOOL CloseHandle(HANDLE h)
{
    struct handle_entry e;
    if (handle_remove(h, &e) != 0)
        return FALSE;
    switch (e.kind) {
    case HANDLE_MAPPING:
        if (e.fd != ((shmap_mapping *)e.object)->data_fd)
            close(e.fd); /* an inheritance record (win32_mapping.c) */
        shmap_mapping_close(e.object);
        break;
    case HANDLE_SYNC:
        win32_sync_close(e.object);
        close(e.fd);
        break;
    default:
        close(e.fd);
        break;
    }
    return TRUE; /* as on Windows, success leaves the last error alone */
}

static HANDLE duplicate_entry(const struct handle_entry *e, DWORD access)
{
    if (e->kind == HANDLE_FILE) {
        int fd = fcntl(e->fd, F_DUPFD_CLOEXEC, 0);
        return fd < 0 ? (win32_fail(error_from_errno(errno)), NULL)
                      : handle_insert(HANDLE_FILE, fd, NULL, e->access);
    }
    if (e->kind == HANDLE_SYNC)
        return win32_sync_duplicate(e->object);
    shmap_mapping *m;
    int rc = mapping_duplicate(e->object, access, &m);
    if (rc < 0) {
        win32_fail(rc);
        return NULL;
    }
    HANDLE h = handle_insert(HANDLE_MAPPING, m->data_fd, m, access);
    if (!h)
        shmap_mapping_close(m);
    return h;
}

WIN32_API BOOL DuplicateHandle(HANDLE hSourceProcessHandle, HANDLE hSourceHandle,
                               HANDLE hTargetProcessHandle, LPHANDLE lpTargetHandle,
                               DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwOptions)
{
    struct handle_entry e;
    if (hSourceProcessHandle != GetCurrentProcess() ||
        hTargetProcessHandle != GetCurrentProcess()) {
        win32_set_error(ERROR_NOT_SUPPORTED);
        return FALSE;
    }
    if (!lpTargetHandle || (dwOptions & ~(DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS))) {
        win32_set_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    if (handle_lookup(hSourceHandle, HANDLE_NONE, &e) != 0)
        return FALSE;
    uint32_t access = e.kind == HANDLE_MAPPING ? ((shmap_mapping *)e.object)->access : 0;
    if (e.kind == HANDLE_MAPPING && !(dwOptions & DUPLICATE_SAME_ACCESS))
        access = win32_map_access(dwDesiredAccess);
    HANDLE dup = duplicate_entry(&e, access);
    if (!dup)
        return FALSE;
    if (bInheritHandle)
        fd_set_inheritable(fd_of_handle(dup), true);
    if (dwOptions & DUPLICATE_CLOSE_SOURCE)
        CloseHandle(hSourceHandle);
    *lpTargetHandle = dup;
    win32_set_error(ERROR_SUCCESS);
    return TRUE;
}

WIN32_API HANDLE shmap_win32_handle_from_fd(int fd)
{
    if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
        win32_set_error(ERROR_INVALID_HANDLE);
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    DWORD access = (fl & O_ACCMODE) == O_RDONLY   ? GENERIC_READ
                   : (fl & O_ACCMODE) == O_WRONLY ? GENERIC_WRITE
                                                  : GENERIC_READ | GENERIC_WRITE;
    return handle_insert(HANDLE_FILE, fd, NULL, access);
}

WIN32_API int shmap_win32_fd_from_handle(HANDLE handle)
{
    struct handle_entry e;
    if (handle_lookup(handle, HANDLE_NONE, &e) != 0)
        return -1;
    if (e.kind == HANDLE_SYNC) { /* its descriptor is only a placeholder */
        win32_set_error(ERROR_INVALID_HANDLE);
        return -1;
    }
    return e.kind == HANDLE_MAPPING ? ((shmap_mapping *)e.object)->data_fd : e.fd;
}
