/*
 * shmap.h - named shared memory for Linux with the semantics of Win32 file
 * mappings: create or open by name, views in many processes over the same
 * pages, flush to a backing file, and a name that lives exactly as long as
 * its last handle, also when processes crash.
 *
 * Conventions for every function in this header:
 *  - It returns 0 on success or a negative SHMAP_E* code; a positive value is
 *    returned only where it carries meaning (SHMAP_EXISTED, SHMAP_ABANDONED).
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
#define SHMAP_EXISTED 1   /* create found an existing object and opened it */
#define SHMAP_ABANDONED 2 /* wait: got a mutex whose owner died holding it */

#define SHMAP_EINVAL (-1)       /* bad argument */
#define SHMAP_ENOENT (-2)       /* no object of that name */
#define SHMAP_ETYPE (-3)        /* name held by an object of another type */
#define SHMAP_EACCES (-4)       /* access denied by mode, protection or handle */
#define SHMAP_EALIGN (-5)       /* offset or address not a multiple of 64 KiB */
#define SHMAP_ENOTVIEW (-6)     /* address is not inside a view */
#define SHMAP_EBADNAME (-7)     /* malformed name (empty, bad prefix, '\') */
#define SHMAP_ENAMETOOLONG (-8) /* name longer than SHMAP_NAME_MAX */
#define SHMAP_ENOMEM (-9)       /* not enough memory to commit, or address space */
#define SHMAP_ENOSPC (-10)      /* backing file's disk is full */
#define SHMAP_EFILEEMPTY (-11)  /* size 0 asked of an empty file */
#define SHMAP_ERANGE (-12)      /* view or size beyond the object's end */
#define SHMAP_EADDRINUSE (-13)  /* fixed address overlaps an existing mapping */
#define SHMAP_ESTORE (-14)      /* store directory or file is unsafe */
#define SHMAP_ECORRUPT (-15)    /* object header fails validation */
#define SHMAP_ENOHUGE (-16)     /* huge pages are not available to the store */
#define SHMAP_EEXIST (-17)      /* SHMAP_CREATE_NEW and the name exists */
#define SHMAP_EMFILE (-18)      /* out of file descriptors or mappings */
#define SHMAP_EBUSY (-19)       /* name kept changing under a retrying call */
#define SHMAP_EIO (-20)         /* unexpected system error */
#define SHMAP_ENOTSUP (-21)     /* operation not supported for this object */
#define SHMAP_ENOTOWNER (-22)   /* mutex released by a thread that does not own it */
#define SHMAP_ETIMEDOUT (-23)   /* wait: the timeout expired first */

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
#define SHMAP_RESERVE 0x1u    /* do not commit memory now (sparse) */
#define SHMAP_HUGE_PAGES 0x2u /* back with transparent huge pages */
#define SHMAP_CREATE_NEW 0x4u /* fail with SHMAP_EEXIST if the name exists */

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

#define SHMAP_MAPPING_CONFIG_INIT                                                                  \
    {                                                                                              \
        0, -1, SHMAP_PROT_READWRITE, 0, 0600                                                       \
    }

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
 * read-write of a read-only object fails with SHMAP_EACCES), or: SHMAP_EINVAL (cfg NULL, size 0
 * without a file, unknown protection or flag bits, mode > 0777), SHMAP_EBADNAME,
 * SHMAP_ENAMETOOLONG, SHMAP_ETYPE, SHMAP_EACCES, SHMAP_EEXIST, SHMAP_ENOMEM,
 * SHMAP_ENOSPC, SHMAP_EFILEEMPTY, SHMAP_ERANGE, SHMAP_ENOHUGE, SHMAP_ESTORE,
 * SHMAP_ECORRUPT, SHMAP_EMFILE, SHMAP_EIO. */
