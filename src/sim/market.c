#include "sim/market.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/util.h"

#define CSV_HEADER "gpu_name,num_gpus,gpu_ram_mib,dph_total,geolocation"
#define CSV_FIELDS 5

/* Seconds per hour, and hours per storage month (30 days). */
#define HOUR_SECONDS 3600.0
#define MONTH_HOURS (30.0 * 24.0)

/* The streams of the seeded generator. */
#define STREAM_OFFERS 1
#define STREAM_RELIST 2

/* Approximate public specifications of the GPU models in the market file.
 * They make the generated offers plausible; the simulator uses them for
 * nothing but the offer fields. */
struct gpu_model {
	const char *name;
	int compute_cap;	/* CC x 100 */
	double mem_bw;		/* GB/s */
	double tflops;		/* FP32 TFLOPS per GPU */
	double dlperf;		/* Vast.ai-style DLPerf per GPU */
	int max_power;		/* W */
	int nvlink;		/* SXM and NVL boards */
};

static const struct gpu_model gpu_models[] = {
	{ "H100 SXM", 900, 3350, 67.0, 160.0, 700, 1 },
	{ "H100 NVL", 900, 3900, 60.0, 150.0, 400, 1 },
	{ "H200", 900, 4800, 67.0, 175.0, 700, 1 },
	{ "RTX 5090", 1200, 1792, 105.0, 110.0, 575, 0 },
	{ "RTX 4090", 890, 1008, 82.6, 80.0, 450, 0 },
	{ "RTX 4080S", 890, 736, 52.2, 52.0, 320, 0 },
	{ "RTX 3090", 860, 936, 35.6, 38.0, 350, 0 },
	{ "RTX 3060", 860, 360, 12.7, 14.0, 170, 0 },
	{ "RTX 6000Ada", 890, 960, 91.1, 85.0, 300, 0 },
	{ "RTX A6000", 860, 768, 38.7, 45.0, 300, 0 },
	{ "RTX A5000", 860, 768, 27.8, 33.0, 230, 0 },
	{ "RTX A4000", 860, 448, 19.2, 22.0, 140, 0 },
	{ "L40S", 890, 864, 91.6, 88.0, 350, 0 },
	{ "A100 SXM4", 800, 1555, 19.5, 95.0, 400, 1 },
	{ "A40", 860, 696, 37.4, 44.0, 300, 0 },
	{ "A10", 860, 600, 31.2, 30.0, 150, 0 },
	{ "Tesla V100", 700, 900, 15.7, 28.0, 300, 0 },
};

static const struct gpu_model other_model = {
	NULL, 860, 500, 20.0, 25.0, 300, 0
};

/* CUDA versions with a driver that supports them. */
struct cuda_driver {
	double cuda;
	const char *driver;
	int driver_vers;	/* major * 10^6 + minor * 10^3 + patch */
};

static const struct cuda_driver cuda_drivers[] = {
	{ 11.8, "520.61.05", 520061005 },
	{ 12.0, "525.60.13", 525060013 },
	{ 12.2, "535.104.05", 535104005 },
	{ 12.4, "550.54.15", 550054015 },
	{ 12.6, "560.35.03", 560035003 },
	{ 12.8, "570.124.04", 570124004 },
	{ 13.0, "580.65.06", 580065006 },
};

static const char *const cpu_names[] = {
	"AMD EPYC 7543 32-Core Processor",
	"AMD EPYC 9354 32-Core Processor",
	"Intel(R) Xeon(R) Platinum 8480+",
	"AMD Ryzen 9 7950X 16-Core Processor",
	"Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
};

