#include "recordings.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cli_cmd.h"
#include "err.h"
#include "http_client.h"
#include "table.h"

static const struct option options[] = {
    CLI_GLOBAL_OPTIONS,
    {NULL, 0, NULL, 0},
};

void recordings_usage(FILE *f)
{
    fputs("Usage: exo recording COMMAND [ARGS] [flags]\n"
          "\n"
          "Commands:\n"
          "  upload SESSION FILE             store FILE (asciicast v2 or v3) as the session's\n"
          "                                  recording, replacing an earlier one; the server\n"
          "                                  checks every line and takes up to its\n"
          "                                  EXO_CAST_MAX_BYTES (64 MiB by default)\n"
          "  download SESSION [-o FILE]      write the session's recording to FILE (made\n"
          "                                  whole or not at all), or to stdout without -o\n"
          "                                  or with -o -\n"
          "\n"
          "Both stream: memory stays flat whatever the size. --timeout bounds connecting and\n"
          "any stall of the transfer, not its whole length. upload prints a table with the\n"
          "columns SESSION and BYTES, or with --output json the API's answer as received.\n"
          "After \"recording\", -o and --output name download's FILE: give table|json before\n"
          "the command (exo -o json recording upload ...).\n"
          "\n" CLI_GLOBAL_HELP "\n"
          "Exit status: 0 done, 1 the server refused the request or could not be reached,\n"
          "or FILE could not be written, 2 bad command line or FILE cannot be read (nothing\n"
          "was sent).\n",
          f);
}

static int add_upload(table *t, const cJSON *o)
{
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(o, "session_id");
    const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(o, "bytes");
    if (!cJSON_IsNumber(sid) || !cJSON_IsNumber(bytes))
        return -1;
    buf a = BUF_INIT, b = BUF_INIT;
    buf_printf(&a, "%.0f", sid->valuedouble);
    buf_printf(&b, "%.0f", bytes->valuedouble);
    table_add_row(t, (const char *const[]){a.ptr, b.ptr});
    buf_free(&a);
    buf_free(&b);
    return 0;
}

static const char *const headers[] = {"SESSION", "BYTES"};
static const cli_view view = {headers, 2, add_upload, "stored recording", ""};

static int upload(cli_opts *o, const char *session, const char *file)
{
    FILE *f = fopen(file, "rb");
    struct stat st;
    if (!f)
        return cli_usage_error("cannot read %s: %s", file, strerror(errno));
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return cli_usage_error("%s is not a regular file (its size must be known)", file);
    }
    int rc = cli_opts_finish(o);
    if (rc) {
        fclose(f);
        return rc;
    }
    buf path = BUF_INIT;
    buf_printf(&path, "/api/v1/sessions/%s/cast", session);
    http_stream s = {f, (long long)st.st_size, "application/x-asciicast", NULL};
    http_reply r = HTTP_REPLY_INIT;
    exo_err e = EXO_ERR_INIT;
    if (http_client_stream(o, "PUT", path.ptr, &s, &r, &e) < 0) {
        fprintf(stderr, "exo: %s\n", err_msg(&e));
        rc = CLI_EXIT_FAIL;
    } else {
        rc = cli_print(o, &r, NULL, &view);
    }
    http_reply_free(&r);
    err_clear(&e);
    buf_free(&path);
    fclose(f);
    return rc;
}

/* Writes to a temporary file beside FILE, renamed over it once the whole
 * recording is in: FILE is never left half written. */
static int download(cli_opts *o, const char *session, const char *file)
{
    bool to_stdout = !file || strcmp(file, "-") == 0;
    int rc = cli_opts_finish(o);
    if (rc)
        return rc;
    buf tmp = BUF_INIT, path = BUF_INIT;
    FILE *f = stdout;
    if (!to_stdout) {
        buf_printf(&tmp, "%s.XXXXXX", file);
        int fd = mkstemp(tmp.ptr);
        if (fd < 0 || !(f = fdopen(fd, "wb"))) {
            fprintf(stderr, "exo: cannot write %s: %s\n", file, strerror(errno));
            if (fd >= 0)
                close(fd);
            buf_free(&tmp);
            return CLI_EXIT_FAIL;
        }
    }
    buf_printf(&path, "/api/v1/sessions/%s/cast", session);
    http_stream s = {NULL, 0, NULL, f};
    http_reply r = HTTP_REPLY_INIT;
    exo_err e = EXO_ERR_INIT;
    rc = CLI_EXIT_OK;
    if (http_client_stream(o, "GET", path.ptr, &s, &r, &e) < 0) {
        fprintf(stderr, "exo: %s\n", err_msg(&e));
        rc = CLI_EXIT_FAIL;
    }
    if (!to_stdout) {
        if (rc == CLI_EXIT_OK &&
            (fflush(f) != 0 || fsync(fileno(f)) != 0 || ferror(f))) {
            fprintf(stderr, "exo: cannot write %s: %s\n", file, strerror(errno));
            rc = CLI_EXIT_FAIL;
        }
        if (fclose(f) != 0 && rc == CLI_EXIT_OK) {
            fprintf(stderr, "exo: cannot write %s: %s\n", file, strerror(errno));
            rc = CLI_EXIT_FAIL;
        }
        if (rc == CLI_EXIT_OK && rename(tmp.ptr, file) != 0) {
            fprintf(stderr, "exo: cannot write %s: %s\n", file, strerror(errno));
            rc = CLI_EXIT_FAIL;
        }
        if (rc != CLI_EXIT_OK)
            unlink(tmp.ptr);
    }
    http_reply_free(&r);
    err_clear(&e);
    buf_free(&path);
    buf_free(&tmp);
    return rc;
}

static int run(const cli_args *a, cli_opts *o)
{
    const char *sub = a->pos[0];
    bool up = strcmp(sub, "upload") == 0, down = strcmp(sub, "download") == 0;
    if (!up && !down)
        return cli_usage_error("unknown command \"recording %s\" (see exo recording --help)",
                               sub);
    if (up && a->output_given)
        return cli_usage_error("-o/--output FILE is only for exo recording download (give "
                               "table|json before the command)");
    if (cli_args_want(a, "recording", up ? 2 : 1, a->npos < 2 ? "SESSION" : "FILE"))
        return CLI_EXIT_USAGE;
    if (cli_check_id("SESSION", a->pos[1]))
        return CLI_EXIT_USAGE;
    if (down && a->output_given && !*a->output_arg)
        return cli_usage_error("-o/--output is empty");
    return up ? upload(o, a->pos[1], a->pos[2]) : download(o, a->pos[1], a->output_arg);
}

int recordings_main(int argc, char **argv, cli_opts *o)
{
    static const cli_group g = {"recording", options, recordings_usage, "upload or download",
                                true, run};
    return cli_group_main(&g, argc, argv, o);
}