int shmap_mapping_create(const char *name, const shmap_mapping_config *cfg, shmap_mapping **out);

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
    uint64_t size;             /* data size in bytes */
    uint32_t type;             /* SHMAP_TYPE_MAPPING */
    uint32_t protection;       /* SHMAP_PROT_* of the object */
    uint32_t access;           /* SHMAP_ACCESS_* of this handle */
    uint32_t flags;            /* SHMAP_RESERVE | SHMAP_HUGE_PAGES as created */
    uint32_t mode;             /* permission bits (0 for unnamed) */
    uint32_t owner_uid;        /* user that created it */
    int file_backed;           /* 1 if backed by a file */
    int named;                 /* 1 if it has a name */
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
int shmap_view_map(shmap_mapping *m, uint32_t access, uint64_t offset, size_t length,
                   void *fixed_addr, void **addr);

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
int shmap_store_sweep(uint32_t scope, uint32_t flags, shmap_sweep_fn fn, void *arg);

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

/* ==== Synchronization objects ============================================
 *
 * Mutexes, events and semaphores with Win32 semantics, shared by processes
 * through a name (in the same namespace as mappings: a name held by an
 * object of another type fails with SHMAP_ETYPE) or through memory the
 * caller places them in (unnamed, SHMAP_SYNC_SIZE bytes inside a shared
 * view).  One handle type, shmap_sync, covers the three kinds, so that one
 * set of wait calls covers them all.
 *
 *  - A mutex is owned by a thread and recursive: each successful wait adds
 *    one to its count, each shmap_mutex_release takes one off; only the
 *    owning thread may release it (SHMAP_ENOTOWNER).  If the owning thread
 *    exits or its process dies (SIGKILL included) while owning it, the next
 *    waiter - already blocked or arriving later - gets it with the status
 *    SHMAP_ABANDONED, at once (the kernel's robust-futex list, not a
 *    timeout); the mutex then works normally again.  It is a glibc robust,
 *    process-shared, recursive pthread mutex: a mutex is shared only by
 *    processes of the same ABI (a 32-bit process opening a 64-bit process's
 *    mutex gets SHMAP_ENOTSUP) and of the same PID namespace (owners are
 *    told apart by thread ID).  Events and semaphores have neither limit.
 *  - An event is manual-reset (once set, it releases every waiter until it
 *    is reset) or auto-reset (a set releases exactly one waiter, and that
 *    wait resets it).
 *  - A semaphore has a count between 0 and its maximum; a wait takes one,
 *    shmap_semaphore_release adds some.
 *
 * Handles: the rules at the top of this header apply.  Closing a handle
 * while another thread waits on it is undefined, as with free() (and as in
 * Win32).  Handles survive fork(): the child may use them (it does not own
 * the parent's mutexes).
 *
 * Waiting: when more than one CPU is online, a wait for events or
 * semaphores that are not ready polls them for a short while before it
 * sleeps (at most 50 us of CPU per call, less for a thread whose waits
 * keep turning out long; not if another thread already sleeps on them),
 * so that a set or release coming within that time costs no wake-up.
 */

/* (Outside the C++ linkage block: system headers.) */
#ifdef __cplusplus
}
#endif
#include <stdbool.h>
#include <time.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct shmap_sync shmap_sync;

/* Timeout of a wait that never times out. */
#define SHMAP_INFINITE UINT32_MAX

/* Most objects one shmap_wait_multiple call takes (Win32's
 * MAXIMUM_WAIT_OBJECTS). */
#define SHMAP_WAIT_MAX 64u

/* Size and alignment of an unnamed object placed by the caller. */
#define SHMAP_SYNC_SIZE 128u
#define SHMAP_SYNC_ALIGN 64u

/* Creation flags (SHMAP_CREATE_NEW is also accepted by the create calls). */
#define SHMAP_MUTEX_INITIAL_OWNER 0x1u /* the creating thread owns it */
#define SHMAP_EVENT_MANUAL_RESET 0x1u  /* manual-reset (default: auto-reset) */
#define SHMAP_EVENT_INITIAL_SET 0x2u   /* starts set */

