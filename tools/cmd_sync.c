/* cmd_sync.c - `shmap signal` (set an event, release a semaphore), `shmap
 * reset` (reset an event) and `shmap wait` (wait on a mutex, event or
 * semaphore, with a timeout; SIGINT, SIGTERM or SIGHUP interrupt it without
 * taking anything): what lets shell scripts synchronize with programs. */
#include "cli.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* ---- Opening an object of any synchronization type ----------------------- */

/* Opens the existing mutex, event or semaphore NAME, whichever it is, and
 * stores its type in *TYPE.  Returns 0 or a shmap error (SHMAP_ETYPE: it is
 * a mapping).  Never creates anything. */
static int sync_open_any(const char *name, shmap_sync **s, uint32_t *type)
{
    static int (*const opens[])(const char *, shmap_sync **) = {
        shmap_event_open, shmap_semaphore_open, shmap_mutex_open};
    static const uint32_t types[] = {SHMAP_TYPE_EVENT, SHMAP_TYPE_SEMAPHORE, SHMAP_TYPE_MUTEX};
    char full[SHMAP_NAME_BUF];
    uint32_t scope;
    int rc = name_parse(name, &scope, full, sizeof full);
    if (rc < 0)
        return rc;
    if (!namespace_exists(scope))
        return SHMAP_ENOENT;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        rc = opens[i](name, s);
        *type = types[i];
        if (rc != SHMAP_ETYPE)
            return rc < 0 ? rc : 0;
    }
    return SHMAP_ETYPE;
}

/* As sync_open_any, reporting a failure; returns the exit status. */
static int sync_open_or_fail(const char *name, shmap_sync **s, uint32_t *type)
{
    int rc = sync_open_any(name, s, type);
    if (rc == SHMAP_ETYPE)
        return fail(EXIT_WRONG_TYPE, name, "not a mutex, event or semaphore (a mapping)");
    return rc < 0 ? fail_code(name, rc) : EXIT_OK;
}

static const char *type_word(uint32_t type)
{
    const struct object_type *t = object_type_find(type);
    return t ? t->word : "?";
}

/* The number value of a command's only option besides --help. */
struct number_option {
    uint32_t min, max;
    const char *bad; /* the usage error for a bad value */
    uint32_t value;
    bool given;
};

/* Parses such a command's line: the option into N, and one NAME.  Returns
 * EXIT_OK to go on, or the status to exit with (EXIT_OK too after --help,
 * with *HELP_SHOWN set). */
static int number_option_parse(const struct command *self, int argc, char **argv,
                               const struct option *options, struct number_option *n,
                               bool *help_shown)
{
    int opt;
    while ((opt = option_next(self, argc, argv, options)) != -1) {
        if (opt == OPT_BAD)
            return EXIT_USAGE;
        if (opt == OPT_HELP) {
            *help_shown = true;
            return command_help(self);
        }
        n->given = true;
        if (!parse_number(optarg, n->min, n->max, &n->value))
            return fail_usage(self, optarg, n->bad);
    }
    return operands_check(self, argc - optind, 1, 1, "NAME") ? EXIT_OK : EXIT_USAGE;
}

/* ---- signal -------------------------------------------------------------- */

static int semaphore_release(const char *name, shmap_sync *s, uint32_t count)
{
    int rc = shmap_semaphore_release(s, count, NULL);
    if (rc != SHMAP_ERANGE)
        return rc < 0 ? fail_code(name, rc) : EXIT_OK;
    shmap_sync_info info;
    shmap_sync_query(s, &info);
    return fail(exit_status_for(rc), name, "adding %u would pass the maximum (count %u/max %u)",
                count, info.count, info.maximum);
}

static int signal_object(const struct command *self, const char *name, shmap_sync *s, uint32_t type,
                         uint32_t count, bool count_given)
{
    if (type == SHMAP_TYPE_MUTEX)
        return fail(EXIT_WRONG_TYPE, name,
                    "a mutex: only the thread owning it releases it "
                    "('shmap wait' takes and releases a free or abandoned one)");
    if (type == SHMAP_TYPE_SEMAPHORE)
        return semaphore_release(name, s, count);
    if (count_given)
        return fail_usage(self, name, "an event: --count is for semaphores");
    int rc = shmap_event_set(s);
    return rc < 0 ? fail_code(name, rc) : EXIT_OK;
}

