/* cmd_sync_create.c - `shmap create-mutex`, `shmap create-event` and
 * `shmap create-semaphore`: create (or open) a named synchronization object
 * and hold it until a signal or a timeout, as `shmap create` holds a
 * mapping, so that shell scripts and C programs can share it. */
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* Options without a short form. */
enum { OPT_OWNED = 1000, OPT_MANUAL, OPT_SET, OPT_MAX, OPT_INITIAL };

struct sync_create_args {
    const char *name;
    uint32_t type;  /* SHMAP_TYPE_MUTEX, _EVENT or _SEMAPHORE */
    uint32_t flags; /* SHMAP_CREATE_NEW and the type's creation flags */
    uint32_t mode;
    uint32_t initial, maximum; /* semaphore */
    bool maximum_given;
    bool hold_for_given;
    double hold_seconds;
    bool help_shown; /* --help: nothing more to do */
};

/* ---- Arguments ----------------------------------------------------------- */

/* Each create-TYPE command's options: its own, then those they all have. */
static const struct option mutex_options[] = {
    {"owned", no_argument, NULL, OPT_OWNED}, {"mode", required_argument, NULL, 'm'},
    {"new", no_argument, NULL, 'n'},         {"for", required_argument, NULL, 't'},
    {"help", no_argument, NULL, OPT_HELP},   {NULL, 0, NULL, 0},
};