static const char *const mobo_names[] = {
	"ROMED8-2T", "H12SSL-i", "X13DEG-OAD", "ProArt X670E-CREATOR", "MZ73-LM0",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* The market file                                                     */
/* ------------------------------------------------------------------ */

/*
 * Splits one CSV line into fields: commas separate them, a field may be
 * quoted with '"', and '""' inside quotes is one '"'.  The fields are
 * written into line itself.
 */
static int split_csv(char *line, char **fields, int max, int *count)
{
	char *in = line;
	int n = 0;

	for (;;) {
		char *out = in;
		char *start = in;

		if (n == max)
			return -1;
		if (*in == '"') {
			in++;
			for (;;) {
				if (*in == '\0')
					return -1;
				if (*in == '"' && in[1] == '"') {
					*out++ = '"';
					in += 2;
				} else if (*in == '"') {
					in++;
					break;
				} else {
					*out++ = *in++;
				}
			}
			if (*in != ',' && *in != '\0')
				return -1;
		} else {
			while (*in != ',' && *in != '\0') {
				if (*in == '"')
					return -1;
				*out++ = *in++;
			}
		}
		fields[n++] = start;
		if (*in == '\0') {
			*out = '\0';
			break;
		}
		in++;
		*out = '\0';
	}
	*count = n;
	return 0;
}

static int parse_long(const char *text, long lo, long hi, long *out)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value < lo ||
	    value > hi)
		return -1;
	*out = value;
	return 0;
}

static int parse_price(const char *text, double *out)
{
	char *end;
	double value;

	errno = 0;
	value = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !isfinite(value) ||
	    value <= 0 || value > 1000)
		return -1;
	*out = value;
	return 0;
}

/* Checks that a location ends with ", CC", a two-letter country code. */
static int valid_geolocation(const char *text)
{
	size_t len = strlen(text);

	return len >= 4 && len < sizeof(((struct hoist_sim_market_row *)0)
					->geolocation) &&
	       text[len - 4] == ',' && text[len - 3] == ' ' &&
	       isupper((unsigned char)text[len - 2]) &&
	       isupper((unsigned char)text[len - 1]);
}

static int parse_row(char *line, const char *name, int lineno,
		     struct hoist_sim_market_row *row, struct hoist_err *err)
{
	char *fields[CSV_FIELDS];
	long num_gpus;
	long ram;
	int n;

	if (split_csv(line, fields, CSV_FIELDS, &n) != 0 || n != CSV_FIELDS)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s:%d: expected %d comma-separated "
				     "fields (%s)", name, lineno, CSV_FIELDS,
				     CSV_HEADER);
	if (!*fields[0] || strlen(fields[0]) >= sizeof(row->gpu_name))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s:%d: invalid gpu_name '%.80s'; expected "
				     "1 to %zu characters", name, lineno,
				     fields[0], sizeof(row->gpu_name) - 1);
	if (parse_long(fields[1], 1, 64, &num_gpus) != 0)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s:%d: invalid num_gpus '%.40s'; expected "
				     "an integer from 1 to 64", name, lineno,
				     fields[1]);
	if (parse_long(fields[2], 1, 1024 * 1024, &ram) != 0)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s:%d: invalid gpu_ram_mib '%.40s'; "
				     "expected an integer from 1 to 1048576",
				     name, lineno, fields[2]);
	if (parse_price(fields[3], &row->dph_total) != 0)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s:%d: invalid dph_total '%.40s'; expected "
				     "a price in $/hour above 0 and at most "
				     "1000", name, lineno, fields[3]);
	if (!valid_geolocation(fields[4]))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s:%d: invalid geolocation '%.80s'; "
				     "expected text ending in ', CC' with a "
				     "two-letter country code", name, lineno,
				     fields[4]);
	snprintf(row->gpu_name, sizeof(row->gpu_name), "%s", fields[0]);
	row->num_gpus = (int)num_gpus;
	row->gpu_ram_mib = (int)ram;
	snprintf(row->geolocation, sizeof(row->geolocation), "%s", fields[4]);
	return 0;
}

int hoist_sim_market_parse_csv(const char *text, size_t len, const char *name,
			       struct hoist_sim_market_row **rows,
			       size_t *count, struct hoist_err *err)
{
	struct hoist_sim_market_row *out = NULL;
	char *copy = NULL;
	size_t n = 0;
	int header_seen = 0;
	int lineno = 0;
	int rc = -1;
	char *line;
	char *next;

	if (memchr(text, '\0', len)) {
		hoist_err_set(err, HOIST_E_INVALID, "%s: contains a NUL byte",
			      name);
		goto out;
	}
	copy = strndup(text, len);
	out = calloc(HOIST_SIM_MARKET_ROWS_MAX, sizeof(*out));
	if (!copy || !out) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		goto out;
	}
	for (line = copy; line; line = next) {
		size_t l;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		l = strlen(line);
		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		if (l == 0 || line[0] == '#')
			continue;
		if (!header_seen) {
			if (strcmp(line, CSV_HEADER) != 0) {
				hoist_err_set(err, HOIST_E_INVALID,
					      "%s:%d: expected the header "
					      "'%s'", name, lineno,
					      CSV_HEADER);
				goto out;
			}
			header_seen = 1;
			continue;
		}
		if (n == HOIST_SIM_MARKET_ROWS_MAX) {
			hoist_err_set(err, HOIST_E_INVALID,
				      "%s: more than %d rows", name,
				      HOIST_SIM_MARKET_ROWS_MAX);
			goto out;
		}
		if (parse_row(line, name, lineno, &out[n], err) != 0)
			goto out;
		n++;
	}
	if (n == 0) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "%s: no market rows; expected the header '%s' "
			      "and at least one row", name, CSV_HEADER);
		goto out;
	}
	*rows = out;
	*count = n;
	out = NULL;
	rc = 0;
