/* win32_mapping.c - CreateFileMapping, OpenFileMapping and the view
 * functions, on top of the native mapping API. */
#include "mapping.h"
#include "win32.h"

#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room for a UTF-8 name converted from UTF-16 (prefix included). */
#define NAME_UTF8_MAX (SHMAP_NAME_BUF * 4)

/* FILE_MAP_COPY has the value of SECTION_QUERY, which FILE_MAP_ALL_ACCESS
 * includes: as on Windows, it asks for a copy-on-write view only when
 * neither read nor write is asked. */
uint32_t win32_map_access(DWORD a)
{
    uint32_t access = 0;
    if (a & FILE_MAP_WRITE)
        access |= SHMAP_ACCESS_READ | SHMAP_ACCESS_WRITE;
    if (a & FILE_MAP_READ)
        access |= SHMAP_ACCESS_READ;
    if ((a & FILE_MAP_COPY) && !access)
        access |= SHMAP_ACCESS_COPY | SHMAP_ACCESS_READ;
    if (a & FILE_MAP_EXECUTE)
        access |= SHMAP_ACCESS_EXECUTE;
    return access;
}

/* PAGE_* protection to SHMAP_PROT_*, or 0 if unsupported. */
static uint32_t page_protection(DWORD page)
{
    switch (page) {
    case PAGE_READONLY:
        return SHMAP_PROT_READONLY;
    case PAGE_READWRITE:
        return SHMAP_PROT_READWRITE;
    case PAGE_WRITECOPY:
        return SHMAP_PROT_WRITECOPY;
    case PAGE_EXECUTE_READ:
        return SHMAP_PROT_EXECUTE_READ;
    case PAGE_EXECUTE_READWRITE:
        return SHMAP_PROT_EXECUTE_READWRITE;
    case PAGE_EXECUTE_WRITECOPY:
        return SHMAP_PROT_EXECUTE_WRITECOPY;
    default:
        return 0;
    }
}

#define SEC_ACCEPTED                                                                               \
    (SEC_FILE | SEC_COMMIT | SEC_RESERVE | SEC_LARGE_PAGES | SEC_NOCACHE | SEC_WRITECOMBINE)

static int mapping_config(HANDLE file, DWORD protect, DWORD high, DWORD low,
                          shmap_mapping_config *cfg)
{
    DWORD sec = protect & 0xFFFFFF00u;
    cfg->protection = page_protection(protect & 0xFF);
    if (!cfg->protection || (sec & ~SEC_ACCEPTED) || ((sec & SEC_COMMIT) && (sec & SEC_RESERVE)))
        return SHMAP_EINVAL;
    if (sec & SEC_RESERVE)
        cfg->flags |= SHMAP_RESERVE;
    if (sec & SEC_LARGE_PAGES)
        cfg->flags |= SHMAP_HUGE_PAGES;
    cfg->size = (uint64_t)high << 32 | low;
    if (file == INVALID_HANDLE_VALUE)
        return cfg->size ? 0 : SHMAP_EINVAL;
    struct handle_entry e;
    if (handle_lookup(file, HANDLE_FILE, &e) != 0)
        return SHMAP_ETYPE;
    cfg->file_fd = e.fd;
    return 0;
}

/* An inheritable handle of a file-backed mapping: the backing file says
 * nothing of the mapping, so the handle's descriptor is a small memfd
 * holding a header that describes it and names the (also inherited) data
 * descriptor; a child adopts it from there (win32_handles.c). */
static int inherit_record(const shmap_mapping *m)
{
    struct object_header h;
    struct stat st;
    if (fstat(m->data_fd, &st) != 0)
        return -1;
    header_init(&h, SHMAP_TYPE_MAPPING);
    h.protection = m->protection;
    h.flags = m->flags | HEADER_FILE_BACKED;
    h.size = m->size;
    h.file_dev = (uint64_t)st.st_dev;
    h.file_ino = (uint64_t)st.st_ino;
    h.inherited_fd = m->data_fd;
    snprintf(h.file_path, sizeof h.file_path, "/");
    int fd = memfd_create("shmap-inherit", MFD_CLOEXEC);
    if (fd < 0 || pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
        fd_close_quietly(fd);
        return -1;
    }
    return fd;
}

static HANDLE mapping_handle(shmap_mapping *m, int status, LPSECURITY_ATTRIBUTES sa)
{
    bool inherit = sa && sa->bInheritHandle;
    int id_fd = inherit && m->file_backed ? inherit_record(m) : m->data_fd;
    HANDLE h = id_fd < 0 ? NULL : handle_insert(HANDLE_MAPPING, id_fd, m, m->access);
    if (!h) {
        if (id_fd != m->data_fd)
            fd_close_quietly(id_fd);
        shmap_mapping_close(m);
        if (id_fd < 0)
            win32_set_error(ERROR_TOO_MANY_OPEN_FILES);
        return NULL;
    }
    if (inherit) {
        fd_set_inheritable(m->data_fd, true);
        fd_set_inheritable(id_fd, true);
    }
    win32_fail(status);
    return h;
}

