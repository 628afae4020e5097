/* cmd_create.c - `shmap create` (create or open a mapping and hold it until
 * a signal or a timeout) and `shmap rm` (remove a name). */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

struct create_args {
    const char *name;
    shmap_mapping_config config;
    const char *file_path;
    bool hold_for_given;
    double hold_seconds;
    bool help_shown; /* --help: nothing more to do */
};

/* ---- Arguments ----------------------------------------------------------- */

static int create_option(const struct command *self, int opt, struct create_args *a)
{
    switch (opt) {
    case 'f':
        a->file_path = optarg;
        return EXIT_OK;
    case 'p':
        return parse_protection(optarg, &a->config.protection)
                   ? EXIT_OK
                   : fail_usage(self, optarg, "bad protection (ro, rw, cow, rx, rwx, cowx)");
    case 'm':
        return parse_mode(optarg, &a->config.mode)
                   ? EXIT_OK
                   : fail_usage(self, optarg, "bad mode (octal, at most 0777)");
    case 'r':
        a->config.flags |= SHMAP_RESERVE;
        return EXIT_OK;
    case 'H':
        a->config.flags |= SHMAP_HUGE_PAGES;
        return EXIT_OK;
    case 'n':
        a->config.flags |= SHMAP_CREATE_NEW;
        return EXIT_OK;
    default: /* 't' */
        a->hold_for_given = true;
        return parse_seconds(optarg, &a->hold_seconds)
                   ? EXIT_OK
                   : fail_usage(self, optarg, "bad number of seconds");
    }
}

/* Parses the command line into A; returns EXIT_OK to go on, or the status to
 * exit with (also after --help, with A->help_shown set). */