out:
	free(copy);
	free(out);
	return rc;
}

int hoist_sim_market_load_csv(const char *path,
			      struct hoist_sim_market_row **rows,
			      size_t *count, struct hoist_err *err)
{
	struct hoist_buf buf;
	int rc;

	hoist_buf_init(&buf, HOIST_SIM_MARKET_FILE_MAX);
	rc = hoist_util_read_file(path, &buf, err);
	if (rc != 0)
		hoist_err_prefix(err, "cannot read the market file '%s'", path);
	else
		rc = hoist_sim_market_parse_csv(hoist_buf_str(&buf), buf.len,
						path, rows, count, err);
	hoist_buf_release(&buf);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Generation                                                          */
/* ------------------------------------------------------------------ */

static const struct gpu_model *find_model(const char *name)
{
	for (size_t i = 0; i < COUNT(gpu_models); i++)
		if (strcmp(gpu_models[i].name, name) == 0)
			return &gpu_models[i];
	return &other_model;
}

/* Rounds to a number of decimals, as the API's prices look. */
static double round_to(double value, int decimals)
{
	double scale = pow(10.0, decimals);

	return round(value * scale) / scale;
}

static const struct cuda_driver *pick_driver(struct hoist_sim_rng *rng,
					     int compute_cap)
{
	/* Newer GPUs need newer drivers: Blackwell (CC 12.0) needs CUDA
	 * 12.8, Hopper and Ada at least 12.0 in this market. */
	double min_cuda = compute_cap >= 1200 ? 12.8 :
			  compute_cap >= 890 ? 12.0 : 11.8;
	size_t first = 0;

	while (first + 1 < COUNT(cuda_drivers) &&
	       cuda_drivers[first].cuda < min_cuda - 1e-9)
		first++;
	return &cuda_drivers[first + hoist_sim_rng_below(
		rng, COUNT(cuda_drivers) - first)];
}

static int pick_int(struct hoist_sim_rng *rng, const int *values, size_t n)
{
	return values[hoist_sim_rng_below(rng, n)];
}

/* Adds the machine fields: GPU, CPU, disk and network. */
static int add_machine_fields(json_t *o, struct hoist_sim_rng *rng,
			      const struct hoist_sim_market_row *row,
			      const struct gpu_model *model)
{
	static const int cores_per_gpu[] = { 4, 8, 12, 16, 24 };
	static const int ram_gib_per_gpu[] = { 16, 32, 64, 128 };
	static const int disks[] = { 64, 128, 256, 512, 1024, 2048 };
	static const int port_counts[] = { 0, 20, 50, 100, 500 };
	const struct cuda_driver *drv = pick_driver(rng, model->compute_cap);
	int n = row->num_gpus;
	int cores = n * pick_int(rng, cores_per_gpu, COUNT(cores_per_gpu));
	int ram_gib = pick_int(rng, ram_gib_per_gpu, COUNT(ram_gib_per_gpu));
	int ram_mb = n * ram_gib * 1024 - (int)hoist_sim_rng_below(rng, 700);
	int disk_gb = pick_int(rng, disks, COUNT(disks));
	double disk_share = hoist_sim_rng_range(rng, 0.5, 1.0);
	double pci = 3.0 + (double)hoist_sim_rng_below(rng, 3);
	json_t *gpu_ids = json_array();
	int rc = 0;

	/* One draw per statement: the order of evaluation inside an
	 * expression is unspecified, and the market must not depend on the
	 * compiler. */

	for (int i = 0; i < n && gpu_ids; i++)
		json_array_append_new(gpu_ids, json_integer(i));
	rc |= json_object_set_new(o, "num_gpus", json_integer(n));
	rc |= json_object_set_new(o, "gpu_name", json_string(row->gpu_name));
	rc |= json_object_set_new(o, "gpu_ram", json_integer(row->gpu_ram_mib));
	rc |= json_object_set_new(o, "gpu_total_ram",
				  json_integer((json_int_t)row->gpu_ram_mib *
					       n));
	rc |= json_object_set_new(o, "gpu_frac", json_real(1.0));
	rc |= json_object_set_new(o, "gpu_arch", json_string("nvidia"));
	rc |= json_object_set_new(o, "gpu_lanes", json_integer(16));
	rc |= json_object_set_new(o, "gpu_mem_bw", json_real(round_to(
		model->mem_bw * hoist_sim_rng_range(rng, 0.9, 1.0), 1)));
	rc |= json_object_set_new(o, "gpu_max_power",
				  json_integer(model->max_power));
	rc |= json_object_set_new(o, "gpu_max_temp", json_integer(
		83 + (int)hoist_sim_rng_below(rng, 8)));
	rc |= json_object_set_new(o, "gpu_display_active", json_false());
	rc |= json_object_set_new(o, "gpu_ids", gpu_ids);
	rc |= json_object_set_new(o, "compute_cap",
				  json_integer(model->compute_cap));
	rc |= json_object_set_new(o, "cuda_max_good", json_real(drv->cuda));
	rc |= json_object_set_new(o, "driver_version",
				  json_string(drv->driver));
	rc |= json_object_set_new(o, "driver_vers",
				  json_integer(drv->driver_vers));
	rc |= json_object_set_new(o, "cpu_name", json_string(
		cpu_names[hoist_sim_rng_below(rng, COUNT(cpu_names))]));
	rc |= json_object_set_new(o, "cpu_arch", json_string("amd64"));
	rc |= json_object_set_new(o, "cpu_cores", json_integer(cores));
	rc |= json_object_set_new(o, "cpu_cores_effective",
				  json_real((double)cores));
	rc |= json_object_set_new(o, "cpu_ghz", json_real(round_to(
		hoist_sim_rng_range(rng, 2.0, 4.5), 1)));
	rc |= json_object_set_new(o, "cpu_ram", json_integer(ram_mb));
	rc |= json_object_set_new(o, "disk_space", json_real(round_to(
		disk_gb * n * disk_share, 1)));
	rc |= json_object_set_new(o, "disk_bw", json_real(round_to(
		hoist_sim_rng_range(rng, 800, 7000), 1)));
	rc |= json_object_set_new(o, "disk_name", json_string("nvme"));
	rc |= json_object_set_new(o, "inet_down", json_real(round_to(
		hoist_sim_rng_range(rng, 100, 8000), 1)));
	rc |= json_object_set_new(o, "inet_up", json_real(round_to(
		hoist_sim_rng_range(rng, 50, 4000), 1)));
	rc |= json_object_set_new(o, "direct_port_count", json_integer(
		pick_int(rng, port_counts, COUNT(port_counts))));
	rc |= json_object_set_new(o, "pci_gen", json_real(pci));
	rc |= json_object_set_new(o, "pcie_bw", json_real(round_to(
		(pci - 2.0) * 12.0 * hoist_sim_rng_range(rng, 0.8, 1.0), 1)));
	rc |= json_object_set_new(o, "bw_nvlink",
				  json_real(model->nvlink && n > 1 ? 400.0 :
					    0.0));
	rc |= json_object_set_new(o, "mobo_name", json_string(
		mobo_names[hoist_sim_rng_below(rng, COUNT(mobo_names))]));
	rc |= json_object_set_new(o, "os_version", json_string("22.04"));
	rc |= json_object_set_new(o, "ubuntu_version", json_string("22.04"));
	rc |= json_object_set_new(o, "has_avx", json_integer(1));
	return rc ? -1 : 0;
}

/* Adds prices, ranking, host and availability fields. */
static int add_market_fields(json_t *o, struct hoist_sim_rng *rng,
			     const struct hoist_sim_market_row *row,
			     const struct gpu_model *model, double now)
{
	int n = row->num_gpus;
	double dph_base = round_to(row->dph_total *
				   hoist_sim_rng_range(rng, 0.8, 1.25), 4);
	double min_bid = round_to(dph_base *
				  hoist_sim_rng_range(rng, 0.4, 0.6), 4);
	double reliability = round_to(hoist_sim_rng_range(rng, 0.90, 0.999),
				      4);
	double dlperf = round_to(model->dlperf * n *
				 hoist_sim_rng_range(rng, 0.9, 1.05), 2);
	double up_cost = round_to(hoist_sim_rng_range(rng, 0.001, 0.02), 4);
	double down_cost = round_to(hoist_sim_rng_range(rng, 0.001, 0.02), 4);
	int datacenter_class = model->nvlink;
	int datacenter = hoist_sim_rng_unit(rng) <
			 (datacenter_class ? 0.6 : 0.15);
	int verified = hoist_sim_rng_unit(rng) < 0.8;
	double age_days = hoist_sim_rng_range(rng, 1, 60);
	double duration = round(hoist_sim_rng_range(rng, 7, 180) * 86400.0);
	const char *cc = row->geolocation + strlen(row->geolocation) - 2;
	int rc = 0;

	rc |= json_object_set_new(o, "dph_base", json_real(dph_base));
	rc |= json_object_set_new(o, "min_bid", json_real(min_bid));
	rc |= json_object_set_new(o, "storage_cost", json_real(round_to(
		hoist_sim_rng_range(rng, 0.05, 0.3), 4)));
	rc |= json_object_set_new(o, "inet_up_cost", json_real(up_cost));
	rc |= json_object_set_new(o, "inet_down_cost", json_real(down_cost));
	rc |= json_object_set_new(o, "internet_up_cost_per_tb",
				  json_real(round_to(up_cost * 1024, 4)));
	rc |= json_object_set_new(o, "internet_down_cost_per_tb",
				  json_real(round_to(down_cost * 1024, 4)));
	rc |= json_object_set_new(o, "credit_discount_max", json_real(0.4));
	rc |= json_object_set_new(o, "dlperf", json_real(dlperf));
	rc |= json_object_set_new(o, "total_flops", json_real(round_to(
		model->tflops * n, 1)));
	rc |= json_object_set_new(o, "score", json_real(round_to(
		dlperf / dph_base * reliability, 3)));
	rc |= json_object_set_new(o, "reliability", json_real(reliability));
	rc |= json_object_set_new(o, "reliability2", json_real(reliability));
	rc |= json_object_set_new(o, "reliability_mult", json_real(
		round_to(reliability * reliability, 4)));
	rc |= json_object_set_new(o, "expected_reliability",
				  json_real(reliability));
	rc |= json_object_set_new(o, "rentable", json_true());
	rc |= json_object_set_new(o, "rented", json_false());
	rc |= json_object_set_new(o, "external", json_false());
	rc |= json_object_set_new(o, "hosting_type",
				  json_integer(datacenter ? 1 : 0));
	rc |= json_object_set_new(o, "datacenter", json_boolean(datacenter));
	rc |= json_object_set_new(o, "verified", json_boolean(verified));
	rc |= json_object_set_new(o, "verification", json_string(
		verified ? "verified" : "unverified"));
	rc |= json_object_set_new(o, "vericode",
				  json_integer(verified ? 1 : 0));
	rc |= json_object_set_new(o, "is_vm_deverified", json_false());
	rc |= json_object_set_new(o, "vms_enabled",
				  json_boolean(hoist_sim_rng_unit(rng) < 0.3));
	rc |= json_object_set_new(o, "static_ip",
				  json_boolean(hoist_sim_rng_unit(rng) < 0.5));
	/* The instances run on this machine, so their address is the
	 * loopback address. */
	rc |= json_object_set_new(o, "public_ipaddr", json_string("127.0.0.1"));
	rc |= json_object_set_new(o, "geolocation",
				  json_string(row->geolocation));
	rc |= json_object_set_new(o, "geolocode", json_integer(
		(cc[0] - 'A') * 26 + (cc[1] - 'A') + 1));
	rc |= json_object_set_new(o, "hostname", json_null());
	rc |= json_object_set_new(o, "logo", json_null());
	rc |= json_object_set_new(o, "webpage", json_null());
	rc |= json_object_set_new(o, "start_date", json_real(round(
		now - age_days * 86400.0)));
	rc |= json_object_set_new(o, "duration", json_real(duration));
	rc |= json_object_set_new(o, "resource_type", json_string("gpu"));
	rc |= json_object_set_new(o, "bundled_results", json_null());
	rc |= json_object_set_new(o, "cluster_id", json_null());
	rc |= json_object_set_new(o, "avail_vol_ask_id", json_null());
	rc |= json_object_set_new(o, "avail_vol_dph", json_null());
	rc |= json_object_set_new(o, "avail_vol_size", json_null());
	rc |= json_object_set_new(o, "nw_disk_min_bw", json_null());
	rc |= json_object_set_new(o, "nw_disk_max_bw", json_null());
	rc |= json_object_set_new(o, "nw_disk_avg_bw", json_null());
	return rc ? -1 : 0;
}

static void set_ids(json_t *o, int64_t id, int64_t bundle_id)
{
	json_object_set_new(o, "id", json_integer(id));
	json_object_set_new(o, "ask_contract_id", json_integer(id));
	json_object_set_new(o, "bundle_id", json_integer(bundle_id));
}

int hoist_sim_market_generate(struct hoist_sim_market *market,
			      const struct hoist_sim_market_row *rows,
			      size_t nrows, uint64_t seed, size_t count,
			      double now, struct hoist_err *err)
{
	struct hoist_sim_rng rng;
	int64_t offer_id;
	int64_t machine_id;
	int64_t bundle_id;
	size_t host_count;
	int64_t host_base;

	memset(market, 0, sizeof(*market));
	if (nrows == 0 || count == 0 || count > HOIST_SIM_MARKET_OFFERS_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid offer count %zu with %zu market "
				     "rows; expected 1 to %d offers and at "
				     "least one row", count, nrows,
				     HOIST_SIM_MARKET_OFFERS_MAX);
	market->offers = calloc(count, sizeof(*market->offers));
	if (!market->offers)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");

	hoist_sim_rng_seed(&rng, seed, STREAM_OFFERS);
	offer_id = 3000000 + (int64_t)hoist_sim_rng_below(&rng, 6000000);
	machine_id = 10000 + (int64_t)hoist_sim_rng_below(&rng, 20000);
	bundle_id = 100000000 + (int64_t)hoist_sim_rng_below(&rng, 50000000);
	/* About three machines per host. */
	host_count = count / 3 + 1;
	host_base = 100000 + (int64_t)hoist_sim_rng_below(&rng, 200000);

	for (size_t i = 0; i < count; i++) {
		const struct hoist_sim_market_row *row = &rows[i % nrows];
		const struct gpu_model *model = find_model(row->gpu_name);
		struct hoist_sim_offer *offer = &market->offers[i];
		json_t *o = json_object();

		offer_id += 1 + (int64_t)hoist_sim_rng_below(&rng, 97);
		machine_id += 1 + (int64_t)hoist_sim_rng_below(&rng, 13);
		bundle_id += 1 + (int64_t)hoist_sim_rng_below(&rng, 1000);
		if (!o) {
			hoist_sim_market_release(market);
			return hoist_err_set(err, HOIST_E_NOMEM,
					     "out of memory");
		}
		offer->fields = o;
		market->count = i + 1;
		set_ids(o, offer_id, bundle_id);
		json_object_set_new(o, "machine_id", json_integer(machine_id));
		json_object_set_new(o, "host_id", json_integer(
			host_base + 7 * (int64_t)hoist_sim_rng_below(
				&rng, host_count)));
		if (add_machine_fields(o, &rng, row, model) != 0 ||
		    add_market_fields(o, &rng, row, model, now) != 0) {
			hoist_sim_market_release(market);
			return hoist_err_set(err, HOIST_E_NOMEM,
					     "out of memory");
		}
		offer->id = offer_id;
		offer->listed = 1;
	}
	market->next_offer_id = offer_id + 1000;
	hoist_sim_rng_seed(&market->rng, seed, STREAM_RELIST);
	return 0;
}

void hoist_sim_market_release(struct hoist_sim_market *market)
{
	for (size_t i = 0; i < market->count; i++)
		json_decref(market->offers[i].fields);
	free(market->offers);
	market->offers = NULL;
	market->count = 0;
}

struct hoist_sim_offer *hoist_sim_market_find(struct hoist_sim_market *market,
					      int64_t id)
{
	for (size_t i = 0; i < market->count; i++)
		if (market->offers[i].id == id)
			return &market->offers[i];
	return NULL;
}

size_t hoist_sim_market_listed(const struct hoist_sim_market *market)
{
	size_t n = 0;

	for (size_t i = 0; i < market->count; i++)
		n += market->offers[i].listed ? 1 : 0;
	return n;
}

void hoist_sim_market_relist(struct hoist_sim_market *market,
			     struct hoist_sim_offer *offer)
{
	json_t *bundle = json_object_get(offer->fields, "bundle_id");

	market->next_offer_id += 1 +
		(int64_t)hoist_sim_rng_below(&market->rng, 97);
	offer->id = market->next_offer_id;
	set_ids(offer->fields, offer->id, json_integer_value(bundle) + 1);
	offer->listed = 1;
	offer->instance_id = 0;
}

double hoist_sim_market_number(const struct hoist_sim_offer *offer,
			       const char *name)
{
	return json_number_value(json_object_get(offer->fields, name));
}

double hoist_sim_market_storage_rate(const struct hoist_sim_offer *offer,
				     double disk_gb)
{
	return disk_gb * hoist_sim_market_number(offer, "storage_cost") /
	       MONTH_HOURS;
}

static json_t *price_breakdown(double gpu, double disk, double discounted)
{
	return json_pack("{s:f, s:f, s:f, s:f, s:f}",
			 "gpuCostPerHour", gpu, "diskHour", disk,
			 "totalHour", gpu + disk,
			 "discountTotalHour", gpu + disk - discounted,
			 "discountedTotalPerHour", discounted);
}

json_t *hoist_sim_market_render(const struct hoist_sim_offer *offer,
				enum hoist_sim_price_type type,
				double storage_gb, double now)
{
	double dph_base = hoist_sim_market_number(offer, "dph_base");
	double min_bid = hoist_sim_market_number(offer, "min_bid");
	double discount = hoist_sim_market_number(offer,
						  "credit_discount_max");
	double dlperf = hoist_sim_market_number(offer, "dlperf");
	double flops = hoist_sim_market_number(offer, "total_flops");
	double vram_gb = hoist_sim_market_number(offer, "gpu_total_ram") /
			 1024.0;
	double disk = hoist_sim_market_storage_rate(offer, storage_gb);
	double gpu = type == HOIST_SIM_PRICE_BID ? min_bid : dph_base;
	double total = gpu + disk;
	double discounted = dph_base * (1.0 - discount) + disk;
	double duration = hoist_sim_market_number(offer, "duration");
	json_t *o = json_deep_copy(offer->fields);
	int rc = 0;

	if (!o)
		return NULL;
	rc |= json_object_set_new(o, "dph_total", json_real(total));
	rc |= json_object_set_new(o, "storage_total_cost", json_real(disk));
	rc |= json_object_set_new(o, "dph_total_adj", json_real(total));
	rc |= json_object_set_new(o, "discount_rate", json_real(discount));
	rc |= json_object_set_new(o, "discounted_hourly",
				  json_real(dph_base * (1.0 - discount)));
	rc |= json_object_set_new(o, "discounted_dph_total",
				  json_real(discounted));
	rc |= json_object_set_new(o, "dlperf_per_dphtotal",
				  json_real(dlperf / total));
	rc |= json_object_set_new(o, "flops_per_dphtotal",
				  json_real(flops / total));
	rc |= json_object_set_new(o, "vram_costperhour",
				  json_real(vram_gb > 0 ? gpu / vram_gb : 0));
	rc |= json_object_set_new(o, "is_bid",
				  json_boolean(type == HOIST_SIM_PRICE_BID));
	rc |= json_object_set_new(o, "end_date", json_real(round(now +
								 duration)));
	rc |= json_object_set_new(o, "time_remaining", json_string(""));
	rc |= json_object_set_new(o, "time_remaining_isbid", json_string(""));
	rc |= json_object_set_new(o, "search",
				  price_breakdown(gpu, disk, discounted));
	rc |= json_object_set_new(o, "instance",
				  price_breakdown(gpu, disk, discounted));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}
