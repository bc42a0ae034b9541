#include "cli_opts.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An empty variable counts as unset: `EXO_TOKEN= exo ...` is how people
 * clear one for a single command. */
static const char *env_or_null(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

void cli_opts_init(cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->url = env_or_null("EXO_URL");
    o->url_from = o->url ? CLI_FROM_ENV : CLI_FROM_DEFAULT;
    if (!o->url)
        o->url = CLI_DEFAULT_URL;
    o->token = env_or_null("EXO_TOKEN");
    o->token_from = o->token ? CLI_FROM_ENV : CLI_FROM_DEFAULT;
    o->output = CLI_OUTPUT_TABLE;
    o->timeout = CLI_DEFAULT_TIMEOUT;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("exo: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

int cli_parse_long(const char *s, long min, long max, long *out)
{
    /* strtol alone would take " 5", "+5" and "5x"; and more than 9 digits
     * cannot be in range for any of our flags, nor overflow a long. */
    size_t n = strlen(s);
    if (n == 0 || n > 9 || strspn(s, "0123456789") != n)
        return -1;
    long v = strtol(s, NULL, 10);
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_opts_apply(cli_opts *o, int opt, const char *arg)
{
    switch (opt) {
    case CLI_OPT_URL:
        if (!*arg)
            return cli_usage_error("--url is empty"), -1;
        o->url = arg;
        o->url_from = CLI_FROM_FLAG;
        return 1;
    case CLI_OPT_TOKEN:
        /* The value is never echoed, not even when it is refused. */
        if (!*arg)
            return cli_usage_error("--token is empty"), -1;
        o->token = arg;
        o->token_from = CLI_FROM_FLAG;
        return 1;
    case 'o':
        if (strcmp(arg, "table") == 0)
            o->output = CLI_OUTPUT_TABLE;
        else if (strcmp(arg, "json") == 0)
            o->output = CLI_OUTPUT_JSON;
        else
            return cli_usage_error("--output must be table or json, not \"%s\"", arg), -1;
        return 1;
    case CLI_OPT_TIMEOUT:
        if (cli_parse_long(arg, 1, CLI_MAX_TIMEOUT, &o->timeout) < 0)
            return cli_usage_error("--timeout must be whole seconds from 1 to %d, not \"%s\"",
                                   CLI_MAX_TIMEOUT, arg),
                   -1;
        return 1;
    case CLI_OPT_INSECURE:
        o->insecure = true;
        return 1;
    case 'h':
        o->help = true;
        return 1;
    default:
        return 0;
    }
}

int cli_opts_finish(cli_opts *o)
{
    const char *url_name = o->url_from == CLI_FROM_FLAG ? "--url" : "EXO_URL";
    const char *token_name = o->token_from == CLI_FROM_FLAG ? "--token" : "EXO_TOKEN";
    /* The URL is not echoed: it may carry a password. libcurl would also
     * speak ftp:// or file://, which the token must never be sent to. */
    bool https = strncasecmp(o->url, "https://", 8) == 0;
    if (!https && strncasecmp(o->url, "http://", 7) != 0)
        return cli_usage_error("%s must start with http:// or https://", url_name);
    if (!o->url[https ? 8 : 7])
        return cli_usage_error("%s names no host", url_name);
    if (!o->token)
        return cli_usage_error("no token: set EXO_TOKEN or pass --token");
    /* A line break would end the Authorization header and start another. */
    for (const unsigned char *p = (const unsigned char *)o->token; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return cli_usage_error("the token in %s holds a control character", token_name);
    if (o->insecure)
        fputs("exo: warning: --insecure: the server's TLS certificate is not verified; anyone "
              "on the path can read the token\n",
              stderr);
    return 0;
}

int cli_flag_error(int c, char *const *argv, int optind_now, const char *help_cmd)
{
    /* getopt_long leaves the word it choked on just before optind for long
     * options; for a short one it sets optopt. */
    const char *word = optind_now > 0 ? argv[optind_now - 1] : "";
    int len = (int)strcspn(word, "=");
    bool long_flag = strncmp(word, "--", 2) == 0;
    if (c == ':') {
        if (long_flag)
            return cli_usage_error("%.*s needs a value (see %s --help)", len, word, help_cmd);
        return cli_usage_error("-%c needs a value (see %s --help)", optopt, help_cmd);
    }
    if (long_flag && optopt)
        return cli_usage_error("%.*s takes no value (see %s --help)", len, word, help_cmd);
    if (long_flag || !optopt)
        return cli_usage_error("unknown flag %.*s (see %s --help)", len, word, help_cmd);
    return cli_usage_error("unknown flag -%c (see %s --help)", optopt, help_cmd);
}
