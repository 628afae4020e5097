/*
 * shmap.h - named shared memory for Linux with the semantics of Win32 file
 * mappings: create or open by name, views in many processes over the same
 * pages, flush to a backing file, and a name that lives exactly as long as
 * its last handle, also when processes crash.
 *
 * Conventions for every function in this header:
 *  - It returns 0 on success or a negative SHMAP_E* code; a positive value is
 *    returned only where it carries meaning (SHMAP_EXISTED).
 *  - It checks its arguments and never prints, exits or aborts.
 *  - On failure it leaves nothing behind: no name, file, descriptor or
 *    mapping, and *out parameters are left unchanged.
 *  - It is thread-safe, except that one handle must not be closed by one
 *    thread while another thread still uses it (as with free()).
 *
 * Names: "Local\name" (or a bare "name") is private to the calling user;
 * "Global\name" is visible to every user, subject to the object's mode.
 * After the prefix a name holds 1 to SHMAP_NAME_MAX bytes of anything but
 * '\' and NUL; it is never interpreted as a path.  The store lives under
 * $SHMAP_ROOT (default /dev/shm/shmap).
 */
#ifndef SHMAP_H
#define SHMAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMAP_VERSION_MAJOR 0
#define SHMAP_VERSION_MINOR 1
#define SHMAP_VERSION_PATCH 0
#define SHMAP_VERSION_STRING "0.1.0"

/* Offsets and fixed addresses of views are multiples of this (Win32's
 * allocation granularity). */
#define SHMAP_GRANULARITY 65536u

/* Longest name after its "Local\" or "Global\" prefix, in bytes.  Bytes
 * other than [A-Za-z0-9_.-] take three bytes of this budget each. */
#define SHMAP_NAME_MAX 240u

/* Room for a full name with its prefix and the terminating NUL. */
#define SHMAP_NAME_BUF 256u

/* ---- Status and error codes ------------------------------------------- */

#define SHMAP_OK 0
#define SHMAP_EXISTED 1 /* create found an existing object and opened it */

#define SHMAP_EINVAL (-1)        /* bad argument */
#define SHMAP_ENOENT (-2)        /* no object of that name */
#define SHMAP_ETYPE (-3)         /* name held by an object of another type */
#define SHMAP_EACCES (-4)        /* access denied by mode, protection or handle */
#define SHMAP_EALIGN (-5)        /* offset or address not a multiple of 64 KiB */
#define SHMAP_ENOTVIEW (-6)      /* address is not inside a view */
#define SHMAP_EBADNAME (-7)      /* malformed name (empty, bad prefix, '\') */
#define SHMAP_ENAMETOOLONG (-8)  /* name longer than SHMAP_NAME_MAX */
#define SHMAP_ENOMEM (-9)        /* not enough memory to commit, or address space */
#define SHMAP_ENOSPC (-10)       /* backing file's disk is full */
#define SHMAP_EFILEEMPTY (-11)   /* size 0 asked of an empty file */
#define SHMAP_ERANGE (-12)       /* view or size beyond the object's end */
#define SHMAP_EADDRINUSE (-13)   /* fixed address overlaps an existing mapping */
#define SHMAP_ESTORE (-14)       /* store directory or file is unsafe */
#define SHMAP_ECORRUPT (-15)     /* object header fails validation */
#define SHMAP_ENOHUGE (-16)      /* huge pages are not available to the store */
#define SHMAP_EEXIST (-17)       /* SHMAP_CREATE_NEW and the name exists */
#define SHMAP_EMFILE (-18)       /* out of file descriptors or mappings */
#define SHMAP_EBUSY (-19)        /* name kept changing under a retrying call */
#define SHMAP_EIO (-20)          /* unexpected system error */
#define SHMAP_ENOTSUP (-21)      /* operation not supported for this object */

/* Returns a static, human-readable description of a code returned by any
 * shmap function ("unknown error" for other values).  Thread-safe. */
const char *shmap_strerror(int code);

/* Returns the symbolic name of a code ("SHMAP_ENOENT"), or NULL. */
const char *shmap_errname(int code);

/* ---- Protections, access rights, flags -------------------------------- */

/* Protection of a mapping object (as Win32's PAGE_*).  Bounds every
 * handle's access. */
