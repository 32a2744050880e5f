#include "providers/vast_gpu.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKENS_MAX 12
#define TOKEN_MAX 24

enum token_kind {
	TOKEN_BRAND,
	TOKEN_FORM,
	TOKEN_MEMORY,
	TOKEN_MODEL,
};

struct gpu_tokens {
	char text[TOKENS_MAX][TOKEN_MAX];
	int kind[TOKENS_MAX];
	int count;
};

static const char *const brands[] = {
	"NVIDIA", "GEFORCE", "TESLA", "QUADRO", "Q", "RTX", "GTX",
};

static const char *const forms[] = {
	"SXM", "SXM2", "SXM3", "SXM4", "SXM5", "PCIE",
};

/*
 * Vast.ai GPU names, built from the mappings and name patterns of dstack's
 * gpuhunt (src/gpuhunt/providers/vastai.py, 2026).  The marketplace's own
 * list, GET /api/v0/gpu_names/unique/, replaces them once it was fetched.
 */
static const char *const known_names[] = {
	"RTX 5090", "RTX 5080", "RTX 5070 Ti", "RTX 5070",
	"RTX 4090", "RTX 4080S", "RTX 4080", "RTX 4070S Ti", "RTX 4070 Ti",
	"RTX 4070S", "RTX 4070", "RTX 4060 Ti", "RTX 4060",
	"RTX 3090 Ti", "RTX 3090", "RTX 3080 Ti", "RTX 3080", "RTX 3070 Ti",
	"RTX 3070", "RTX 3060 Ti", "RTX 3060",
	"RTX A2000", "RTX A4000", "RTX A4500", "RTX A5000", "RTX A6000",
	"RTX 2000Ada", "RTX 4000Ada", "RTX 5000Ada", "RTX 6000Ada",
	"Q RTX 6000", "Q RTX 8000",
	"L4", "L40", "L40S", "A10", "A40", "A100X", "A100 PCIE", "A100 SXM4",
	"A800 PCIE", "H100 PCIE", "H100 SXM", "H100 NVL", "H200", "H200 NVL",
	"B200", "Tesla T4", "Tesla V100", "Tesla P100", "Tesla P40", "Tesla P4",
	NULL,
};

static int in_list(const char *token, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(token, list[i]) == 0)
			return 1;
	return 0;
}

static int is_memory(const char *token)
{
	size_t digits = strspn(token, "0123456789");

	return digits > 0 && strcmp(token + digits, "GB") == 0;
}

static int add_token(struct gpu_tokens *t, const char *text, size_t len)
{
	char *out;

	if (len == 0)
		return 0;
	if (t->count >= TOKENS_MAX || len >= TOKEN_MAX)
		return -1;
	out = t->text[t->count];
	memcpy(out, text, len);
	out[len] = '\0';
	if (in_list(out, brands, sizeof(brands) / sizeof(brands[0])))
		t->kind[t->count] = TOKEN_BRAND;
	else if (in_list(out, forms, sizeof(forms) / sizeof(forms[0])))
		t->kind[t->count] = TOKEN_FORM;
	else if (is_memory(out))
		t->kind[t->count] = TOKEN_MEMORY;
	else
		t->kind[t->count] = TOKEN_MODEL;
	t->count++;
	return 0;
}

/* Splits one upper-case word: "QRTX8000" gives Q RTX 8000, "RTX4090"
 * gives RTX 4090, "3080TI" gives 3080 TI; "80GB" and "A100" stay whole. */
static int add_word(struct gpu_tokens *t, const char *word, size_t len)
{
	size_t digits;

	if (len > 4 && strncmp(word, "QRTX", 4) == 0) {
		if (add_token(t, "Q", 1))
			return -1;
		word++;
		len--;
	}
	if (len > 3 && (strncmp(word, "RTX", 3) == 0 ||
			strncmp(word, "GTX", 3) == 0)) {
		if (add_token(t, word, 3))
			return -1;
		word += 3;
		len -= 3;
	}
	digits = 0;
	while (digits < len && isdigit((unsigned char)word[digits]))
		digits++;
	if (digits > 0 && digits < len &&
	    !(len - digits == 2 && strncmp(word + digits, "GB", 2) == 0)) {
		if (add_token(t, word, digits))
			return -1;
		return add_token(t, word + digits, len - digits);
	}
	return add_token(t, word, len);
}

static int tokenize(const char *name, struct gpu_tokens *t)
{
	char upper[HOIST_VAST_GPU_NAME_MAX];
	size_t len = name ? strlen(name) : 0;
	size_t start = 0;

	memset(t, 0, sizeof(*t));
	if (len == 0 || len >= sizeof(upper))
		return -1;
	for (size_t i = 0; i <= len; i++)
		upper[i] = (char)toupper((unsigned char)name[i]);
	for (size_t i = 0; i <= len; i++) {
		char c = upper[i];

		if (c != '\0' && c != ' ' && c != '_' && c != '-')
			continue;
		if (add_word(t, upper + start, i - start))
			return -1;
		start = i + 1;
	}
	for (int i = 0; i < t->count; i++)
		if (t->kind[i] == TOKEN_MODEL)
			return 0;
	return -1;
}

int hoist_vast_gpu_canon(const char *name, char *out, size_t outlen)
{
	struct gpu_tokens t;
	size_t n = 0;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (tokenize(name, &t))
		return -1;
	for (int i = 0; i < t.count; i++) {
		size_t len = strlen(t.text[i]);

		if (t.kind[i] != TOKEN_MODEL && t.kind[i] != TOKEN_FORM)
			continue;
		if (n + len + 2 > outlen) {
			out[0] = '\0';
			return -1;
		}
		if (n > 0)
			out[n++] = ' ';
		memcpy(out + n, t.text[i], len);
		n += len;
		out[n] = '\0';
	}
	return 0;
}

/* A form "SXM" asked for matches any SXM generation offered. */
static int has_form(const struct gpu_tokens *t, const char *form)
{
	for (int i = 0; i < t->count; i++) {
		if (t->kind[i] != TOKEN_FORM)
			continue;
		if (strcmp(t->text[i], form) == 0)
			return 1;
		if (strcmp(form, "SXM") == 0 &&
		    strncmp(t->text[i], "SXM", 3) == 0)
			return 1;
	}
	return 0;
}

static int next_model(const struct gpu_tokens *t, int from)
{
	while (from < t->count && t->kind[from] != TOKEN_MODEL)
		from++;
	return from;
}

int hoist_vast_gpu_match(const char *wanted, const char *offered)
{
	struct gpu_tokens w;
	struct gpu_tokens o;
	int i;
	int j;

	if (tokenize(wanted, &w) || tokenize(offered, &o))
		return 0;
	i = next_model(&w, 0);
	j = next_model(&o, 0);
	while (i < w.count && j < o.count) {
		if (strcmp(w.text[i], o.text[j]) != 0)
			return 0;
		i = next_model(&w, i + 1);
		j = next_model(&o, j + 1);
	}
	if (i < w.count || j < o.count)
		return 0;
	for (i = 0; i < w.count; i++)
		if (w.kind[i] == TOKEN_FORM && !has_form(&o, w.text[i]))
			return 0;
	return 1;
}

double hoist_vast_gpu_memory_gb(const char *name)
{
	struct gpu_tokens t;

	if (tokenize(name, &t))
		return 0;
	for (int i = 0; i < t.count; i++)
		if (t.kind[i] == TOKEN_MEMORY)
			return strtod(t.text[i], NULL);
	return 0;
}

const char *const *hoist_vast_gpu_known_names(void)
{
	return known_names;
}