static int signal_run(const struct command *self, int argc, char **argv)
{
    static const struct option options[] = {
        {"count", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct number_option count = {1, INT32_MAX, "bad count (1 to 2147483647)", 1, false};
    bool help_shown = false;
    int status = number_option_parse(self, argc, argv, options, &count, &help_shown);
    if (status != EXIT_OK || help_shown)
        return status;
    const char *name = argv[optind];
    shmap_sync *s;
    uint32_t type;
    if ((status = sync_open_or_fail(name, &s, &type)) != EXIT_OK)
        return status;
    status = signal_object(self, name, s, type, count.value, count.given);
    shmap_sync_close(s);
    return status;
}

const struct command cmd_signal = {
    "signal",
    "set an event, or release a semaphore",
    "usage: shmap signal NAME [--count N]\n"
    "\n"
    "Sets the event NAME (a manual-reset event then lets every wait through\n"
    "until it is reset; an auto-reset one lets one wait through), or adds N\n"
    "(default 1) to the count of the semaphore NAME: a count that would pass\n"
    "the maximum is refused (exit status 2) and nothing changes.  A mutex is\n"
    "refused (exit status 6): only the thread owning it releases it, and\n"
    "'shmap wait' takes and releases a free or abandoned one.\n"
    "\n"
    "  -c, --count N  add N to a semaphore's count (default 1)\n"
    "  -h, --help     show this help\n",
    signal_run,
};

/* ---- reset --------------------------------------------------------------- */

static int reset_run(const struct command *self, int argc, char **argv)
{
    const char *name;
    int parsed = name_only_args(self, argc, argv, &name);
    if (parsed != EXIT_OK)
        return parsed;
    shmap_sync *s;
    uint32_t type;
    int status = sync_open_or_fail(name, &s, &type);
    if (status != EXIT_OK)
        return status;
    int rc = type == SHMAP_TYPE_EVENT ? shmap_event_reset(s) : SHMAP_ETYPE;
    shmap_sync_close(s);
    if (rc == SHMAP_ETYPE)
        return fail(EXIT_WRONG_TYPE, name, "a %s: only events are reset", type_word(type));
    return rc < 0 ? fail_code(name, rc) : EXIT_OK;
}

const struct command cmd_reset = {
    "reset",
    "reset an event",
    "usage: shmap reset NAME\n"
    "\n"
    "Resets the event NAME: from then on, waits on it wait until it is set\n"
    "again.  Another type of object is refused (exit status 6).\n"
    "\n"
    "  -h, --help     show this help\n",
    reset_run,
};

/* ---- wait: interruption -------------------------------------------------- */

/* A thread that takes SIGINT, SIGTERM and SIGHUP (blocked in every thread)
 * and sets an unnamed event, which the wait waits on as well: so a signal
 * ends the wait without taking the object, or comes too late to, never in
 * between.  Static, and its event never closed: the thread may run until
 * the process exits. */
static struct interrupter {
    shmap_sync *event;
    sigset_t signals;
    atomic_int signo; /* the signal that came, 0 before */
} interrupter;

static void *interrupter_run(void *arg)
{
    struct interrupter *in = arg;
    int sig;
    while ((sig = sigwaitinfo(&in->signals, NULL)) < 0 && errno == EINTR)
        ;
    if (sig > 0) {
        atomic_store(&in->signo, sig);
        shmap_event_set(in->event);
    }
    return NULL;
}

/* Starts the interrupter for SIGNALS, blocked in the calling thread. */
static int interrupter_start(const char *name, const sigset_t *signals)
{
    struct interrupter *in = &interrupter;
    in->signals = *signals;
    atomic_init(&in->signo, 0);
    int rc = shmap_event_create(NULL, SHMAP_EVENT_MANUAL_RESET, 0600, &in->event);
    if (rc < 0)
        return fail_code(name, rc);
    pthread_t thread;
    int err = pthread_create(&thread, NULL, interrupter_run, in);
    if (err)
        return fail(EXIT_ERROR, name, "cannot start a thread: %s", strerror(err));
    pthread_detach(thread);
    return EXIT_OK;
}

/* Dies of SIG, as a process interrupted by it should (for the shell: exit
 * status 128 + SIG), after the caller let go of everything. */
static int die_of_signal(int sig)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    fflush(stdout);
    signal(sig, SIG_DFL); /* also if it was ignored, as for background jobs */
    raise(sig);           /* pending: blocked in this thread */
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return 128 + sig;
}

/* ---- wait: waiting ------------------------------------------------------- */

#define SLICE_MS 50

/* The CLOCK_MONOTONIC time MS milliseconds from now. */
static struct timespec time_after(uint32_t ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long ns = t.tv_nsec + (long)(ms % 1000) * 1000000L;
    t.tv_sec += (time_t)(ms / 1000) + ns / 1000000000L;
    t.tv_nsec = ns % 1000000000L;
    return t;
}

static bool time_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec != b->tv_sec ? a->tv_sec < b->tv_sec : a->tv_nsec < b->tv_nsec;
}