/* Creates the mutex NAME, or opens it if it exists.  With
 * SHMAP_MUTEX_INITIAL_OWNER the calling thread owns a new mutex (count 1)
 * before any other process can reach it; the flag is ignored when the mutex
 * existed.  NAME NULL makes an unnamed mutex in anonymous shared memory,
 * shared with children forked afterwards.  MODE: permission bits of a new
 * named object (e.g. 0600; others need read and write to use it).
 * Returns 0 (created), SHMAP_EXISTED (opened), or SHMAP_EINVAL (OUT NULL,
 * unknown flag bits, MODE > 0777), SHMAP_EBADNAME, SHMAP_ENAMETOOLONG,
 * SHMAP_ETYPE, SHMAP_EEXIST (SHMAP_CREATE_NEW), SHMAP_EACCES, SHMAP_ENOTSUP,
 * SHMAP_ECORRUPT, SHMAP_ENOMEM, SHMAP_ESTORE, SHMAP_EMFILE, SHMAP_EBUSY,
 * SHMAP_EIO.  Thread-safe. */
int shmap_mutex_create(const char *name, uint32_t flags, uint32_t mode, shmap_sync **out);

/* Creates the event NAME (flags SHMAP_EVENT_MANUAL_RESET,
 * SHMAP_EVENT_INITIAL_SET, SHMAP_CREATE_NEW), or opens it if it exists
 * (FLAGS but SHMAP_CREATE_NEW are then ignored).  NAME NULL, MODE, returns
 * and errors as shmap_mutex_create.  Thread-safe. */
int shmap_event_create(const char *name, uint32_t flags, uint32_t mode, shmap_sync **out);

/* Creates the semaphore NAME with count INITIAL and MAXIMUM (1 <= MAXIMUM
 * <= INT32_MAX, INITIAL <= MAXIMUM, else SHMAP_EINVAL), or opens it if it
 * exists (INITIAL and MAXIMUM are then ignored).  FLAGS: 0 or
 * SHMAP_CREATE_NEW.  NAME NULL, MODE, returns and errors as
 * shmap_mutex_create.  Thread-safe. */
int shmap_semaphore_create(const char *name, uint32_t initial, uint32_t maximum, uint32_t flags,
                           uint32_t mode, shmap_sync **out);

/* Open the existing mutex, event or semaphore NAME; never create.  Errors:
 * SHMAP_EINVAL (NAME or OUT NULL), SHMAP_ENOENT, SHMAP_ETYPE, SHMAP_EACCES
 * (the object's mode does not give read and write), SHMAP_EBADNAME,
 * SHMAP_ENAMETOOLONG, SHMAP_ENOTSUP, SHMAP_ECORRUPT, SHMAP_ENOMEM,
 * SHMAP_ESTORE, SHMAP_EMFILE, SHMAP_EBUSY, SHMAP_EIO.  Thread-safe. */
int shmap_mutex_open(const char *name, shmap_sync **out);
int shmap_event_open(const char *name, shmap_sync **out);
int shmap_semaphore_open(const char *name, shmap_sync **out);

/* Unnamed objects placed by the caller: initialize an object in the
 * SHMAP_SYNC_SIZE bytes at ADDR (a multiple of SHMAP_SYNC_ALIGN, in memory
 * every user maps shared and writable, such as a view of a mapping), with
 * the same flags and limits as the create calls (SHMAP_CREATE_NEW is not
 * accepted; SHMAP_MUTEX_INITIAL_OWNER makes the calling thread the owner).
 * Nothing else may use those bytes meanwhile: initialize once, then every
 * process calls shmap_sync_attach.  While a thread of a process owns a
 * mutex, that process must keep its memory mapped.  Errors: SHMAP_EINVAL
 * (ADDR NULL or misaligned, bad flags or counts).  Thread-safe for distinct
 * addresses. */
int shmap_mutex_init_at(void *addr, uint32_t flags);
int shmap_event_init_at(void *addr, uint32_t flags);
int shmap_semaphore_init_at(void *addr, uint32_t initial, uint32_t maximum);

