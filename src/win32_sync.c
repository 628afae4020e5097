/* win32_sync.c - CreateMutex, CreateEvent, CreateSemaphore, their Open
 * forms, ReleaseMutex, SetEvent, ResetEvent, ReleaseSemaphore and the two
 * waits, on top of the native synchronization objects.  Each handle is a
 * descriptor of the object (its identity in the handle table, and what a
 * child inherits across exec) and a reference to a shared, counted
 * wrapper of the native handle, so that DuplicateHandle works for unnamed
 * objects too. */
#include "sync.h"
#include "win32.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define NAME_UTF8_MAX (SHMAP_NAME_BUF * 4)

struct win32_sync {
    shmap_sync *sync;
    atomic_int refs;
};

void win32_sync_close(void *object)
{
    struct win32_sync *w = object;
    if (atomic_fetch_sub(&w->refs, 1) == 1) {
        shmap_sync_close(w->sync);
        free(w);
    }
}

static HANDLE sync_handle_new(struct win32_sync *w, bool inherit)
{
    int fd = sync_object_fd(w->sync);
    if (fd < 0) {
        win32_fail(fd);
        return NULL;
    }
    HANDLE h = handle_insert(HANDLE_SYNC, fd, w, 0);
    if (!h)
        close(fd);
    else if (inherit)
        fd_set_inheritable(fd, true);
    return h;
}

int win32_sync_adopt(int fd)
{
    shmap_sync *s;
    struct win32_sync *w = malloc(sizeof *w);
    if (!w || sync_adopt_fd(fd, &s) != 0) {
        free(w);
        return -1;
    }
    w->sync = s;
    atomic_init(&w->refs, 1);
    fd_set_inheritable(fd, false);
    if (!handle_insert(HANDLE_SYNC, fd, w, 0)) {
        shmap_sync_close(s);
        free(w);
        return -1;
    }
    return 0;
}

HANDLE win32_sync_duplicate(void *object)
{
    struct win32_sync *w = object;
    atomic_fetch_add(&w->refs, 1);
    HANDLE h = sync_handle_new(w, false);
    if (!h)
        win32_sync_close(w);
    return h;
}

/* Wraps a native handle (or a failure code) into a HANDLE; sets the last
 * error from STATUS (0, SHMAP_EXISTED, or an error). */
static HANDLE sync_handle(int status, shmap_sync *s, LPSECURITY_ATTRIBUTES sa)
{
    if (status < 0) {
        win32_fail(status);
        return NULL;
    }
    struct win32_sync *w = malloc(sizeof *w);
    if (!w) {
        shmap_sync_close(s);
        win32_set_error(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    w->sync = s;
    atomic_init(&w->refs, 1);
    HANDLE h = sync_handle_new(w, sa && sa->bInheritHandle);
    if (!h) {
        win32_sync_close(w);
        return NULL;
    }
    win32_fail(status);
    return h;
}

/* Converts an optional UTF-16 name; returns 0, or -1 with the error set. */
static int wide_name(LPCWSTR in, char *buf, const char **out)
{
    *out = NULL;
    if (!in)
        return 0;
    if (win32_utf16_to_utf8(in, buf, NAME_UTF8_MAX) != 0)
        return -1;
    *out = buf;
    return 0;
}

static const char *name_or_null(LPCSTR name)
{
    return name && name[0] ? name : NULL;
}

WIN32_API HANDLE CreateMutexA(LPSECURITY_ATTRIBUTES sa, BOOL bInitialOwner, LPCSTR lpName)
{
    shmap_sync *s = NULL;
    uint32_t flags = bInitialOwner ? SHMAP_MUTEX_INITIAL_OWNER : 0;
    int rc = shmap_mutex_create(name_or_null(lpName), flags, 0600, &s);
    return sync_handle(rc, s, sa);
}

WIN32_API HANDLE CreateMutexW(LPSECURITY_ATTRIBUTES sa, BOOL bInitialOwner, LPCWSTR lpName)
{
    char buf[NAME_UTF8_MAX];
    const char *name;
    return wide_name(lpName, buf, &name) ? NULL : CreateMutexA(sa, bInitialOwner, name);
}

WIN32_API HANDLE CreateEventA(LPSECURITY_ATTRIBUTES sa, BOOL bManualReset, BOOL bInitialState,
                              LPCSTR lpName)
{
    shmap_sync *s = NULL;
    uint32_t flags = (bManualReset ? SHMAP_EVENT_MANUAL_RESET : 0) |
                     (bInitialState ? SHMAP_EVENT_INITIAL_SET : 0);
    int rc = shmap_event_create(name_or_null(lpName), flags, 0600, &s);
    return sync_handle(rc, s, sa);
}

WIN32_API HANDLE CreateEventW(LPSECURITY_ATTRIBUTES sa, BOOL bManualReset, BOOL bInitialState,
                              LPCWSTR lpName)
{
    char buf[NAME_UTF8_MAX];
    const char *name;
    return wide_name(lpName, buf, &name) ? NULL
                                         : CreateEventA(sa, bManualReset, bInitialState, name);
}

WIN32_API HANDLE CreateSemaphoreA(LPSECURITY_ATTRIBUTES sa, LONG lInitialCount, LONG lMaximumCount,
                                  LPCSTR lpName)
{
    shmap_sync *s = NULL;
    int rc = lInitialCount < 0 || lMaximumCount <= 0 || lInitialCount > lMaximumCount
                 ? SHMAP_EINVAL
                 : shmap_semaphore_create(name_or_null(lpName), (uint32_t)lInitialCount,
                                          (uint32_t)lMaximumCount, 0, 0600, &s);
    return sync_handle(rc, s, sa);
}

WIN32_API HANDLE CreateSemaphoreW(LPSECURITY_ATTRIBUTES sa, LONG lInitialCount, LONG lMaximumCount,
                                  LPCWSTR lpName)
{
    char buf[NAME_UTF8_MAX];
    const char *name;
    return wide_name(lpName, buf, &name) ? NULL
                                         : CreateSemaphoreA(sa, lInitialCount, lMaximumCount, name);
}

typedef int (*sync_open_fn)(const char *name, shmap_sync **out);

static HANDLE sync_open(sync_open_fn open_fn, BOOL inherit, LPCSTR name)
{
    shmap_sync *s = NULL;
    int rc = name ? open_fn(name, &s) : SHMAP_EINVAL;
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, inherit};
    return sync_handle(rc, s, &sa);
}

static HANDLE sync_open_wide(sync_open_fn open_fn, BOOL inherit, LPCWSTR wname)
{
    char buf[NAME_UTF8_MAX];
    const char *name;
    return wide_name(wname, buf, &name) ? NULL : sync_open(open_fn, inherit, name);
}

WIN32_API HANDLE OpenMutexA(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCSTR lpName)
{
    (void)dwDesiredAccess;
    return sync_open(shmap_mutex_open, bInheritHandle, lpName);
}

WIN32_API HANDLE OpenMutexW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName)
{
    (void)dwDesiredAccess;
    return sync_open_wide(shmap_mutex_open, bInheritHandle, lpName);
}