#define SHMAP_PROT_READONLY 1u
#define SHMAP_PROT_READWRITE 2u
#define SHMAP_PROT_WRITECOPY 3u
#define SHMAP_PROT_EXECUTE_READ 4u
#define SHMAP_PROT_EXECUTE_READWRITE 5u
#define SHMAP_PROT_EXECUTE_WRITECOPY 6u

/* Access of a handle or a view (as Win32's FILE_MAP_*), OR-ed together.
 * SHMAP_ACCESS_COPY makes a copy-on-write view: its writes stay private. */
#define SHMAP_ACCESS_READ 0x1u
#define SHMAP_ACCESS_WRITE 0x2u
#define SHMAP_ACCESS_COPY 0x4u
#define SHMAP_ACCESS_EXECUTE 0x8u
/* All the access the object's protection allows (for open). */
#define SHMAP_ACCESS_ALL 0xfu

/* Creation flags. */
#define SHMAP_RESERVE 0x1u     /* do not commit memory now (sparse) */
#define SHMAP_HUGE_PAGES 0x2u  /* back with transparent huge pages */
#define SHMAP_CREATE_NEW 0x4u  /* fail with SHMAP_EEXIST if the name exists */

/* Object types stored in an object's header. */
#define SHMAP_TYPE_MAPPING 1u
#define SHMAP_TYPE_MUTEX 2u
#define SHMAP_TYPE_EVENT 3u
#define SHMAP_TYPE_SEMAPHORE 4u

/* Namespaces, for the store-wide calls. */
#define SHMAP_SCOPE_LOCAL 1u
#define SHMAP_SCOPE_GLOBAL 2u

/* ---- Mapping objects ---------------------------------------------------- */

typedef struct shmap_mapping shmap_mapping;

/* How to create a mapping.  Start from SHMAP_MAPPING_CONFIG_INIT. */
typedef struct shmap_mapping_config {
    uint64_t size;       /* bytes; > 0 for memory; 0 = the file's size */
    int file_fd;         /* backing file, or -1 for memory-backed */
    uint32_t protection; /* SHMAP_PROT_* */
    uint32_t flags;      /* SHMAP_RESERVE | SHMAP_HUGE_PAGES | SHMAP_CREATE_NEW */
    uint32_t mode;       /* permission bits of a named object, e.g. 0600 */
} shmap_mapping_config;

#define SHMAP_MAPPING_CONFIG_INIT {0, -1, SHMAP_PROT_READWRITE, 0, 0600}

/* Creates the mapping object NAME, or opens it if it exists.  NAME NULL
 * creates an unnamed mapping (share it by fork, shmap_mapping_send or
 * shmap_mapping_export_fd).
 *
 * A new memory-backed object is zero-filled and, unless SHMAP_RESERVE, all
 * of its memory is committed now: if it is not there, this fails with
 * SHMAP_ENOMEM and no later write through a view can die of SIGBUS.
 * File-backed (cfg->file_fd >= 0, which the call does not take over): size 0
 * means the file's size; a larger size grows the file when the protection
 * is writable and fails with SHMAP_ERANGE when it is not.  Other processes
 * open a named file-backed object through the file's path, recorded at
 * creation.  The handle's access is all the protection allows.
 *
 * Returns 0 when it created the object, SHMAP_EXISTED when it opened an
 * existing one (which keeps its size, protection, file and mode; cfg's
 * protection is then the access asked of it, as in Win32: asking
 * read-write of a read-only object fails with SHMAP_EACCES), or: SHMAP_EINVAL (cfg NULL, size 0 without a
 * file, unknown protection or flag bits, mode > 0777), SHMAP_EBADNAME,
 * SHMAP_ENAMETOOLONG, SHMAP_ETYPE, SHMAP_EACCES, SHMAP_EEXIST, SHMAP_ENOMEM,
 * SHMAP_ENOSPC, SHMAP_EFILEEMPTY, SHMAP_ERANGE, SHMAP_ENOHUGE, SHMAP_ESTORE,
 * SHMAP_ECORRUPT, SHMAP_EMFILE, SHMAP_EIO. */
int shmap_mapping_create(const char *name, const shmap_mapping_config *cfg,
                         shmap_mapping **out);

/* Opens the existing mapping object NAME with ACCESS (SHMAP_ACCESS_* bits,
 * or SHMAP_ACCESS_ALL for whatever the protection allows).  Never creates,
 * never resizes.  Errors: SHMAP_ENOENT, SHMAP_ETYPE, SHMAP_EACCES (ACCESS
 * exceeds the protection or the file mode), SHMAP_EINVAL, SHMAP_EBADNAME,
 * SHMAP_ENAMETOOLONG, SHMAP_ESTORE, SHMAP_ECORRUPT, SHMAP_EMFILE. */