/* Makes a handle to the object initialized at ADDR by an init_at call (in
 * this or another process, at whatever address its view has there).  TYPE
 * is SHMAP_TYPE_MUTEX, _EVENT, _SEMAPHORE, or 0 for any.  The handle does
 * not keep the memory mapped: unmapping it first makes the handle unusable
 * (close it only).  Errors: SHMAP_EINVAL (ADDR NULL or misaligned, OUT
 * NULL, unknown TYPE), SHMAP_ECORRUPT (no object there), SHMAP_ETYPE,
 * SHMAP_ENOTSUP, SHMAP_ENOMEM.  Thread-safe. */
int shmap_sync_attach(void *addr, uint32_t type, shmap_sync **out);

/* Closes a handle.  Closing the last handle of a named object removes the
 * name, as for mappings.  The mutex is not released: if a thread of this
 * process owns it, its page stays mapped until the process exits (the
 * robust-futex list points into it), and it is abandoned when that thread
 * exits.  NULL is SHMAP_EINVAL.  Not while another thread uses S. */
int shmap_sync_close(shmap_sync *s);

/* Releases the mutex S once (the owner's count goes down by one; at zero
 * the next waiter gets it).  Errors: SHMAP_EINVAL (NULL), SHMAP_ETYPE (not
 * a mutex), SHMAP_ENOTOWNER (the calling thread does not own it; nothing
 * changes), SHMAP_ECORRUPT (its memory was damaged).  Thread-safe. */
int shmap_mutex_release(shmap_sync *s);

/* Sets the event S: a manual-reset event releases every waiter and stays
 * set; an auto-reset event releases one waiter (or the next one to come)
 * and resets.  Setting a set event does nothing.  Errors: SHMAP_EINVAL,
 * SHMAP_ETYPE (not an event).  Thread-safe. */
int shmap_event_set(shmap_sync *s);

/* Resets the event S.  Errors: SHMAP_EINVAL, SHMAP_ETYPE.  Thread-safe. */
int shmap_event_reset(shmap_sync *s);

/* Adds COUNT (>= 1) to the semaphore S and, if PREVIOUS is not NULL,
 * stores the count before it there.  If that would pass the maximum,
 * fails with SHMAP_ERANGE and nothing changes.  Errors: SHMAP_EINVAL (NULL,
 * COUNT 0), SHMAP_ETYPE (not a semaphore), SHMAP_ERANGE, SHMAP_ECORRUPT
 * (its memory was damaged).  Thread-safe. */
int shmap_semaphore_release(shmap_sync *s, uint32_t count, uint32_t *previous);

/* Waits until S can be taken, and takes it: a mutex becomes owned by the
 * calling thread (again, if it already owns it), an auto-reset event is
 * reset, a semaphore's count goes down by one; a set manual-reset event is
 * left as it is.  TIMEOUT_MS 0 only tries; SHMAP_INFINITE waits forever.
 * A signal does not end the wait (it goes on for the time left).  Returns
 * 0, SHMAP_ABANDONED (a mutex whose owner died holding it: now owned by
 * the caller, and consistent), or SHMAP_ETIMEDOUT, SHMAP_EINVAL,
 * SHMAP_ECORRUPT (the object's memory is damaged), SHMAP_ERANGE (a
 * mutex's recursion count would overflow).  Thread-safe. */
int shmap_wait(shmap_sync *s, uint32_t timeout_ms);

/* As shmap_wait, until the absolute CLOCK_MONOTONIC time DEADLINE (one in
 * the past only tries).  DEADLINE NULL or with tv_nsec out of range is
 * SHMAP_EINVAL.  Thread-safe. */
int shmap_wait_until(shmap_sync *s, const struct timespec *deadline);