/* Without futex_waitv (kernels before 5.16, SHMAP_ENOTSUP): waits in slices
 * of SLICE_MS, looking for a signal between them. */
static int wait_in_slices(shmap_sync *s, uint32_t timeout_ms, bool *interrupted)
{
    bool forever = timeout_ms == SHMAP_INFINITE;
    struct timespec deadline = time_after(forever ? 0 : timeout_ms), slice;
    int rc;
    do {
        if ((*interrupted = atomic_load(&interrupter.signo) != 0))
            return 0;
        slice = time_after(SLICE_MS);
        if (!forever && time_before(&deadline, &slice))
            slice = deadline;
        rc = shmap_wait_until(s, &slice);
    } while (rc == SHMAP_ETIMEDOUT && (forever || time_before(&slice, &deadline)));
    return rc;
}

/* Waits until S is taken (0 or SHMAP_ABANDONED), the timeout passes
 * (SHMAP_ETIMEDOUT) or a signal comes (*INTERRUPTED, nothing taken). */
static int wait_or_interrupt(shmap_sync *s, uint32_t timeout_ms, bool *interrupted)
{
    shmap_sync *handles[2] = {s, interrupter.event};
    int index = 0;
    int rc = shmap_wait_multiple(handles, 2, false, timeout_ms, &index);
    if (rc == SHMAP_ENOTSUP)
        return wait_in_slices(s, timeout_ms, interrupted);
    *interrupted = rc >= 0 && index == 1; /* the lower index wins: S if both */
    return rc;
}

/* What the wait came to, once S is closed: the exit status. */
static int wait_outcome(const char *name, int rc, uint32_t timeout_ms)
{
    if (rc == SHMAP_ETIMEDOUT && timeout_ms == 0)
        return fail(EXIT_TIMEOUT, name, "cannot be taken now (timeout 0)");
    if (rc == SHMAP_ETIMEDOUT)
        return fail(EXIT_TIMEOUT, name, "timed out after %u ms", timeout_ms);
    if (rc == SHMAP_ABANDONED)
        return fail(EXIT_ABANDONED, name,
                    "abandoned: its owner died holding it (taken and released)");
    return rc < 0 ? fail_code(name, rc) : EXIT_OK;
}

static int wait_object(const char *name, uint32_t timeout_ms, const sigset_t *signals)
{
    shmap_sync *s;
    uint32_t type;
    int status = sync_open_or_fail(name, &s, &type);
    if (status != EXIT_OK)
        return status;
    if ((status = interrupter_start(name, signals)) != EXIT_OK) {
        shmap_sync_close(s);
        return status;
    }
    bool interrupted = false;
    int rc = wait_or_interrupt(s, timeout_ms, &interrupted);
    if (!interrupted && rc >= 0 && type == SHMAP_TYPE_MUTEX) {
        int released = shmap_mutex_release(s); /* taken to see it free: given back */
        rc = released < 0 ? released : rc;
    }
    shmap_sync_close(s);
    if (interrupted)
        return die_of_signal(atomic_load(&interrupter.signo));
    return wait_outcome(name, rc, timeout_ms);
}

static int wait_run(const struct command *self, int argc, char **argv)
{
    static const struct option options[] = {
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct number_option timeout = {0, SHMAP_INFINITE - 1,
                                    "bad timeout (milliseconds, 0 to 4294967294)", SHMAP_INFINITE,
                                    false};
    bool help_shown = false;
    int status = number_option_parse(self, argc, argv, options, &timeout, &help_shown);
    if (status != EXIT_OK || help_shown)
        return status;
    sigset_t signals;
    hold_signals_block(&signals); /* before the interrupter thread exists */
    return wait_object(argv[optind], timeout.value, &signals);
}

const struct command cmd_wait = {
    "wait",
    "wait on a mutex, event or semaphore",
    "usage: shmap wait NAME [--timeout MS]\n"
    "\n"
    "Waits until the synchronization object NAME can be taken, and takes it:\n"
    "an auto-reset event is reset, a semaphore's count goes down by one, a\n"
    "set manual-reset event stays set, and a mutex is taken and released at\n"
    "once (so the wait ends when it is free).  Exit status 0 when taken; 8\n"
    "when the timeout passed first; 9 for a mutex whose owner died holding\n"
    "it (taken and released: it is free and consistent again).  SIGINT,\n"
    "SIGTERM or SIGHUP end the wait without taking anything: shmap then dies\n"
    "of that signal (exit status 130, 143 or 129 in the shell).\n"
    "\n"
    "  -t, --timeout MS  give up after MS milliseconds (0: only try; default:\n"
    "                    wait for ever)\n"
    "  -h, --help        show this help\n",
    wait_run,
};
