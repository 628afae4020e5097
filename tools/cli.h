/* cli.h - what the files of the shmap command-line tool share: exit
 * statuses, error reporting, argument parsing, output formatting, holding
 * an object until a signal, the table of a namespace's objects with their
 * holders and states, and the commands. */
#ifndef SHMAP_CLI_H
#define SHMAP_CLI_H

/* The tool uses Linux interfaces (getopt_long, sigtimedwait, makedev, ...);
 * every file of it includes this header before any system header. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "shmap.h"

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* ---- Exit statuses (documented in docs/shmap.1) ------------------------ */

enum {
    EXIT_OK = 0,
    EXIT_ERROR = 1,      /* any other failure */
    EXIT_USAGE = 2,      /* bad usage or argument, or a range past an object's end */
    EXIT_NOT_FOUND = 3,  /* no object (or file) of that name */
    EXIT_EXISTS = 4,     /* the name exists (create --new) */
    EXIT_DENIED = 5,     /* access denied */
    EXIT_WRONG_TYPE = 6, /* the name is an object of another type */
    EXIT_STORE_BAD = 7,  /* store unsafe, or object header corrupt */
    EXIT_TIMEOUT = 8,    /* wait: the timeout passed first */
    EXIT_ABANDONED = 9,  /* wait: got a mutex whose owner died holding it */
};

/* ---- Commands ------------------------------------------------------------ */

struct command {
    const char *name;
    const char *summary; /* one line, for shmap --help */
    const char *help;    /* the whole of shmap NAME --help */
    int (*run)(const struct command *self, int argc, char **argv); /* argv[0]: NAME */
};

extern const struct command cmd_ls, cmd_info, cmd_create, cmd_cat, cmd_write, cmd_rm, cmd_gc;
extern const struct command cmd_create_mutex, cmd_create_event, cmd_create_semaphore;
extern const struct command cmd_signal, cmd_reset, cmd_wait;

/* ---- Errors -------------------------------------------------------------- */

/* Prints "shmap: SUBJECT: MESSAGE" as one line on stderr (control bytes of
 * SUBJECT shown as '?'; "shmap: MESSAGE" if SUBJECT is NULL) and returns
 * STATUS. */
