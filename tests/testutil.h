/* testutil.h - test helpers: private store, child processes, pipes, leaks. */
#ifndef SHMAP_TESTUTIL_H
#define SHMAP_TESTUTIL_H

/* Included first by every test: the GNU API (memfd_create, pipe2, unshare,
 * MAP_FIXED_NOREPLACE) before any system header. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#include "shmap.h"

#define KiB ((uint64_t)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define GRAN ((uint64_t)SHMAP_GRANULARITY)

/* ---- The store ------------------------------------------------------- */

/* Creates a fresh directory /dev/shm/shmap-test-XXXXXX and points
 * SHMAP_ROOT at its subdirectory "store" (mode 0700), so that the test owns
 * SHMAP_ROOT's parent too.  Call before any shmap call of the test. */
void tu_store_setup(void);

/* Asserts the store holds no object file (nor stray temp file), then
 * removes the whole directory tree. */
void tu_store_teardown(void);

/* The same as cmocka fixtures. */
int tu_setup(void **state);
int tu_teardown(void **state);

/* SHMAP_ROOT of this test, and the directory made by tu_store_setup (its
 * parent).  Scratch files go into the latter: tu_scratch_path. */
const char *tu_store_root(void);
const char *tu_store_top(void);

/* Writes into BUF "<top>/NAME": a path outside SHMAP_ROOT for test files. */
const char *tu_scratch_path(char *buf, size_t size, const char *name);

/* Path of the namespace directory SCOPE, as the library resolves it. */
const char *tu_ns_path(uint32_t scope, char *buf, size_t size);

/* Number of entries in namespace directory SCOPE (0 if it does not exist).
 * With ALL false, entries starting with '.' (the store's own) are skipped. */
int tu_ns_count(uint32_t scope, int all);

/* Files (anything but directories) anywhere under SHMAP_ROOT: the objects
 * of every namespace of every user, and any stray file. */
int tu_store_count(void);

/* 1 if NAME can be opened now (the handle is closed again), 0 if the open
 * says SHMAP_ENOENT; fails the test on anything else. */
int tu_name_exists(const char *name);

/* ---- Codes ------------------------------------------------------------ */

/* Symbolic name of a code, never NULL. */
const char *tu_errname(int code);

void tu_assert_rc(int got, int want, const char *expr, const char *file, int line);

/* Asserts that EXPR returns WANT, naming both codes on mismatch. */
#define assert_rc(expr, want) tu_assert_rc((expr), (want), #expr, __FILE__, __LINE__)

/* ---- Creating things quickly ----------------------------------------- */

/* Creates (must be new: returns 0) a memory-backed mapping of SIZE. */
shmap_mapping *tu_create(const char *name, uint64_t size);

/* Creates or opens NAME with CFG and asserts the result is WANT. */
shmap_mapping *tu_create_cfg(const char *name, const shmap_mapping_config *cfg, int want);

/* Opens NAME with ACCESS; asserts success. */
shmap_mapping *tu_open(const char *name, uint32_t access);

/* shmap_mapping_query into *INFO; asserts success. */
void tu_info(const shmap_mapping *m, shmap_mapping_info *info);

/* Maps a view; asserts success. */
void *tu_map(shmap_mapping *m, uint32_t access, uint64_t offset, size_t length);

/* New named (or, NAME NULL, unnamed) synchronization objects, mode 0600;
 * each asserts the create said "created". */
shmap_sync *tu_mutex_new(const char *name, uint32_t flags);
shmap_sync *tu_event_new(const char *name, uint32_t flags);
shmap_sync *tu_sem_new(const char *name, uint32_t initial, uint32_t maximum);

/* shmap_sync_query of S; asserts success. */
shmap_sync_info tu_sync_info(const shmap_sync *s);

/* ---- Processes ------------------------------------------------------- */

/* Forks a child that runs FN(ARG) and then _exit(0).  The child must not
 * use cmocka asserts: it uses TU_CHILD_CHECK, which _exit()s non-zero. */
pid_t tu_fork(void (*fn)(void *), void *arg);

/* Waits for PID; returns its exit status, or 128 + signal if killed. */
int tu_wait_exit(pid_t pid);

/* Waits for PID and asserts it exited 0. */
#define tu_wait_ok(pid) assert_int_equal(tu_wait_exit(pid), 0)

void tu_child_fail(const char *file, int line, const char *what, int got, int want);

/* In a child: on failure print file:line and _exit(2). */
#define TU_CHILD_CHECK(cond)                                                                       \
    do {                                                                                           \
        if (!(cond))                                                                               \
            tu_child_fail(__FILE__, __LINE__, #cond, 0, 0);                                        \
    } while (0)

/* In a child: EXPR must return WANT (codes are named on failure). */
#define TU_CHILD_RC(expr, want)                                                                    \
    do {                                                                                           \
        int got_ = (expr), want_ = (want);                                                         \
        if (got_ != want_)                                                                         \
            tu_child_fail(__FILE__, __LINE__, #expr, got_, want_);                                 \
    } while (0)

/* Anonymous shared memory, visible to forked children (for results). */
void *tu_shared_alloc(size_t size);
void tu_shared_free(void *p, size_t size);

/* State letter of thread TID in /proc ('S' sleeping, 'R' running, 'Z'
 * zombie ...), or '?'. */
char tu_task_state(pid_t tid);

/* Waits (yielding, no sleep) until thread TID is blocked in the kernel: a
 * thread that has told us it is about to wait, and has no other place to
 * block, is then inside its wait.  Fails the test after 20 s. */
void tu_wait_blocked(pid_t tid);

/* ---- Pipes as sync points ------------------------------------------- */

/* A pipe: fd[0] read end, fd[1] write end (close-on-exec). */
void tu_pipe(int fd[2]);

/* Writes one byte BYTE; returns 0 or -1. */
int tu_pipe_signal(int fd, char byte);

/* Reads one byte; returns it (0..255), or -1 on EOF or error. */
int tu_pipe_wait(int fd);

/* Writes or reads exactly N bytes (a pointer, an int); 0 or -1. */
int tu_pipe_write(int fd, const void *buf, size_t n);
int tu_pipe_read(int fd, void *buf, size_t n);

void tu_close(int fd);

/* ---- Leak counters --------------------------------------------------- */

/* Open descriptors; mappings of files (views are; anonymous ones are not
 * counted, since allocators make and drop them at will). */
int tu_count_fds(void);
int tu_count_maps(void);

/* What a process holds: fds, mappings, store entries. */
struct tu_snap {
    int fds, maps, store;
};

/* Takes the counts, after warming the library up (a named object in each
 * namespace created, mapped and closed) so that what it opens once per
 * process and caches is not counted as a leak. */
void tu_snap_take(struct tu_snap *s);

/* Asserts nothing was added since S (a failed call left nothing). */
#define tu_snap_check(s) tu_snap_check_at((s), __FILE__, __LINE__)
void tu_snap_check_at(const struct tu_snap *s, const char *file, int line);

/* 1 if [ADDR, ADDR+LEN) is entirely mapped in this process. */
int tu_is_mapped(const void *addr, size_t len);

/* 1 if ADDR lies in a mapping of a file (such as a view). */
int tu_is_file_mapped(const void *addr);

/* A free, SHMAP_GRANULARITY-aligned address range of LEN bytes. */
void *tu_free_aligned_addr(size_t len);

/* Finds the helper program NAME in $SHMAP_TEST_BIN_DIR or the directory of
 * this test executable (or their tests/ subdirectory).  Returns BUF, or
 * NULL if it is nowhere. */
const char *tu_helper_path(const char *name, char *buf, size_t size);

#endif