/* Waits on COUNT (1 to SHMAP_WAIT_MAX) objects at once.
 *  - WAIT_ALL false: returns as soon as one can be taken, having taken the
 *    one of lowest index among those ready, and stores that index in
 *    *INDEX (if INDEX is not NULL); SHMAP_ABANDONED means the one taken is
 *    an abandoned mutex.
 *  - WAIT_ALL true: waits until every object can be taken, then takes them
 *    all; until then it takes none (an auto-reset event stays set, a
 *    semaphore keeps its count, a mutex stays free).  Stores 0 in *INDEX,
 *    or with SHMAP_ABANDONED the lowest index of an abandoned mutex among
 *    them.  An object may appear only once (SHMAP_EINVAL otherwise, also
 *    through two handles).  Fine print: the objects cannot all be taken in
 *    one atomic step; the call takes them one by one within a few
 *    instructions, holding back those already taken (reserved, still
 *    counting against a semaphore's maximum, and set or reset as asked
 *    meanwhile), and if one was taken by someone else in between it gives
 *    the others back exactly and waits again.  During that window (a few
 *    instructions, no system call) another thread can find a reserved event
 *    not set, a semaphore one unit lower or a mutex owned, so that its try
 *    (timeout 0) fails or its wait sleeps until the window closes; and a
 *    process killed inside the window leaves its reservations held (the
 *    event stays unset, the semaphore one unit short; mutexes are
 *    abandoned as usual).
 *  - Either way, a process killed at the instant this call is woken by a
 *    mutex's release, before it takes or passes on that wake-up, can leave
 *    the mutex's other sleepers asleep until its next contended release.
 *    Single waits (shmap_wait, timed or not) use glibc's robust lock, for
 *    which the kernel passes such a wake-up on.
 * Timeouts, signals and the other returns as shmap_wait; *INDEX is left
 * alone on errors and SHMAP_ETIMEDOUT.  Errors also: SHMAP_EINVAL (HANDLES
 * NULL or holding NULL, COUNT 0 or too big), SHMAP_ENOTSUP (a kernel older
 * than 5.16, without futex_waitv, for a wait that has to sleep on several
 * objects).  Thread-safe. */
int shmap_wait_multiple(shmap_sync *const *handles, size_t count, bool wait_all,
                        uint32_t timeout_ms, int *index);

/* As shmap_wait_multiple, until the absolute CLOCK_MONOTONIC DEADLINE. */
int shmap_wait_multiple_until(shmap_sync *const *handles, size_t count, bool wait_all,
                              const struct timespec *deadline, int *index);

/* The state of a synchronization object, as shmap_sync_query and
 * shmap_sync_describe report it: a snapshot, which may be stale at once. */
typedef struct shmap_sync_info {
    uint32_t type;             /* SHMAP_TYPE_MUTEX, _EVENT or _SEMAPHORE */
    uint32_t owner_tid;        /* mutex: owning thread (its PID namespace's TID), 0 if free */
    uint32_t recursion;        /* mutex: how many times the owner holds it, 0 if free */
    int abandoned;             /* mutex: owner died; the next waiter gets SHMAP_ABANDONED */
    int manual_reset;          /* event: 1 if manual-reset */
    int signaled;              /* event: 1 if set */
    uint32_t count;            /* semaphore: current count */
    uint32_t maximum;          /* semaphore: maximum count */
    char name[SHMAP_NAME_BUF]; /* full name; "" if unnamed */
} shmap_sync_info;

/* Describes the object of handle S.  Errors: SHMAP_EINVAL.  Thread-safe. */
int shmap_sync_query(const shmap_sync *s, shmap_sync_info *info);

/* Describes a named synchronization object from a copy of its header page
 * (HEADER_LEN bytes at HEADER, such as shmap_object_info's header), without
 * a handle.  Errors: SHMAP_EINVAL (NULL), SHMAP_ETYPE (the header of a
 * mapping), SHMAP_ECORRUPT (too short or not a valid object header).
 * Thread-safe. */
int shmap_sync_describe(const void *header, size_t header_len, shmap_sync_info *info);

/* ==== End of synchronization objects ===================================== */

#ifdef __cplusplus
}
#endif

#endif /* SHMAP_H */
