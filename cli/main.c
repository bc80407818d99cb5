/*
 * main.c - the cowcopy command: a table of subcommands (as git and curl).
 *
 *   cowcopy cp [OPTIONS] SRC DST     copy, cloning where the filesystem can
 *   cowcopy dedupe [OPTIONS] PATH... make identical files share storage
 *   cowcopy --help | --version
 */
#include "cli.h"

#include <string.h>

static const struct {
    const char *name;
    cli_command_fn run;
    const char *summary;
} commands[] = {
    {"cp", cmd_cp, "copy files, sharing their data blocks where the filesystem can"},
    {"dedupe", cmd_dedupe, "make identical files share their data blocks"},
};

static void print_usage(FILE *f)
{
    fputs("Usage: cowcopy COMMAND [OPTIONS] [ARGS]...\n"
          "Copy files so that they share storage (clone) on copy-on-write filesystems,\n"
          "falling back to the fastest correct copy elsewhere.\n\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\nRun 'cowcopy COMMAND --help' for a command's options.\n"
          "Exit status: 0 success, 1 some file failed, 2 usage error.\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(NULL, "missing command");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (strcmp(name, "help") == 0 && argc > 2) {
            char *help_argv[] = {argv[2], "--help", NULL};
            for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                if (strcmp(commands[i].name, argv[2]) == 0)
                    return cli_finish_stdout(commands[i].run(2, help_argv));
            return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
        }
        print_usage(stdout);
        return cli_finish_stdout(EXIT_OK);
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("cowcopy %s\n", cowcopy_version());
        return cli_finish_stdout(EXIT_OK);
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0) {
            cli_install_signal_cleanup();
            return cli_finish_stdout(commands[i].run(argc - 1, argv + 1));
        }
    return cli_usage_error(NULL, "unknown command '%s'", name);
}