int shmap_mapping_open(const char *name, uint32_t access, shmap_mapping **out);

/* Closes a handle.  When it is the last handle to a named object in any
 * process, the name is removed at once; views stay valid, and the memory
 * is freed when the last view is unmapped.  NULL is SHMAP_EINVAL. */
int shmap_mapping_close(shmap_mapping *m);

/* What shmap_mapping_query reports. */
typedef struct shmap_mapping_info {
    uint64_t size;         /* data size in bytes */
    uint32_t type;         /* SHMAP_TYPE_MAPPING */
    uint32_t protection;   /* SHMAP_PROT_* of the object */
    uint32_t access;       /* SHMAP_ACCESS_* of this handle */
    uint32_t flags;        /* SHMAP_RESERVE | SHMAP_HUGE_PAGES as created */
    uint32_t mode;         /* permission bits (0 for unnamed) */
    uint32_t owner_uid;    /* user that created it */
    int file_backed;       /* 1 if backed by a file */
    int named;             /* 1 if it has a name */
    char name[SHMAP_NAME_BUF]; /* "Local\x" or "Global\x"; "" if unnamed */
} shmap_mapping_info;

/* Fills *info.  Errors: SHMAP_EINVAL. */
int shmap_mapping_query(const shmap_mapping *m, shmap_mapping_info *info);

/* Makes a file-backed mapping's file durable (fsync).  A memory-backed
 * mapping has nothing to sync: returns 0.  Errors: SHMAP_EINVAL, SHMAP_EIO,
 * SHMAP_ENOSPC. */
int shmap_mapping_sync(shmap_mapping *m);

/* ---- Sharing a handle with another process ----------------------------- */

/* Sends the mapping over the connected Unix socket SOCK; the receiver gets
 * its own handle with shmap_mapping_recv.  Works for named and unnamed,
 * memory- and file-backed mappings.  Errors: SHMAP_EINVAL, SHMAP_EIO. */
int shmap_mapping_send(shmap_mapping *m, int sock);

/* Receives a mapping sent with shmap_mapping_send, as a new handle limited
 * to ACCESS.  Errors: SHMAP_EINVAL, SHMAP_EIO (nothing or garbage received),
 * SHMAP_EACCES, SHMAP_ECORRUPT, SHMAP_EMFILE. */
int shmap_mapping_recv(int sock, uint32_t access, shmap_mapping **out);

/* Returns in *fd a new descriptor of a memory-backed mapping that survives
 * exec (no close-on-exec), for a child to pass to shmap_mapping_import_fd;
 * the caller closes it.  Errors: SHMAP_EINVAL, SHMAP_ENOTSUP (file-backed),
 * SHMAP_EMFILE. */
int shmap_mapping_export_fd(shmap_mapping *m, int *fd);

/* Makes a new handle, limited to ACCESS, from a descriptor made by
 * shmap_mapping_export_fd (in this or a parent process).  The caller keeps
 * and closes FD.  Errors: SHMAP_EINVAL, SHMAP_ECORRUPT (not a shmap
 * object), SHMAP_EACCES, SHMAP_EMFILE. */
int shmap_mapping_import_fd(int fd, uint32_t access, shmap_mapping **out);

/* ---- Views -------------------------------------------------------------- */

/* Maps a view of M into this process and returns its address in *addr.
 * ACCESS is SHMAP_ACCESS_READ, _WRITE (read-write), _COPY (copy-on-write),
 * optionally | SHMAP_ACCESS_EXECUTE; it must be allowed by the handle (a
 * copy view needs only read access).  The address is chosen by the kernel
 * and page-aligned, not 64 KiB-aligned as on Windows.
 * OFFSET is a multiple of SHMAP_GRANULARITY; LENGTH 0 maps to the end.
 * FIXED_ADDR, if not NULL, is a multiple of SHMAP_GRANULARITY where the
 * view must go; an existing mapping there is never replaced.  A view stays
 * valid after M is closed.  Errors: SHMAP_EINVAL, SHMAP_EACCES,
 * SHMAP_EALIGN, SHMAP_ERANGE, SHMAP_EADDRINUSE, SHMAP_ENOMEM, SHMAP_EMFILE. */
