/* win32.h - what the files of the Win32 compatibility layer share: the
 * handle table, the last-error code, and string conversion. */
#ifndef SHMAP_SRC_WIN32_H
#define SHMAP_SRC_WIN32_H

#include "internal.h"

#include "shmap/win32.h"

#define WIN32_API SHMAP_API

enum handle_kind {
    HANDLE_NONE = 0,
    HANDLE_FILE,
    HANDLE_MAPPING,
    HANDLE_SYNC,
};

/* What a handle refers to.  A handle's value is derived from the
 * descriptor that identifies it (the file's, or the mapping's data
 * descriptor), which lets a child that inherited the descriptor across
 * exec use the same handle value. */
struct handle_entry {
    enum handle_kind kind;
    DWORD access;
    void *object; /* shmap_mapping *, shmap_sync *, or NULL for a file */
    int fd;       /* the identifying descriptor */
};

/* Registers an object under the handle value of FD; returns the handle,
 * or NULL with the last error set. */
HANDLE handle_insert(enum handle_kind kind, int fd, void *object, DWORD access);

/* Looks HANDLE up as KIND (HANDLE_NONE: any); fills *out.  Returns 0, or
 * -1 with ERROR_INVALID_HANDLE set. */
int handle_lookup(HANDLE handle, enum handle_kind kind, struct handle_entry *out);

/* Removes HANDLE from the table into *out (the caller closes the object). */
int handle_remove(HANDLE handle, struct handle_entry *out);

/* Translates FILE_MAP_* rights into SHMAP_ACCESS_* bits (0 if none). */
uint32_t win32_map_access(DWORD file_map_access);

/* Closes or duplicates a synchronization object's handle (win32_sync.c). */
void win32_sync_close(void *sync);
HANDLE win32_sync_duplicate(void *sync);

/* Makes FD, a synchronization object inherited across exec, a handle of
 * the same value.  Returns 0, or -1 if FD is none. */
int win32_sync_adopt(int fd);

/* Makes FD survive exec (or not). */
int fd_set_inheritable(int fd, bool inheritable);

/* Sets the last error from a shmap code (0 clears it) and returns CODE. */
int win32_fail(int code);

/* Sets the last error to ERR. */
void win32_set_error(DWORD err);

/* Converts a UTF-16 name to UTF-8 into BUF.  Returns 0, or -1 with
 * ERROR_INVALID_NAME or ERROR_FILENAME_EXCED_RANGE set. */
int win32_utf16_to_utf8(LPCWSTR in, char *buf, size_t size);

#endif
