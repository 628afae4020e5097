/* shmap.c - the shmap command-line tool: lists, inspects, creates, reads,
 * writes and removes the named objects of the shmap store, and signals,
 * resets and waits on its synchronization objects.  This file
 * dispatches to the commands (tools/cmd_*.c); `shmap --help` lists them
 * and docs/shmap.1 describes them, with the exit statuses. */
#include "cli.h"

#include <signal.h>
#include <string.h>

static const struct command *const commands[] = {
    &cmd_ls,           &cmd_info,         &cmd_create,
    &cmd_create_mutex, &cmd_create_event, &cmd_create_semaphore,
    &cmd_signal,       &cmd_reset,        &cmd_wait,
    &cmd_cat,          &cmd_write,        &cmd_rm,
    &cmd_gc,
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static const struct command *command_find(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

static int main_help(void)
{
    fputs("usage: shmap COMMAND [ARGS]\n"
          "       shmap COMMAND --help | shmap --help | shmap --version\n"
          "\n"
          "Named shared memory with Win32 file-mapping semantics, and named mutexes,\n"
          "events and semaphores: names are Local\\NAME (or just NAME: your own) or\n"
          "Global\\NAME (every user's, as its mode allows).\n"
          "\n"
          "Commands:\n",
          stdout);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        printf("  %-16s  %s\n", commands[i]->name, commands[i]->summary);
    fputs("\n"
          "The store is $SHMAP_ROOT (default /dev/shm/shmap).  Exit status: 0 ok, 1 error,\n"
          "2 bad usage or argument, 3 not found, 4 exists, 5 access denied, 6 wrong type,\n"
          "7 store unsafe or corrupt, 8 wait timed out, 9 wait got an abandoned mutex.\n"
          "See shmap(1).\n",
          stdout);
    return output_finish(EXIT_OK);
}

static int main_version(void)
{
    printf("shmap %s\n", SHMAP_VERSION_STRING);
    return output_finish(EXIT_OK);
}

/* `shmap help [COMMAND]`, as `shmap [COMMAND] --help`. */
static int help_command(int argc, char **argv)
{
    if (argc < 3)
        return main_help();
    const struct command *cmd = command_find(argv[2]);
    if (!cmd)
        return fail(EXIT_USAGE, argv[2], "unknown command; try 'shmap --help'");
    return command_help(cmd);
}

int main(int argc, char **argv)
{
    /* A write to a closed pipe is an error to clean up after, not death
     * while holding a name (output_failed re-raises it afterwards). */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2)
        return fail(EXIT_USAGE, NULL, "missing command; try 'shmap --help'");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return main_help();
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
        return main_version();
    if (strcmp(name, "help") == 0)
        return help_command(argc, argv);
    const struct command *cmd = command_find(name);
    if (!cmd)
        return fail(EXIT_USAGE, name,
                    name[0] == '-' ? "unknown option; try 'shmap --help'"
                                   : "unknown command; try 'shmap --help'");
    return cmd->run(cmd, argc - 1, argv + 1);
}
