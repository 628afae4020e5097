/* win32_file.c - the part of the Win32 file API that file-backed mappings
 * need: CreateFile, GetFileSize, ReadFile, WriteFile, SetFilePointer,
 * FlushFileBuffers and DeleteFile, on POSIX descriptors. */
#include "win32.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_UTF8_MAX 4096

static DWORD file_error(int err)
{
    switch (err) {
    case ENOENT:
        return ERROR_FILE_NOT_FOUND;
    case ENOTDIR:
        return ERROR_PATH_NOT_FOUND;
    case EEXIST:
        return ERROR_FILE_EXISTS;
    case EACCES:
    case EPERM:
    case EISDIR:
    case EROFS:
        return ERROR_ACCESS_DENIED;
    case ENOSPC:
    case EDQUOT:
        return ERROR_DISK_FULL;
    case EMFILE:
    case ENFILE:
        return ERROR_TOO_MANY_OPEN_FILES;
    case ENAMETOOLONG:
        return ERROR_FILENAME_EXCED_RANGE;
    case EINVAL:
        return ERROR_INVALID_PARAMETER;
    case EBADF:
        return ERROR_INVALID_HANDLE;
    default:
        return ERROR_GEN_FAILURE;
    }
}

/* ENOENT is "file not found" only if the directory it goes in exists. */
static DWORD open_error(const char *path, int err)
{
    if (err != ENOENT)
        return file_error(err);
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return ERROR_FILE_NOT_FOUND;
    char dir[PATH_UTF8_MAX];
    size_t n = (size_t)(slash - path);
    if (n >= sizeof dir)
        return ERROR_PATH_NOT_FOUND;
    memcpy(dir, path, n);
    dir[n] = '\0';
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? ERROR_FILE_NOT_FOUND : ERROR_PATH_NOT_FOUND;
}

static int disposition_flags(DWORD disposition, int *flags)
{
    switch (disposition) {
    case CREATE_NEW:
        *flags |= O_CREAT | O_EXCL;
        return 0;
    case CREATE_ALWAYS:
        *flags |= O_CREAT | O_TRUNC;
        return 0;
    case OPEN_EXISTING:
        return 0;
    case OPEN_ALWAYS:
        *flags |= O_CREAT;
        return 0;
    case TRUNCATE_EXISTING:
        *flags |= O_TRUNC;
        return (*flags & O_ACCMODE) == O_RDONLY ? -1 : 0;
    default:
        return -1;
    }
}

static int access_flags(DWORD access)
{
    bool r = access & (GENERIC_READ | GENERIC_ALL | GENERIC_EXECUTE);
    bool w = access & (GENERIC_WRITE | GENERIC_ALL);
    return r && w ? O_RDWR : w ? O_WRONLY : O_RDONLY;
}

WIN32_API HANDLE CreateFileA(LPCSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                             LPSECURITY_ATTRIBUTES sa, DWORD dwCreationDisposition,
                             DWORD dwFlagsAndAttributes, HANDLE hTemplateFile)
{
    (void)dwShareMode;   /* Linux has no mandatory sharing modes */
    (void)hTemplateFile; /* attributes of a template are not copied */
    int flags = access_flags(dwDesiredAccess) | O_CLOEXEC | O_NOCTTY;
    if (!lpFileName || !lpFileName[0] || disposition_flags(dwCreationDisposition, &flags) != 0) {
        win32_set_error(ERROR_INVALID_PARAMETER);
        return INVALID_HANDLE_VALUE;
    }
    if (dwFlagsAndAttributes & FILE_FLAG_WRITE_THROUGH)
        flags |= O_DSYNC;
    mode_t mode = dwFlagsAndAttributes & FILE_ATTRIBUTE_READONLY ? 0444 : 0666;
    struct stat st;
    bool existed = (flags & O_CREAT) && stat(lpFileName, &st) == 0;
    int fd = open(lpFileName, flags, mode);
    if (fd < 0) {
        win32_set_error(open_error(lpFileName, errno));
        return INVALID_HANDLE_VALUE;
    }
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) { /* Windows opens no directory here */
        close(fd);
        win32_set_error(ERROR_ACCESS_DENIED);
        return INVALID_HANDLE_VALUE;
    }
    if (dwFlagsAndAttributes & FILE_FLAG_DELETE_ON_CLOSE)
        unlink(lpFileName); /* the data lives while the handle does */
    if (sa && sa->bInheritHandle)
        fd_set_inheritable(fd, true);
    HANDLE h = handle_insert(HANDLE_FILE, fd, NULL, dwDesiredAccess);
    if (!h) {
        close(fd);
        return INVALID_HANDLE_VALUE;
    }
    bool reports_existing =
        dwCreationDisposition == CREATE_ALWAYS || dwCreationDisposition == OPEN_ALWAYS;
    win32_set_error(existed && reports_existing ? ERROR_ALREADY_EXISTS : ERROR_SUCCESS);
    return h;
}