static const struct option event_options[] = {
    {"manual", no_argument, NULL, OPT_MANUAL},
    {"set", no_argument, NULL, OPT_SET},
    {"mode", required_argument, NULL, 'm'},
    {"new", no_argument, NULL, 'n'},
    {"for", required_argument, NULL, 't'},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static const struct option semaphore_options[] = {
    {"max", required_argument, NULL, OPT_MAX},
    {"initial", required_argument, NULL, OPT_INITIAL},
    {"mode", required_argument, NULL, 'm'},
    {"new", no_argument, NULL, 'n'},
    {"for", required_argument, NULL, 't'},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* A count of a semaphore: 0 (1 for the maximum) to INT32_MAX. */
static int count_option(const struct command *self, uint32_t min, uint32_t *out)
{
    return parse_number(optarg, min, INT32_MAX, out)
               ? EXIT_OK
               : fail_usage(self, optarg,
                            min ? "bad maximum (1 to 2147483647)"
                                : "bad initial count (0 to 2147483647)");
}

static int sync_create_option(const struct command *self, int opt, struct sync_create_args *a)
{
    switch (opt) {
    case 'm':
        return parse_mode(optarg, &a->mode)
                   ? EXIT_OK
                   : fail_usage(self, optarg, "bad mode (octal, at most 0777)");
    case 'n':
        a->flags |= SHMAP_CREATE_NEW;
        return EXIT_OK;
    case 't':
        a->hold_for_given = true;
        return parse_seconds(optarg, &a->hold_seconds)
                   ? EXIT_OK
                   : fail_usage(self, optarg, "bad number of seconds");
    case OPT_OWNED:
        a->flags |= SHMAP_MUTEX_INITIAL_OWNER;
        return EXIT_OK;
    case OPT_MANUAL:
        a->flags |= SHMAP_EVENT_MANUAL_RESET;
        return EXIT_OK;
    case OPT_SET:
        a->flags |= SHMAP_EVENT_INITIAL_SET;
        return EXIT_OK;
    case OPT_MAX:
        a->maximum_given = true;
        return count_option(self, 1, &a->maximum);
    default: /* OPT_INITIAL */
        return count_option(self, 0, &a->initial);
    }
}

/* Checks what the options left: one NAME, and a semaphore's counts. */
static int sync_create_operands(const struct command *self, int argc, char **argv,
                                struct sync_create_args *a)
{
    if (!operands_check(self, argc - optind, 1, 1, "NAME"))
        return EXIT_USAGE;
    a->name = argv[optind];
    if (a->type != SHMAP_TYPE_SEMAPHORE)
        return EXIT_OK;
    if (!a->maximum_given)
        return fail_usage(self, a->name, "missing --max");
    if (a->initial > a->maximum)
        return fail_usage(self, a->name, "the initial count is above the maximum");
    return EXIT_OK;
}

/* Parses the command line into A; returns EXIT_OK to go on, or the status to
 * exit with (also after --help, with A->help_shown set). */
static int sync_create_parse(const struct command *self, int argc, char **argv,
                             const struct option *options, struct sync_create_args *a)
{
    int opt, status;
    while ((opt = option_next(self, argc, argv, options)) != -1) {
        if (opt == OPT_BAD)
            return EXIT_USAGE;
        if (opt == OPT_HELP) {
            a->help_shown = true;
            return command_help(self);
        }
        if ((status = sync_create_option(self, opt, a)) != EXIT_OK)
            return status;
    }
    return sync_create_operands(self, argc, argv, a);
}

/* ---- Creating and holding ------------------------------------------------ */

static int sync_create(const struct sync_create_args *a, shmap_sync **s)
{
    switch (a->type) {
    case SHMAP_TYPE_MUTEX:
        return shmap_mutex_create(a->name, a->flags, a->mode, s);
    case SHMAP_TYPE_EVENT:
        return shmap_event_create(a->name, a->flags, a->mode, s);
    default:
        return shmap_semaphore_create(a->name, a->initial, a->maximum, a->flags, a->mode, s);
    }
}

/* Prints the line scripts wait for, "created NAME (TYPE, STATE), holding
 * it; pid PID".  Returns 0 or the errno of stdout. */
static int sync_announce(shmap_sync *s, int status)
{
    shmap_sync_info info;
    char name[SHMAP_NAME_BUF], state[64];
    shmap_sync_query(s, &info);
    text_name(info.name, name, sizeof name);
    sync_state_format(&info, state, sizeof state);
    const struct object_type *type = object_type_find(info.type);
    printf("%s %s (%s, %s), holding it; pid %ld\n",
           status == SHMAP_EXISTED ? "opened existing" : "created", name, type ? type->word : "?",
           state, (long)getpid());
    return fflush(stdout) == 0 ? 0 : errno;
}

static int sync_create_and_hold(const struct sync_create_args *a, const sigset_t *signals)
{
    shmap_sync *s;
    int rc = sync_create(a, &s);
    if (rc < 0)
        return fail_code(a->name, rc);
    int err = sync_announce(s, rc);
    if (!err)
        hold_until_signal(signals, a->hold_for_given, a->hold_seconds);
    if (a->type == SHMAP_TYPE_MUTEX)
        while (shmap_mutex_release(s) == 0)
            ;            /* owned since --owned: let go of it rather than abandon it */
    shmap_sync_close(s); /* before output_failed may die of SIGPIPE */
    return err ? output_failed(err) : EXIT_OK;
}

static int sync_create_run(const struct command *self, int argc, char **argv, uint32_t type,
                           const struct option *options)
{
    struct sync_create_args args = {.type = type, .mode = 0600};
    int status = sync_create_parse(self, argc, argv, options, &args);
    if (status != EXIT_OK || args.help_shown)
        return status;
    sigset_t signals;
    hold_signals_block(&signals);
    return sync_create_and_hold(&args, &signals);
}

static int create_mutex_run(const struct command *self, int argc, char **argv)
{
    return sync_create_run(self, argc, argv, SHMAP_TYPE_MUTEX, mutex_options);
}

static int create_event_run(const struct command *self, int argc, char **argv)
{
    return sync_create_run(self, argc, argv, SHMAP_TYPE_EVENT, event_options);
}

static int create_semaphore_run(const struct command *self, int argc, char **argv)
{
    return sync_create_run(self, argc, argv, SHMAP_TYPE_SEMAPHORE, semaphore_options);
}

/* ---- The commands -------------------------------------------------------- */

#define SYNC_CREATE_COMMON_HELP                                                                    \
    "  -m, --mode MODE    permission bits of the name, octal (default 0600)\n"                     \
    "  -n, --new          fail if the name exists (exit status 4)\n"                               \
    "  -t, --for SECONDS  hold it this long, then exit (e.g. 2, 0.5)\n"                            \
    "  -h, --help         show this help\n"

const struct command cmd_create_mutex = {
    "create-mutex",
    "create (or open) a mutex and hold it until interrupted",
    "usage: shmap create-mutex NAME [--owned] [options]\n"
    "\n"
    "Creates the mutex NAME, free unless told otherwise, or opens it if it\n"
    "exists (then --owned is ignored, as in Win32), and holds it until\n"
    "SIGINT, SIGTERM or SIGHUP, or until --for SECONDS pass; then closes it\n"
    "(the name goes with its last holder).  When it holds the object it\n"
    "prints one line and flushes it: \"created NAME (mutex, free), holding\n"
    "it; pid PID\" (or \"opened existing ...\", with the mutex's state).\n"
    "\n"
    "      --owned        a new mutex starts owned by this process's thread,\n"
    "                     and is released when it exits (not abandoned)\n" SYNC_CREATE_COMMON_HELP,
    create_mutex_run,
};

const struct command cmd_create_event = {
    "create-event",
    "create (or open) an event and hold it until interrupted",
    "usage: shmap create-event NAME [--manual] [--set] [options]\n"
    "\n"
    "Creates the event NAME, auto-reset (a wait that gets it resets it) and\n"
    "not set unless told otherwise, or opens it if it exists (then --manual\n"
    "and --set are ignored), and holds it until SIGINT, SIGTERM or SIGHUP,\n"
    "or until --for SECONDS pass; then closes it (the name goes with its\n"
    "last holder).  When it holds the object it prints one line and flushes\n"
    "it: \"created NAME (event, not set, auto), holding it; pid PID\" (or\n"
    "\"opened existing ...\", with the event's state).\n"
    "\n"
    "      --manual       manual-reset: once set, it lets every wait through\n"
    "                     until 'shmap reset'\n"
    "      --set          it starts set\n" SYNC_CREATE_COMMON_HELP,
    create_event_run,
};

const struct command cmd_create_semaphore = {
    "create-semaphore",
    "create (or open) a semaphore and hold it until interrupted",
    "usage: shmap create-semaphore NAME --max M [--initial N] [options]\n"
    "\n"
    "Creates the semaphore NAME with the count N (default 0) and the maximum\n"
    "M, or opens it if it exists (then the counts are ignored), and holds it\n"
    "until SIGINT, SIGTERM or SIGHUP, or until --for SECONDS pass; then\n"
    "closes it (the name goes with its last holder).  When it holds the\n"
    "object it prints one line and flushes it: \"created NAME (semaphore,\n"
    "count N/max M), holding it; pid PID\" (or \"opened existing ...\", with\n"
    "the semaphore's state).\n"
    "\n"
    "      --max M        its maximum count, 1 to 2147483647 (required)\n"
    "      --initial N    its count to begin with, 0 to M (default 0)\n" SYNC_CREATE_COMMON_HELP,
    create_semaphore_run,
};
