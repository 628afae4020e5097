/* internal.h - what every source file of the library shares: the export
 * macro, the mapping of system errors onto shmap codes, and small helpers. */
#ifndef SHMAP_INTERNAL_H
#define SHMAP_INTERNAL_H

/* The library uses Linux interfaces (O_TMPFILE, memfd, renameat2, ...);
 * every source file includes this header before any system header. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "shmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHMAP_API __attribute__((visibility("default")))

/* Size of the header region at the start of an object file.  The header
 * itself fits in the first 4 KiB; the rest of the region is a sparse hole
 * that keeps the data at an offset valid for every page size up to 64 KiB. */
#define SHMAP_HEADER_REGION 65536u

/* Data offset of a huge-page object, so that the data is aligned to a PMD. */
#define SHMAP_HUGE_DATA_OFFSET (2u * 1024u * 1024u)

/* Maps an errno value onto a shmap code (always negative).  Inline, so
 * that every caller (and the static analyzer) sees that it is. */
static inline int error_from_errno(int err)
{
    switch (err) {
    case ENOENT:
        return SHMAP_ENOENT;
    case EACCES:
    case EPERM:
    case EROFS:
        return SHMAP_EACCES;
    case EEXIST:
        return SHMAP_EEXIST;
    case ENOMEM:
        return SHMAP_ENOMEM;
    case ENOSPC:
    case EDQUOT:
        return SHMAP_ENOSPC;
    case EMFILE:
    case ENFILE:
        return SHMAP_EMFILE;
    case ELOOP:
    case ENOTDIR:
    case EISDIR:
    case ENXIO:
        return SHMAP_ESTORE; /* something that is no object file in its place */
    case ENAMETOOLONG:
        return SHMAP_ENAMETOOLONG;
    case EINVAL:
        return SHMAP_EINVAL;
    case EFBIG:
    case EOVERFLOW:
        return SHMAP_ERANGE;
    case ENOTSUP:
        return SHMAP_ENOTSUP;
    default:
        return SHMAP_EIO;
    }
}

/* close(2) that keeps errno, for cleanup paths. */
void fd_close_quietly(int fd);

/* Retries a system call that returned -1 with EINTR. */
#define RETRY_EINTR(expr)                                                                          \
    ({                                                                                             \
        long retry_rc_;                                                                            \
        do                                                                                         \
            retry_rc_ = (long)(expr);                                                              \
        while (retry_rc_ == -1 && errno == EINTR);                                                 \
        retry_rc_;                                                                                 \
    })

#endif