WIN32_API HANDLE CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                             LPSECURITY_ATTRIBUTES sa, DWORD dwCreationDisposition,
                             DWORD dwFlagsAndAttributes, HANDLE hTemplateFile)
{
    char path[PATH_UTF8_MAX];
    if (!lpFileName) {
        win32_set_error(ERROR_INVALID_PARAMETER);
        return INVALID_HANDLE_VALUE;
    }
    if (win32_utf16_to_utf8(lpFileName, path, sizeof path) != 0)
        return INVALID_HANDLE_VALUE;
    return CreateFileA(path, dwDesiredAccess, dwShareMode, sa, dwCreationDisposition,
                       dwFlagsAndAttributes, hTemplateFile);
}

static int file_fd(HANDLE h)
{
    struct handle_entry e;
    return handle_lookup(h, HANDLE_FILE, &e) == 0 ? e.fd : -1;
}

/* The descriptor of file handle H if it was opened for writing; else -1
 * with the last error set. */
static int file_fd_writable(HANDLE h)
{
    int fd = file_fd(h);
    if (fd >= 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY) {
        win32_set_error(ERROR_ACCESS_DENIED);
        return -1;
    }
    return fd;
}

WIN32_API DWORD GetFileSize(HANDLE hFile, LPDWORD lpFileSizeHigh)
{
    int fd = file_fd(hFile);
    struct stat st;
    if (fd < 0)
        return INVALID_FILE_SIZE;
    if (fstat(fd, &st) != 0) {
        win32_set_error(file_error(errno));
        return INVALID_FILE_SIZE;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (lpFileSizeHigh)
        *lpFileSizeHigh = (DWORD)(size >> 32);
    win32_set_error(ERROR_SUCCESS);
    return (DWORD)size;
}

/* Reads or writes all of N bytes (fewer only at end of file). */
static BOOL file_transfer(HANDLE h, void *buf, DWORD n, LPDWORD done, LPOVERLAPPED ov, bool writing)
{
    int fd = file_fd(h);
    if (done)
        *done = 0;
    if (fd < 0)
        return FALSE;
    if (!buf && n) {
        win32_set_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    off_t pos = ov ? (off_t)((uint64_t)ov->OffsetHigh << 32 | ov->Offset) : -1;
    DWORD total = 0;
    while (total < n) {
        char *p = (char *)buf + total;
        ssize_t k;
        if (writing)
            k = ov ? pwrite(fd, p, n - total, pos + total) : write(fd, p, n - total);
        else
            k = ov ? pread(fd, p, n - total, pos + total) : read(fd, p, n - total);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            /* EBADF on an open descriptor: the handle's access forbids it. */
            win32_set_error(errno == EBADF ? ERROR_ACCESS_DENIED : file_error(errno));
            return FALSE;
        }
        if (k == 0)
            break;
        total += (DWORD)k;
    }
    if (done)
        *done = total;
    win32_set_error(ERROR_SUCCESS);
    return TRUE;
}

WIN32_API BOOL ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead,
                        LPDWORD lpNumberOfBytesRead, LPOVERLAPPED lpOverlapped)
{
    return file_transfer(hFile, lpBuffer, nNumberOfBytesToRead, lpNumberOfBytesRead, lpOverlapped,
                         false);
}

