/*
 * vast_gpu.h - GPU model names: one model however a user or the
 * marketplace writes it.
 *
 * A name is split into upper-case tokens at spaces, "_" and "-"; a token
 * such as "RTX4090" becomes "RTX" "4090", and "3080Ti" or "6000Ada" becomes
 * "3080" "TI" or "6000" "ADA".  Tokens then fall in four kinds:
 *
 *   brand    NVIDIA, GEFORCE, TESLA, QUADRO, Q, RTX, GTX: ignored, so
 *            "4090", "RTX 4090" and "GeForce RTX 4090" are one model;
 *   form     SXM, SXM2 to SXM5, PCIE: the variant of a model, which a
 *            name matches only when it names it;
 *   memory   "80GB" and the like: ignored by the match (filter on GPU
 *            RAM instead);
 *   model    everything else ("4090", "A100", "L4", "L40S", "TI", "ADA",
 *            "NVL"), which must be equal on both sides, so "L4" never
 *            matches "L40", "RTX 3080" never matches "RTX 3080 Ti" and
 *            "H100" never matches the distinct "H100 NVL" card.
 */
#ifndef HOIST_VAST_GPU_H
#define HOIST_VAST_GPU_H

#include <stddef.h>

/* The longest GPU name handled, in bytes. */
#define HOIST_VAST_GPU_NAME_MAX 96

/*
 * Writes the canonical key of name to out: its model and form tokens
 * joined by single spaces ("rtx_4090" and "4090" give "4090", "A100-SXM4"
 * gives "A100 SXM4").  Returns 0, or -1 when name has no model token or
 * is too long; out is "" then.
 */
int hoist_vast_gpu_canon(const char *name, char *out, size_t outlen);

/*
 * Returns 1 when the marketplace name offered is the model that wanted
 * names: the same model tokens, and every form token of wanted also in
 * offered ("A100" matches "A100 SXM4" and "A100 PCIE", "A100 PCIE" only
 * the latter; "SXM" matches "SXM4").  Returns 0 otherwise, and for names
 * without a model token.
 */
int hoist_vast_gpu_match(const char *wanted, const char *offered);

/*
 * Returns the GPU memory that name states ("A100 80GB" gives 80), in GB,
 * or 0 when it states none.
 */
double hoist_vast_gpu_memory_gb(const char *name);

/*
 * Returns the GPU names that Vast.ai used as of 2026 (NULL-terminated),
 * for searches made before the marketplace's own list was fetched.
 */
const char *const *hoist_vast_gpu_known_names(void);

#endif
