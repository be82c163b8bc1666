#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BENCH_MAX_RESULTS 64

struct bench_result {
	char name[64], unit[16], baseline[64];
	double value, baseline_value;
};

struct bench_report {
	const char *json_path;
	char tag[24];
	int quick;
	size_t n;
	struct bench_result results[BENCH_MAX_RESULTS];
};

struct bench_report *
bench_report_new(int argc, char **argv)
{
	struct bench_report *r = calloc(1, sizeof(*r));
	int i;

	if (r == NULL)
		abort();
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
			r->json_path = argv[++i];
		} else if (strcmp(argv[i], "--quick") == 0) {
			r->quick = 1;
		} else {
			fprintf(stderr, "usage: %s [--quick] [--json FILE]\n",
			        argv[0]);
			exit(2);
		}
	}
	return r;
}

int
bench_report_quick(const struct bench_report *r)
{
	return r->quick;
}

void
bench_report_set_tag(struct bench_report *r, const char *tag)
{
	snprintf(r->tag, sizeof(r->tag), "%s%s", tag[0] != '\0' ? "_" : "",
	         tag);
}

void
bench_report_add(struct bench_report *r, const char *name, double value,
                 const char *unit, const char *baseline_name,
                 double baseline_value)
{
	struct bench_result res;
	double ratio = baseline_value != 0 ? value / baseline_value : 0;

	snprintf(res.name, sizeof(res.name), "%s%s", name, r->tag);
	snprintf(res.unit, sizeof(res.unit), "%s", unit);
	snprintf(res.baseline, sizeof(res.baseline), "%s%s", baseline_name,
	         r->tag);
	printf("%s: %.6g %s; baseline %s: %.6g %s; ratio %.3f\n", res.name,
	       value, unit, res.baseline, baseline_value, unit, ratio);
	fflush(stdout);
	if (r->n == BENCH_MAX_RESULTS)
		return;
	res.value = value;
	res.baseline_value = baseline_value;
	r->results[r->n++] = res;
}

int
bench_report_finish(struct bench_report **rp)
{
	struct bench_report *r = *rp;
	FILE *f;
	size_t i;
	int ret = 0;

	*rp = NULL;
	if (r->json_path != NULL) {
		f = fopen(r->json_path, "w");
		if (f == NULL) {
			perror(r->json_path);
			free(r);
			return 1;
		}
		fputs("[\n", f);
		for (i = 0; i < r->n; i++) {
			const struct bench_result *res = &r->results[i];

			/* Names and units are our own ASCII identifiers. */
			fprintf(f,
			        "  {\"name\": \"%s\", \"value\": %.9g, "
			        "\"unit\": \"%s\", \"baseline\": \"%s\", "
			        "\"baseline_value\": %.9g, \"ratio\": "
			        "%.6g}%s\n",
			        res->name, res->value, res->unit, res->baseline,
			        res->baseline_value,
			        res->baseline_value != 0
			                ? res->value / res->baseline_value
			                : 0,
			        i + 1 < r->n ? "," : "");
		}
		fputs("]\n", f);
		if (fclose(f) != 0)
			ret = 1;
	}
	free(r);
	return ret;
}

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
bench_best_of(int rounds, void (*fn)(void *arg), void *arg)
{
	double best = 0, t;
	int i;

	for (i = 0; i < rounds; i++) {
		t = bench_now();
		fn(arg);
		t = bench_now() - t;
		if (i == 0 || t < best)
			best = t;
	}
	return best;
}

long
bench_peak_rss_kib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return ru.ru_maxrss;
}