static int create_parse(const struct command *self, int argc, char **argv, struct create_args *a)
{
    static const struct option options[] = {
        {"file", required_argument, NULL, 'f'},
        {"protection", required_argument, NULL, 'p'},
        {"mode", required_argument, NULL, 'm'},
        {"reserve", no_argument, NULL, 'r'},
        {"huge", no_argument, NULL, 'H'},
        {"new", no_argument, NULL, 'n'},
        {"for", required_argument, NULL, 't'},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    int opt, status;
    while ((opt = option_next(self, argc, argv, options)) != -1) {
        if (opt == OPT_BAD)
            return EXIT_USAGE;
        if (opt == OPT_HELP) {
            a->help_shown = true;
            return command_help(self);
        }
        if ((status = create_option(self, opt, a)) != EXIT_OK)
            return status;
    }
    int operands = argc - optind;
    if (!operands_check(self, operands, a->file_path ? 1 : 2, 2, operands ? "SIZE" : "NAME"))
        return EXIT_USAGE;
    a->name = argv[optind];
    if (operands == 2 && !parse_size(argv[optind + 1], &a->config.size))
        return fail_usage(self, argv[optind + 1], "bad size (e.g. 4096, 64K, 1M, 2G)");
    if (a->file_path && (a->config.flags & (SHMAP_RESERVE | SHMAP_HUGE_PAGES)))
        return fail_usage(self, a->name, "--reserve and --huge are for memory-backed objects");
    if (!a->file_path && a->config.size == 0)
        return fail_usage(self, argv[optind + 1], "size must be at least 1 byte");
    return EXIT_OK;
}

/* ---- The backing file ---------------------------------------------------- */

struct backing_file {
    int fd;
    bool created; /* by us: removed again unless it became an object's */
};

static bool protection_writable(uint32_t protection)
{
    return protection == SHMAP_PROT_READWRITE || protection == SHMAP_PROT_EXECUTE_READWRITE;
}

/* Opens PATH as the protection needs; creates it only for a writable one. */
static int backing_open(const char *path, uint32_t protection, struct backing_file *b)
{
    b->created = false;
    if (!protection_writable(protection)) {
        b->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    } else {
        b->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
        b->created = b->fd >= 0;
        if (b->fd < 0 && errno == EEXIST)
            b->fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
    }
    if (b->fd < 0)
        return fail(exit_status_for_errno(errno), path, "%s", strerror(errno));
    return EXIT_OK;
}

static void backing_close(const char *path, struct backing_file *b, bool keep)
{
    if (b->fd < 0)
        return;
    close(b->fd);
    b->fd = -1;
    if (b->created && !keep)
        unlink(path);
}

/* ---- Holding ------------------------------------------------------------- */

/* Prints the line scripts wait for.  Returns 0 or the errno of stdout. */
static int hold_announce(shmap_mapping *m, int status)
{
    shmap_mapping_info info;
    char name[SHMAP_NAME_BUF], size[16];
    shmap_mapping_query(m, &info);
    text_name(info.name, name, sizeof name);
    format_size(info.size, size, sizeof size);
    printf("%s %s (%s), holding it; pid %ld\n",
           status == SHMAP_EXISTED ? "opened existing" : "created", name, size, (long)getpid());
    return fflush(stdout) == 0 ? 0 : errno;
}

static int create_and_hold(struct create_args *a, const sigset_t *signals)
{
    struct backing_file backing = {-1, false};
    if (a->file_path) {
        int status = backing_open(a->file_path, a->config.protection, &backing);
        if (status != EXIT_OK)
            return status;
        a->config.file_fd = backing.fd;
    }
    shmap_mapping *m;
    int rc = shmap_mapping_create(a->name, &a->config, &m);
    backing_close(a->file_path, &backing, rc == 0);
    if (rc < 0)
        return fail_code(a->name, rc);
    int err = hold_announce(m, rc);
    if (!err)
        hold_until_signal(signals, a->hold_for_given, a->hold_seconds);
    shmap_mapping_close(m); /* before output_failed may die of SIGPIPE */
    return err ? output_failed(err) : EXIT_OK;
}

static int create_run(const struct command *self, int argc, char **argv)
{
    struct create_args args = {.config = SHMAP_MAPPING_CONFIG_INIT};
    int status = create_parse(self, argc, argv, &args);
    if (status != EXIT_OK || args.help_shown)
        return status;
    sigset_t signals;
    hold_signals_block(&signals);
    return create_and_hold(&args, &signals);
}

const struct command cmd_create = {
    "create",
    "create (or open) a mapping and hold it until interrupted",
    "usage: shmap create NAME SIZE [options]\n"
    "       shmap create NAME [SIZE] --file PATH [options]\n"
    "\n"
    "Creates the mapping object NAME of SIZE bytes (4096, 64K, 1M, 2G: binary\n"
    "units), or opens it if it exists, and holds it until SIGINT, SIGTERM or\n"
    "SIGHUP, or until --for SECONDS pass; then closes it (the name goes with\n"
    "its last holder).  When it holds the object it prints one line and\n"
    "flushes it: \"created NAME (SIZE), holding it; pid PID\" (or \"opened\n"
    "existing ...\").\n"
    "\n"
    "  -f, --file PATH        back it by the file PATH (created if missing and\n"
    "                         writable); SIZE defaults to the file's size\n"
    "  -p, --protection PROT  ro, rw (default), cow, rx, rwx or cowx\n"
    "  -m, --mode MODE        permission bits of the name, octal (default 0600)\n"
    "  -r, --reserve          do not commit memory now (sparse)\n"
    "  -H, --huge             back it with transparent huge pages\n"
    "  -n, --new              fail if the name exists (exit status 4)\n"
    "  -t, --for SECONDS      hold it this long, then exit (e.g. 2, 0.5)\n"
    "  -h, --help             show this help\n",
    create_run,
};

/* ---- rm ------------------------------------------------------------------ */

static int rm_run(const struct command *self, int argc, char **argv)
{
    const char *name;
    int parsed = name_only_args(self, argc, argv, &name);
    if (parsed != EXIT_OK)
        return parsed;
    char full[SHMAP_NAME_BUF];
    uint32_t scope;
    int rc = name_parse(name, &scope, full, sizeof full);
    if (rc == 0)
        rc = namespace_exists(scope) ? shmap_unlink(name) : SHMAP_ENOENT;
    return rc < 0 ? fail_code(name, rc) : EXIT_OK;
}

const struct command cmd_rm = {
    "rm",
    "remove a name (its holders keep their handles)",
    "usage: shmap rm NAME\n"
    "\n"
    "Removes NAME from the store, whatever holds it.  Processes holding it keep\n"
    "their handles and views; new opens no longer find it, and the name is\n"
    "free for a new object.\n"
    "\n"
    "  -h, --help     show this help\n",
    rm_run,
};