WIN32_API HANDLE CreateFileMappingA(HANDLE hFile, LPSECURITY_ATTRIBUTES sa, DWORD flProtect,
                                    DWORD dwMaximumSizeHigh, DWORD dwMaximumSizeLow, LPCSTR lpName)
{
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    int rc = mapping_config(hFile, flProtect, dwMaximumSizeHigh, dwMaximumSizeLow, &cfg);
    if (rc == SHMAP_ETYPE)
        return NULL; /* the last error says ERROR_INVALID_HANDLE */
    shmap_mapping *m;
    if (rc == 0)
        rc = shmap_mapping_create(lpName && lpName[0] ? lpName : NULL, &cfg, &m);
    if (rc < 0) {
        win32_fail(rc);
        return NULL;
    }
    return mapping_handle(m, rc, sa);
}

WIN32_API HANDLE CreateFileMappingW(HANDLE hFile, LPSECURITY_ATTRIBUTES sa, DWORD flProtect,
                                    DWORD dwMaximumSizeHigh, DWORD dwMaximumSizeLow, LPCWSTR lpName)
{
    char name[NAME_UTF8_MAX];
    if (lpName && win32_utf16_to_utf8(lpName, name, sizeof name) != 0)
        return NULL;
    return CreateFileMappingA(hFile, sa, flProtect, dwMaximumSizeHigh, dwMaximumSizeLow,
                              lpName ? name : NULL);
}

WIN32_API HANDLE OpenFileMappingA(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCSTR lpName)
{
    uint32_t access = win32_map_access(dwDesiredAccess);
    shmap_mapping *m;
    int rc = !lpName || !access ? SHMAP_EINVAL : shmap_mapping_open(lpName, access, &m);
    if (rc < 0) {
        win32_fail(rc);
        return NULL;
    }
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, bInheritHandle};
    return mapping_handle(m, 0, &sa);
}

WIN32_API HANDLE OpenFileMappingW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName)
{
    char name[NAME_UTF8_MAX];
    if (lpName && win32_utf16_to_utf8(lpName, name, sizeof name) != 0)
        return NULL;
    return OpenFileMappingA(dwDesiredAccess, bInheritHandle, lpName ? name : NULL);
}

WIN32_API LPVOID MapViewOfFileEx(HANDLE h, DWORD dwDesiredAccess, DWORD dwFileOffsetHigh,
                                 DWORD dwFileOffsetLow, SIZE_T dwNumberOfBytesToMap,
                                 LPVOID lpBaseAddress)
{
    struct handle_entry e;
    if (handle_lookup(h, HANDLE_MAPPING, &e) != 0)
        return NULL;
    uint32_t access = win32_map_access(dwDesiredAccess);
    if (access & SHMAP_ACCESS_COPY)
        access &= ~SHMAP_ACCESS_READ; /* a copy view, whose writes stay private */
    uint64_t offset = (uint64_t)dwFileOffsetHigh << 32 | dwFileOffsetLow;
    void *view;
    int rc = access ? shmap_view_map(e.object, access, offset, dwNumberOfBytesToMap, lpBaseAddress,
                                     &view)
                    : SHMAP_EACCES;
    if (rc < 0) {
        /* Windows refuses a view beyond the end of the section as access denied. */
        win32_fail(rc == SHMAP_ERANGE ? SHMAP_EACCES : rc);
        return NULL;
    }
    win32_set_error(ERROR_SUCCESS);
    return view;
}

WIN32_API LPVOID MapViewOfFile(HANDLE h, DWORD dwDesiredAccess, DWORD dwFileOffsetHigh,
                               DWORD dwFileOffsetLow, SIZE_T dwNumberOfBytesToMap)
{
    return MapViewOfFileEx(h, dwDesiredAccess, dwFileOffsetHigh, dwFileOffsetLow,
                           dwNumberOfBytesToMap, NULL);
}

WIN32_API BOOL UnmapViewOfFile(LPCVOID lpBaseAddress)
{
    int rc = shmap_view_unmap((void *)(uintptr_t)lpBaseAddress);
    win32_fail(rc);
    return rc == 0;
}

WIN32_API BOOL FlushViewOfFile(LPCVOID lpBaseAddress, SIZE_T dwNumberOfBytesToFlush)
{
    int rc = shmap_view_flush((void *)(uintptr_t)lpBaseAddress, dwNumberOfBytesToFlush);
    win32_fail(rc == SHMAP_ERANGE ? SHMAP_ENOTVIEW : rc);
    return rc == 0;
}
