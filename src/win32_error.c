/* win32_error.c - the per-thread last-error code, the translation of shmap
 * codes into Windows error numbers, and the small system queries. */
#include "win32.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Thread_local DWORD last_error;

WIN32_API DWORD GetLastError(void)
{
    return last_error;
}

WIN32_API void SetLastError(DWORD dwErrCode)
{
    last_error = dwErrCode;
}

void win32_set_error(DWORD err)
{
    last_error = err;
}

static DWORD error_to_win32(int code)
{
    switch (code) {
    case SHMAP_OK:
        return ERROR_SUCCESS;
    case SHMAP_EXISTED:
        return ERROR_ALREADY_EXISTS;
    case SHMAP_EINVAL:
        return ERROR_INVALID_PARAMETER;
    case SHMAP_ENOENT:
        return ERROR_FILE_NOT_FOUND;
    case SHMAP_ETYPE:
        return ERROR_INVALID_HANDLE;
    case SHMAP_EACCES:
    case SHMAP_ESTORE:
        return ERROR_ACCESS_DENIED;
    case SHMAP_EALIGN:
        return ERROR_MAPPED_ALIGNMENT;
    case SHMAP_ENOTVIEW:
    case SHMAP_EADDRINUSE:
        return ERROR_INVALID_ADDRESS;
    case SHMAP_EBADNAME:
        return ERROR_INVALID_NAME;
    case SHMAP_ENAMETOOLONG:
        return ERROR_FILENAME_EXCED_RANGE;
    case SHMAP_ENOMEM:
    case SHMAP_ERANGE:
        return ERROR_NOT_ENOUGH_MEMORY;
    case SHMAP_ENOSPC:
        return ERROR_DISK_FULL;
    case SHMAP_EFILEEMPTY:
    case SHMAP_ECORRUPT:
        return ERROR_FILE_INVALID;
    case SHMAP_ENOHUGE:
        return ERROR_PRIVILEGE_NOT_HELD;
    case SHMAP_EEXIST:
        return ERROR_ALREADY_EXISTS;
    case SHMAP_EMFILE:
        return ERROR_TOO_MANY_OPEN_FILES;
    case SHMAP_EBUSY:
        return ERROR_BUSY;
    case SHMAP_ENOTSUP:
        return ERROR_NOT_SUPPORTED;
    case SHMAP_ENOTOWNER:
        return ERROR_NOT_OWNER;
    case SHMAP_ETIMEDOUT:
        return ERROR_TIMEOUT;
    default:
        return ERROR_GEN_FAILURE;
    }
}

int win32_fail(int code)
{
    last_error = error_to_win32(code);
    return code;
}

WIN32_API void GetSystemInfo(LPSYSTEM_INFO info)
{
    if (!info)
        return;
    long page = sysconf(_SC_PAGESIZE);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    *info = (SYSTEM_INFO){0};
#if defined(__x86_64__)
    info->u.s.wProcessorArchitecture = PROCESSOR_ARCHITECTURE_AMD64;
#elif defined(__aarch64__)
    info->u.s.wProcessorArchitecture = PROCESSOR_ARCHITECTURE_ARM64;
#elif defined(__i386__)
    info->u.s.wProcessorArchitecture = PROCESSOR_ARCHITECTURE_INTEL;
#else
    info->u.s.wProcessorArchitecture = PROCESSOR_ARCHITECTURE_UNKNOWN;
#endif
    info->dwPageSize = (DWORD)page;
    info->lpMinimumApplicationAddress = (LPVOID)(uintptr_t)SHMAP_GRANULARITY;
    info->lpMaximumApplicationAddress =
        (LPVOID)(uintptr_t)(sizeof(void *) == 8 ? 0x7ffffffeffffull : 0xbffeffffull);
    info->dwNumberOfProcessors = cpus > 0 ? (DWORD)cpus : 1;
    info->dwActiveProcessorMask = info->dwNumberOfProcessors >= 8 * sizeof(DWORD_PTR)
                                      ? ~(DWORD_PTR)0
                                      : ((DWORD_PTR)1 << info->dwNumberOfProcessors) - 1;
    info->dwAllocationGranularity = SHMAP_GRANULARITY;
}

WIN32_API DWORD GetCurrentProcessId(void)
{
    return (DWORD)getpid();
}

WIN32_API DWORD GetCurrentThreadId(void)
{
    return (DWORD)syscall(SYS_gettid);
}

WIN32_API HANDLE GetCurrentProcess(void)
{
    return (HANDLE)(intptr_t)-1;
}

WIN32_API void Sleep(DWORD ms)
{
    struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    if (ms == INFINITE) {
        for (;;)
            pause();
    }
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

int win32_utf16_to_utf8(LPCWSTR in, char *buf, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; in[i]; i++) {
        uint32_t c = in[i];
        if (c >= 0xD800 && c <= 0xDBFF) {
            uint32_t lo = in[i + 1];
            if (lo < 0xDC00 || lo > 0xDFFF)
                goto bad;
            c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
            i++;
        } else if (c >= 0xDC00 && c <= 0xDFFF) {
            goto bad;
        }
        size_t len = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (n + len >= size) {
            win32_set_error(ERROR_FILENAME_EXCED_RANGE);
            return -1;
        }
        if (len == 1) {
            buf[n++] = (char)c;
            continue;
        }
        static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
        for (size_t k = len; k-- > 1;) {
            buf[n + k] = (char)(0x80 | (c & 0x3F));
            c >>= 6;
        }
        buf[n] = (char)(lead[len] | c);
        n += len;
    }
    buf[n] = '\0';
    return 0;
bad:
    win32_set_error(ERROR_INVALID_NAME);
    return -1;
}
