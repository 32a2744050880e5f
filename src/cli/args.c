/*
 * args.c - the option parser of the hoist commands.
 *
 * getopt_long is not used because it prints its own messages and keeps
 * global state.  hoist needs its own wording ("unknown option '--x'") and
 * a parser that unit tests can call many times.
 */
#include "cli/cli.h"

#include <string.h>

static const struct hoist_cli_opt *find_long(const struct hoist_cli_opt *opts,
					     const char *name, size_t len)
{
	for (; opts && opts->long_name; opts++) {
		if (strlen(opts->long_name) == len &&
		    strncmp(opts->long_name, name, len) == 0)
			return opts;
	}
	return NULL;
}

static const struct hoist_cli_opt *find_short(const struct hoist_cli_opt *opts,
					      char name)
{
	for (; opts && opts->long_name; opts++) {
		if (opts->short_name && opts->short_name == name)
			return opts;
	}
	return NULL;
}

static void reset_options(const struct hoist_cli_opt *opts)
{
	for (; opts && opts->long_name; opts++) {
		if (opts->flag)
			*opts->flag = 0;
		if (opts->value)
			*opts->value = NULL;
	}
}

/* Applies opt; inline_value is the text after "=" in "--name=value". */
static int apply_option(const struct hoist_cli_opt *opt, const char *shown,
			const char *inline_value, int argc, char **argv,
			int *index, struct hoist_err *err)
{
	if (!opt->value_name) {
		if (inline_value)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "option '%s' does not take a value",
					     shown);
		*opt->flag = 1;
		return 0;
	}
	if (*opt->value)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "option '%s' is given more than once",
				     shown);
	if (inline_value) {
		*opt->value = inline_value;
		return 0;
	}
	if (*index + 1 >= argc)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "option '%s' requires a value (%s)", shown,
				     opt->value_name);
	*index += 1;
	*opt->value = argv[*index];
	return 0;
}

static int parse_long(const struct hoist_cli_spec *spec, int argc,
		      char **argv, int *index, struct hoist_cli_args *out,
		      struct hoist_err *err)
{
	const char *name = argv[*index] + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct hoist_cli_opt *opt;
	char shown[64];

	if (len == 4 && strncmp(name, "help", 4) == 0 && !eq) {
		out->help = 1;
		return 0;
	}
	snprintf(shown, sizeof(shown), "--%.*s", (int)len, name);
	opt = find_long(spec->opts, name, len);
	if (!opt)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "unknown option '%s'", shown);
	return apply_option(opt, shown, eq ? eq + 1 : NULL, argc, argv, index,
			    err);
}

static int parse_short(const struct hoist_cli_spec *spec, int argc,
		       char **argv, int *index, struct hoist_cli_args *out,
		       struct hoist_err *err)
{
	const char *arg = argv[*index];
	const struct hoist_cli_opt *opt;

	if (strcmp(arg, "-h") == 0) {
		out->help = 1;
		return 0;
	}
	opt = arg[2] == '\0' ? find_short(spec->opts, arg[1]) : NULL;
	if (!opt)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "unknown option '%s'", arg);
	return apply_option(opt, arg, NULL, argc, argv, index, err);
}

static int add_positional(const struct hoist_cli_spec *spec,
			  const char *arg, struct hoist_cli_args *out,
			  struct hoist_err *err)
{
	if (out->count >= spec->max_args)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "unexpected argument '%s'", arg);
	out->positional[out->count++] = arg;
	return 0;
}

int hoist_cli_parse(const struct hoist_cli_spec *spec, int argc, char **argv,
		    struct hoist_cli_args *out, struct hoist_err *err)
{
	int only_positional = 0;

	memset(out, 0, sizeof(*out));
	reset_options(spec->opts);

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int rc;

		if (!only_positional && strcmp(arg, "--") == 0) {
			only_positional = 1;
			continue;
		}
		if (only_positional || arg[0] != '-' || arg[1] == '\0')
			rc = add_positional(spec, arg, out, err);
		else if (arg[1] == '-')
			rc = parse_long(spec, argc, argv, &i, out, err);
		else
			rc = parse_short(spec, argc, argv, &i, out, err);
		if (rc)
			return -1;
		if (out->help)
			return 0;
	}

	if (out->count < spec->min_args)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "missing argument %s",
				     spec->arg_names[out->count]);
	return 0;
}

void hoist_cli_print_usage(FILE *out, const struct hoist_cli_spec *spec)
{
	fprintf(out, "usage: hoist %s", spec->name);
	for (int i = 0; i < spec->max_args; i++) {
		if (i < spec->min_args)
			fprintf(out, " %s", spec->arg_names[i]);
		else
			fprintf(out, " [%s]", spec->arg_names[i]);
	}
	fprintf(out, " [options]\n");
}

/* Prints text as lines of at most width columns, broken at spaces. */
static void print_wrapped(FILE *out, const char *text, size_t width)
{
	while (*text) {
		size_t len = strlen(text);
		size_t cut = len;

		if (len > width) {
			cut = width;
			while (cut > 0 && text[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = strcspn(text, " ");
		}
		fprintf(out, "%.*s\n", (int)cut, text);
		text += cut;
		while (*text == ' ')
			text++;
	}
}

void hoist_cli_print_help(FILE *out, const struct hoist_cli_spec *spec)
{
	hoist_cli_print_usage(out, spec);
	fputc('\n', out);
	print_wrapped(out, spec->summary, 72);
	fprintf(out, "\noptions:\n");
	for (const struct hoist_cli_opt *opt = spec->opts;
	     opt && opt->long_name; opt++) {
		char left[64];
		char prefix[8] = "    ";

		if (opt->short_name)
			snprintf(prefix, sizeof(prefix), "-%c, ",
				 opt->short_name);
		snprintf(left, sizeof(left), "%s--%s%s%s", prefix,
			 opt->long_name, opt->value_name ? " " : "",
			 opt->value_name ? opt->value_name : "");
		fprintf(out, "  %-24s %s\n", left, opt->help);
	}
	fprintf(out, "  %-24s %s\n", "-h, --help", "print this help and exit");
	if (spec->details)
		fprintf(out, "\n%s", spec->details);
}

int hoist_cli_parse_command(const struct hoist_cli_spec *spec, int argc,
			    char **argv, struct hoist_cli_args *out)
{
	struct hoist_err err = HOIST_ERR_INIT;

	if (hoist_cli_parse(spec, argc, argv, out, &err)) {
		hoist_cli_print_error(&err);
		hoist_cli_print_usage(stderr, spec);
		fprintf(stderr, "Run 'hoist %s --help' for the options.\n",
			spec->name);
		return -1;
	}
	if (out->help) {
		hoist_cli_print_help(stdout, spec);
		return 1;
	}
	return 0;
}

void hoist_cli_print_error(const struct hoist_err *err)
{
	fprintf(stderr, "hoist: %s\n", err->msg[0] ? err->msg :
		"unknown error");
}