int shmap_view_map(shmap_mapping *m, uint32_t access, uint64_t offset,
                   size_t length, void *fixed_addr, void **addr);

/* Unmaps the view containing ADDR (any address inside it).  Errors:
 * SHMAP_EINVAL (NULL), SHMAP_ENOTVIEW. */
int shmap_view_unmap(void *addr);

/* Writes the dirty pages of [ADDR, ADDR+LENGTH) of a view to the backing
 * file before returning (LENGTH 0: to the end of the view).  For a
 * memory-backed or copy-on-write view there is nothing to write: returns
 * 0.  Errors: SHMAP_EINVAL (NULL), SHMAP_ENOTVIEW, SHMAP_ERANGE (range
 * leaves the view), SHMAP_EIO. */
int shmap_view_flush(void *addr, size_t length);

/* What shmap_view_query reports. */
typedef struct shmap_view_info {
    void *base;      /* start of the view */
    size_t length;   /* its length in bytes */
    uint64_t offset; /* offset in the object */
    uint32_t access; /* SHMAP_ACCESS_* it was mapped with */
} shmap_view_info;

/* Describes the view containing ADDR.  Errors: SHMAP_EINVAL,
 * SHMAP_ENOTVIEW. */
int shmap_view_query(const void *addr, shmap_view_info *info);

/* ---- The store ---------------------------------------------------------- */

/* Removes NAME from the store whatever holds it (any type); never creates
 * a directory.  Holders keep
 * their handles and views; new opens no longer find it.  Errors:
 * SHMAP_ENOENT, SHMAP_EACCES, SHMAP_EBADNAME, SHMAP_ENAMETOOLONG,
 * SHMAP_ESTORE. */
int shmap_unlink(const char *name);

/* Callback for shmap_store_sweep: called with the full name of each stale
 * name found (removed unless dry_run). */
typedef void (*shmap_sweep_fn)(const char *name, void *arg);

#define SHMAP_SWEEP_DRY_RUN 0x1u

/* Removes every stale name (one whose holders all died) of the namespace
 * SCOPE (SHMAP_SCOPE_LOCAL or SHMAP_SCOPE_GLOBAL), calling FN (if not NULL)
 * for each.  Returns the number of names removed (or found, with
 * SHMAP_SWEEP_DRY_RUN; 0 if the namespace does not exist), or SHMAP_EINVAL,
 * SHMAP_ESTORE, SHMAP_EIO.  Names another user owns and this user may not
 * remove are skipped.  Never creates a directory. */
int shmap_store_sweep(uint32_t scope, uint32_t flags, shmap_sweep_fn fn,
                      void *arg);

/* One object of the store, as shmap_store_list reports it. */
typedef struct shmap_object_info {
    char name[SHMAP_NAME_BUF]; /* full name, with its prefix */
    uint32_t type;             /* SHMAP_TYPE_*, 0 if the header is bad */
    uint32_t protection;       /* SHMAP_PROT_* (mappings) */
    uint32_t flags;            /* creation flags */
    uint32_t mode;             /* permission bits of the object file */
    uint32_t owner_uid;        /* owner of the object file */
    uint32_t creator_pid;      /* process that created it */
    uint32_t creator_uid;      /* user that created it */
    uint64_t created_ns;       /* creation time, ns since the epoch */
    uint64_t size;             /* data size (mappings) */
    uint64_t dev, ino;         /* identity of the object file */
    int stale;                 /* 1 if no process holds it */
    int file_backed;           /* 1 if backed by a file */
    char file_path[4096];      /* backing file, if file-backed */
    const void *header;        /* the raw header page (valid during FN) */
    size_t header_len;
} shmap_object_info;

typedef int (*shmap_list_fn)(const shmap_object_info *obj, void *arg);

/* Calls FN for each object of namespace SCOPE, in no set order; stops early
 * and returns FN's value when FN returns non-zero.  Objects it may not read
 * are reported with type 0.  Returns 0 (also when the namespace does not
 * exist), or SHMAP_EINVAL, SHMAP_ESTORE, SHMAP_EIO.  Never creates a
 * directory, never removes a name. */
int shmap_store_list(uint32_t scope, shmap_list_fn fn, void *arg);

/* Writes into BUF (SIZE bytes) the directory of namespace SCOPE in the
 * store, as this process resolves it.  Errors: SHMAP_EINVAL,
 * SHMAP_ERANGE (BUF too small). */
int shmap_store_path(uint32_t scope, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* SHMAP_H */