WIN32_API BOOL WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite,
                         LPDWORD lpNumberOfBytesWritten, LPOVERLAPPED lpOverlapped)
{
    return file_transfer(hFile, (void *)(uintptr_t)lpBuffer, nNumberOfBytesToWrite,
                         lpNumberOfBytesWritten, lpOverlapped, true);
}

WIN32_API DWORD SetFilePointer(HANDLE hFile, LONG lDistanceToMove, PLONG lpDistanceToMoveHigh,
                               DWORD dwMoveMethod)
{
    int fd = file_fd(hFile);
    if (fd < 0)
        return INVALID_SET_FILE_POINTER;
    static const int whence[] = {SEEK_SET, SEEK_CUR, SEEK_END};
    int64_t distance =
        lpDistanceToMoveHigh
            ? (int64_t)((uint64_t)(uint32_t)*lpDistanceToMoveHigh << 32 | (uint32_t)lDistanceToMove)
            : (int64_t)lDistanceToMove;
    if (dwMoveMethod > FILE_END) {
        win32_set_error(ERROR_INVALID_PARAMETER);
        return INVALID_SET_FILE_POINTER;
    }
    /* Where the move starts, found without moving: a failed call leaves
     * the file pointer where it was. */
    struct stat st;
    off_t base = 0;
    if (whence[dwMoveMethod] == SEEK_CUR)
        base = lseek(fd, 0, SEEK_CUR);
    else if (whence[dwMoveMethod] == SEEK_END)
        base = fstat(fd, &st) == 0 ? st.st_size : -1;
    if (base < 0) {
        win32_set_error(file_error(errno));
        return INVALID_SET_FILE_POINTER;
    }
    if (base + distance < 0 || (!lpDistanceToMoveHigh && base + distance > (off_t)0xFFFFFFFEu)) {
        /* Without a high part, a position past 32 bits cannot be told. */
        win32_set_error(base + distance < 0 ? ERROR_NEGATIVE_SEEK : ERROR_INVALID_PARAMETER);
        return INVALID_SET_FILE_POINTER;
    }
    off_t pos = lseek(fd, base + distance, SEEK_SET);
    if (pos < 0) {
        win32_set_error(file_error(errno));
        return INVALID_SET_FILE_POINTER;
    }
    if (lpDistanceToMoveHigh)
        *lpDistanceToMoveHigh = (LONG)((uint64_t)pos >> 32);
    win32_set_error(ERROR_SUCCESS);
    return (DWORD)pos;
}

WIN32_API BOOL FlushFileBuffers(HANDLE hFile)
{
    int fd = file_fd_writable(hFile);
    if (fd < 0)
        return FALSE;
    if (fsync(fd) != 0) {
        win32_set_error(file_error(errno));
        return FALSE;
    }
    win32_set_error(ERROR_SUCCESS);
    return TRUE;
}

WIN32_API BOOL DeleteFileA(LPCSTR lpFileName)
{
    if (!lpFileName || unlink(lpFileName) != 0) {
        win32_set_error(lpFileName ? file_error(errno) : ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    win32_set_error(ERROR_SUCCESS);
    return TRUE;
}

WIN32_API BOOL DeleteFileW(LPCWSTR lpFileName)
{
    char path[PATH_UTF8_MAX];
    if (!lpFileName) {
        win32_set_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    if (win32_utf16_to_utf8(lpFileName, path, sizeof path) != 0)
        return FALSE;
    return DeleteFileA(path);
}
