/*
 * libsharedmem.c - a shared library (the Linux counterpart of a DLL) whose
 * every loading process sees one block of memory: the load-time constructor
 * (a DLL's DLL_PROCESS_ATTACH) creates or opens a named file mapping and
 * maps it, the destructor (DLL_PROCESS_DETACH) unmaps and closes it, and
 * the exported functions store and fetch a string there under a named
 * mutex.  Built into build/examples/libsharedmem.so; win32_dll_parent and
 * win32_dll_child load it.  Only the Win32 API is used.
 *
 * Exports:
 *   BOOL SetSharedMem(LPCSTR text)            store TEXT (ERROR_INSUFFICIENT_BUFFER
 *                                             if it does not fit)
 *   BOOL GetSharedMem(LPSTR buf, DWORD size)  copy the stored text into BUF
 *   BOOL SharedMemCreatedHere(void)           TRUE if this process's load
 *                                             created the memory (it was new)
 */
#include <windows.h> /* shmap's, from include/shmap/compat */

#include <string.h>

#define SHAREDMEM_API __attribute__((visibility("default"))) /* __declspec(dllexport) */

#define SHARED_SIZE 4096
#define MAPPING_NAME TEXT("Local\\shmap-example-dll-memory")
#define LOCK_NAME TEXT("Local\\shmap-example-dll-lock")

/* What the shared block holds. */
struct shared_block {
    DWORD length; /* bytes of text, without the NUL */
    char text[SHARED_SIZE - sizeof(DWORD)];
};

static HANDLE g_mapping;              /* the file-mapping object */
static HANDLE g_lock;                 /* serializes readers and writers */
static struct shared_block *g_shared; /* this process's view */
static BOOL g_created_here;
static DWORD g_load_error; /* why loading failed, for the exported calls */

__attribute__((constructor)) static void sharedmem_attach(void)
{
    g_mapping = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                  sizeof(struct shared_block), MAPPING_NAME);
    if (g_mapping == NULL) {
        g_load_error = GetLastError();
        return;
    }
    /* A new mapping starts zero-filled: an empty string, length 0. */
    g_created_here = GetLastError() != ERROR_ALREADY_EXISTS;
    g_lock = CreateMutex(NULL, FALSE, LOCK_NAME);
    g_shared = MapViewOfFile(g_mapping, FILE_MAP_WRITE, 0, 0, 0);
    if (g_lock == NULL || g_shared == NULL) {
        g_load_error = GetLastError();
        if (g_shared)
            UnmapViewOfFile(g_shared);
        if (g_lock)
            CloseHandle(g_lock);
        CloseHandle(g_mapping);
        g_mapping = g_lock = NULL;
        g_shared = NULL;
    }
}

__attribute__((destructor)) static void sharedmem_detach(void)
{
    if (g_shared)
        UnmapViewOfFile(g_shared);
    if (g_lock)
        CloseHandle(g_lock);
    if (g_mapping)
        CloseHandle(g_mapping);
    g_shared = NULL;
    g_lock = g_mapping = NULL;
}

/* Takes the lock; FALSE (with the last error set) if the library is not
 * usable.  An owner that died holding the lock leaves it abandoned: the
 * block's length field is checked before use, so the data stays safe. */
static BOOL lock(void)
{
    if (g_shared == NULL) {
        SetLastError(g_load_error);
        return FALSE;
    }
    DWORD r = WaitForSingleObject(g_lock, INFINITE);
    return r == WAIT_OBJECT_0 || r == WAIT_ABANDONED;
}

SHAREDMEM_API BOOL SetSharedMem(LPCSTR text)
{
    size_t length = text ? strlen(text) : 0;
    if (length >= sizeof g_shared->text) {
        SetLastError(ERROR_INSUFFICIENT_BUFFER);
        return FALSE;
    }
    if (!lock())
        return FALSE;
    memcpy(g_shared->text, text ? text : "", length + 1);
    g_shared->length = (DWORD)length;
    ReleaseMutex(g_lock);
    return TRUE;
}

SHAREDMEM_API BOOL GetSharedMem(LPSTR buf, DWORD size)
{
    if (buf == NULL || size == 0) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    if (!lock())
        return FALSE;
    DWORD length = g_shared->length;
    BOOL ok = length < size && length < sizeof g_shared->text;
    if (ok) {
        memcpy(buf, g_shared->text, length);
        buf[length] = '\0';
    }
    ReleaseMutex(g_lock);
    if (!ok)
        SetLastError(ERROR_INSUFFICIENT_BUFFER);
    return ok;
}

SHAREDMEM_API BOOL SharedMemCreatedHere(void)
{
    return g_created_here;
}