WIN32_API HANDLE OpenEventA(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCSTR lpName)
{
    (void)dwDesiredAccess;
    return sync_open(shmap_event_open, bInheritHandle, lpName);
}

WIN32_API HANDLE OpenEventW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName)
{
    (void)dwDesiredAccess;
    return sync_open_wide(shmap_event_open, bInheritHandle, lpName);
}

WIN32_API HANDLE OpenSemaphoreA(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCSTR lpName)
{
    (void)dwDesiredAccess;
    return sync_open(shmap_semaphore_open, bInheritHandle, lpName);
}

WIN32_API HANDLE OpenSemaphoreW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName)
{
    (void)dwDesiredAccess;
    return sync_open_wide(shmap_semaphore_open, bInheritHandle, lpName);
}

/* The native handle behind H, or NULL with ERROR_INVALID_HANDLE set. */
static shmap_sync *sync_of(HANDLE h)
{
    struct handle_entry e;
    if (handle_lookup(h, HANDLE_SYNC, &e) != 0)
        return NULL;
    return ((struct win32_sync *)e.object)->sync;
}

/* Finishes a call on a sync object: ETYPE (wrong kind of object) is an
 * invalid handle, as on Windows. */
static BOOL sync_result(int rc, DWORD range_error)
{
    if (rc == SHMAP_ERANGE)
        win32_set_error(range_error);
    else
        win32_fail(rc);
    return rc == 0;
}

WIN32_API BOOL ReleaseMutex(HANDLE hMutex)
{
    shmap_sync *s = sync_of(hMutex);
    if (!s)
        return FALSE;
    return sync_result(shmap_mutex_release(s), ERROR_INVALID_PARAMETER);
}

WIN32_API BOOL SetEvent(HANDLE hEvent)
{
    shmap_sync *s = sync_of(hEvent);
    return s ? sync_result(shmap_event_set(s), ERROR_INVALID_PARAMETER) : FALSE;
}

WIN32_API BOOL ResetEvent(HANDLE hEvent)
{
    shmap_sync *s = sync_of(hEvent);
    return s ? sync_result(shmap_event_reset(s), ERROR_INVALID_PARAMETER) : FALSE;
}

WIN32_API BOOL ReleaseSemaphore(HANDLE hSemaphore, LONG lReleaseCount, LPLONG lpPreviousCount)
{
    shmap_sync *s = sync_of(hSemaphore);
    if (!s)
        return FALSE;
    if (lReleaseCount <= 0) {
        win32_set_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    uint32_t previous = 0;
    int rc = shmap_semaphore_release(s, (uint32_t)lReleaseCount, &previous);
    if (rc == 0 && lpPreviousCount)
        *lpPreviousCount = (LONG)previous;
    return sync_result(rc, ERROR_TOO_MANY_POSTS);
}

/* A wait's outcome as Windows returns it. */
static DWORD wait_result(int rc, int index)
{
    if (rc == 0)
        return WAIT_OBJECT_0 + (DWORD)index;
    if (rc == SHMAP_ABANDONED)
        return WAIT_ABANDONED_0 + (DWORD)index;
    if (rc == SHMAP_ETIMEDOUT)
        return WAIT_TIMEOUT;
    win32_fail(rc);
    return WAIT_FAILED;
}

WIN32_API DWORD WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds)
{
    shmap_sync *s = sync_of(hHandle);
    if (!s)
        return WAIT_FAILED;
    return wait_result(shmap_wait(s, dwMilliseconds), 0);
}

WIN32_API DWORD WaitForMultipleObjects(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll,
                                       DWORD dwMilliseconds)
{
    shmap_sync *syncs[MAXIMUM_WAIT_OBJECTS];
    if (!lpHandles || nCount == 0 || nCount > MAXIMUM_WAIT_OBJECTS) {
        win32_set_error(ERROR_INVALID_PARAMETER);
        return WAIT_FAILED;
    }
    for (DWORD i = 0; i < nCount; i++) {
        syncs[i] = sync_of(lpHandles[i]);
        if (!syncs[i])
            return WAIT_FAILED;
    }
    int index = 0;
    int rc = shmap_wait_multiple(syncs, nCount, bWaitAll != FALSE, dwMilliseconds, &index);
    return wait_result(rc, index);
}
