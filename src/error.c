/* error.c - the one set of shmap error codes: their descriptions, their
 * symbolic names, and how system errors map onto them. */
#include "internal.h"

#include <unistd.h>

struct error_entry {
    int code;
    const char *name;
    const char *text;
};

static const struct error_entry error_table[] = {
    {SHMAP_OK, "SHMAP_OK", "success"},
    {SHMAP_EXISTED, "SHMAP_EXISTED", "opened an existing object"},
    {SHMAP_ABANDONED, "SHMAP_ABANDONED", "acquired a mutex abandoned by its owner"},
    {SHMAP_EINVAL, "SHMAP_EINVAL", "invalid argument"},
    {SHMAP_ENOENT, "SHMAP_ENOENT", "no object of that name"},
    {SHMAP_ETYPE, "SHMAP_ETYPE", "name is held by an object of another type"},
    {SHMAP_EACCES, "SHMAP_EACCES", "access denied"},
    {SHMAP_EALIGN, "SHMAP_EALIGN", "offset or address is not a multiple of 64 KiB"},
    {SHMAP_ENOTVIEW, "SHMAP_ENOTVIEW", "address is not inside a view"},
    {SHMAP_EBADNAME, "SHMAP_EBADNAME", "malformed name"},
    {SHMAP_ENAMETOOLONG, "SHMAP_ENAMETOOLONG", "name is too long"},
    {SHMAP_ENOMEM, "SHMAP_ENOMEM", "not enough memory"},
    {SHMAP_ENOSPC, "SHMAP_ENOSPC", "no space left on the backing file's device"},
    {SHMAP_EFILEEMPTY, "SHMAP_EFILEEMPTY", "backing file is empty and no size was given"},
    {SHMAP_ERANGE, "SHMAP_ERANGE", "out of range (beyond the object's end, or past a maximum)"},
    {SHMAP_EADDRINUSE, "SHMAP_EADDRINUSE", "fixed address overlaps an existing mapping"},
    {SHMAP_ESTORE, "SHMAP_ESTORE", "store directory or object file is unsafe"},
    {SHMAP_ECORRUPT, "SHMAP_ECORRUPT", "object header is invalid"},
    {SHMAP_ENOHUGE, "SHMAP_ENOHUGE", "huge pages are not available for this store"},
    {SHMAP_EEXIST, "SHMAP_EEXIST", "name already exists"},
    {SHMAP_EMFILE, "SHMAP_EMFILE", "out of file descriptors or mappings"},
    {SHMAP_EBUSY, "SHMAP_EBUSY", "name kept changing; try again"},
    {SHMAP_EIO, "SHMAP_EIO", "unexpected system error"},
    {SHMAP_ENOTSUP, "SHMAP_ENOTSUP", "not supported for this object"},
    {SHMAP_ENOTOWNER, "SHMAP_ENOTOWNER", "mutex is not owned by the calling thread"},
    {SHMAP_ETIMEDOUT, "SHMAP_ETIMEDOUT", "wait timed out"},
};

static const struct error_entry *error_find(int code)
{
    for (size_t i = 0; i < sizeof error_table / sizeof error_table[0]; i++)
        if (error_table[i].code == code)
            return &error_table[i];
    return NULL;
}

SHMAP_API const char *shmap_strerror(int code)
{
    const struct error_entry *e = error_find(code);
    return e ? e->text : "unknown error";
}

SHMAP_API const char *shmap_errname(int code)
{
    const struct error_entry *e = error_find(code);
    return e ? e->name : NULL;
}

void fd_close_quietly(int fd)
{
    int saved = errno;
    if (fd >= 0)
        close(fd);
    errno = saved;
}