int fail(int status, const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same with shmap_strerror(CODE) as the message and CODE's status. */
int fail_code(const char *subject, int code);

/* The exit status for a negative shmap code. */
int exit_status_for(int code);

/* The exit status for an errno value (opening a file of the user's). */
int exit_status_for_errno(int err);

/* ---- Options ------------------------------------------------------------- */

/* Option values every command shares. */
enum { OPT_HELP = 'h', OPT_BAD = -2 };

/* getopt_long over a command's arguments, quiet: returns the next option,
 * -1 at the end (optind then indexes the first operand), or OPT_BAD after
 * printing what was wrong. */
int option_next(const struct command *cmd, int argc, char **argv, const struct option *longopts);

/* Prints CMD's help on stdout; returns the exit status. */
int command_help(const struct command *cmd);

/* Checks the number of operands; prints the usage error.  Returns true
 * if there are between MIN and MAX. */
bool operands_check(const struct command *cmd, int count, int min, int max, const char *what);

/* Parses the arguments of a command that takes one NAME and no option but
 * --help.  Returns EXIT_OK with *NAME set, or the exit status to return at
 * once (usage error, or help shown). */
int name_only_args(const struct command *cmd, int argc, char **argv, const char **name);

/* Usage error for CMD: "shmap: SUBJECT: MESSAGE; try 'shmap CMD --help'". */
int fail_usage(const struct command *cmd, const char *subject, const char *message);

/* ---- Parsing ------------------------------------------------------------- */

/* A byte count: digits, then optionally K, M, G, T, P or E (binary units,
 * any case, optionally followed by "iB").  False if malformed or too big. */
bool parse_size(const char *text, uint64_t *out);

/* Seconds as a non-negative decimal ("2", "0.5"). */
bool parse_seconds(const char *text, double *out);

/* A decimal whole number from MIN to MAX (digits only). */
bool parse_number(const char *text, uint32_t min, uint32_t max, uint32_t *out);

/* Permission bits in octal, at most 0777. */
bool parse_mode(const char *text, uint32_t *out);

/* ro, rw, cow, rx, rwx, cowx. */
bool parse_protection(const char *text, uint32_t *out);

/* The short word for a protection ("rw"), "?" if unknown. */
const char *protection_word(uint32_t protection);

/* The namespace of NAME ("Local\x", "Global\x" or "x") and its full form
 * in FULL ("Local\x").  Returns 0, or SHMAP_EBADNAME / SHMAP_ENAMETOOLONG
 * for what is plainly not a name. */
int name_parse(const char *name, uint32_t *scope, char *full, size_t size);

/* True unless the namespace directory is known to be absent (checked
 * without creating it, as the library would). */
bool namespace_exists(uint32_t scope);

/* ---- Formatting ---------------------------------------------------------- */

/* Human size: "512", "4.0K", "64K", "1.0M", "100M". */
void format_size(uint64_t bytes, char *buf, size_t size);

/* NAME for text output: control bytes become '?', so a line stays a line. */
void text_name(const char *name, char *buf, size_t size);

/* Display width of S (UTF-8 characters, roughly). */
size_t text_width(const char *s);

/* Writes S as a JSON string.  Bytes that are not valid UTF-8 are written
 * as lone surrogates \udc80..\udcff (Python's surrogateescape), so every
 * name survives the trip exactly. */
void json_string(FILE *out, const char *s);

/* The name of user UID, or its number; valid until the next call. */
const char *user_name(uint32_t uid);

/* Flushes stdout and returns STATUS, or reports a write error.  On a closed
 * pipe the process dies of SIGPIPE, as any filter would. */
int output_finish(int status);

/* Called when writing to stdout failed with ERR: dies of SIGPIPE for EPIPE,
 * otherwise reports it; returns the exit status. */
int output_failed(int err);

/* ---- Holding an object until a signal ------------------------------------ */

/* Blocks SIGINT, SIGTERM and SIGHUP, the signals that end a hold or a wait,
 * and stores them in SIGNALS.  Called before an object is opened, so that
 * no signal is lost or ends the process while it holds the name. */
void hold_signals_block(sigset_t *signals);

/* Waits for one of SIGNALS (blocked) for ever, or with TIMED until SECONDS
 * pass. */
void hold_until_signal(const sigset_t *signals, bool timed, double seconds);

/* ---- Progress on stderr -------------------------------------------------- */

struct progress {
    char label[64];
    uint64_t total; /* bytes; 0 when not known in advance */
    uint64_t done;
    bool terminal;      /* stderr is a terminal */
    bool shown;         /* a bar is on the screen */
    int drawn_permille; /* what the bar last showed */
    uint64_t drawn_bytes;
};

/* A bar appears only when stderr is a terminal and the transfer reaches
 * 8 MiB (TOTAL, or bytes done when TOTAL is 0). */
void progress_begin(struct progress *p, const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_end(struct progress *p);

/* ---- Objects of the store ------------------------------------------------ */

struct object_row;

/* What one object type contributes to listings. */
struct object_type {
    uint32_t type;
    const char *word; /* "mapping" */
    bool has_data;    /* size and protection mean something */
    /* Reads the type's state from OBJ (its raw header) into ROW: the text
     * of the STATE column, and for a synchronization object ROW->sync. */
    void (*read_state)(const shmap_object_info *obj, struct object_row *row);
};

/* The type's description, or NULL for an unreadable or unknown header. */
const struct object_type *object_type_find(uint32_t type);

/* The STATE text of a synchronization object: mutex "free", "owned by tid
 * N (xR)" or "abandoned"; event "set" or "not set", then ", manual" or
 * ", auto"; semaphore "count C/max M". */
void sync_state_format(const shmap_sync_info *info, char *buf, size_t size);

/* One object, copied out of shmap_object_info. */
struct object_row {
    char name[SHMAP_NAME_BUF];
    uint32_t scope;
    uint32_t type, protection, flags, mode, owner_uid, creator_pid;
    uint64_t size, dev, ino;
    bool stale, file_backed;
    char *file_path; /* NULL unless file-backed */
    char state[48];
    bool sync_valid;                   /* a synchronization object whose state was read */
    shmap_sync_info sync;              /* its state, if so */
    size_t holder_first, holder_count; /* range of the holder table */
};

/* Fills ROW from OBJ.  Returns 0 or SHMAP_ENOMEM. */
int object_row_fill(struct object_row *row, const shmap_object_info *obj, uint32_t scope);
void object_row_clear(struct object_row *row);

struct object_table {
    struct object_row *rows;
    size_t count, capacity;
};

/* Appends the objects of namespace SCOPE (none if it does not exist).
 * Returns 0 or a shmap error. */
int object_table_load(struct object_table *t, uint32_t scope);
void object_table_sort(struct object_table *t);
void object_table_free(struct object_table *t);

/* A process holding an object: who holds the flock of its object file. */
struct holder {
    uint64_t dev, ino;
    pid_t pid; /* 0 when /proc/locks cannot say */
};

/* Every flock held on the system, sorted by file then pid, no duplicates. */
struct holder_table {
    struct holder *holders;
    size_t count;
};

/* Reads /proc/locks.  Returns 0, or an errno value. */
int holder_table_load(struct holder_table *t);
void holder_table_free(struct holder_table *t);

/* Sets each row's holder range. */
void holder_table_attach(const struct holder_table *t, struct object_table *objects);
void holder_table_attach_row(const struct holder_table *t, struct object_row *row);

/* Writes the holders' pids as "12,34" (at most LIMIT, then ",+N"). */
void holders_format(const struct holder_table *t, const struct object_row *row, size_t limit,
                    char *buf, size_t size);

/* Writes the fields every JSON description of an object has, without the
 * braces, each but the first preceded by ",". */
void json_object_fields(FILE *out, const struct holder_table *t, const struct object_row *row);

/* "local" or "global". */
const char *scope_word(uint32_t scope);

#endif
