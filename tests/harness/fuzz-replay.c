/*
 * Replays a fuzz target's corpus outside libFuzzer: every file named on the
 * command line, or found directly inside a named directory, is passed to
 * LLVMFuzzerTestOneInput once. Under ctest this turns each corpus into a
 * regression test; a crash or a sanitizer report fails it.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data;
	struct stat st;
	size_t n;

	if (f == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "fuzz-replay: cannot open %s\n", path);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	/* One spare byte, so an empty input still has a valid pointer. */
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL)
		abort();
	n = fread(data, 1, (size_t)st.st_size, f);
	fclose(f);
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 0;
}

static int
replay_dir(const char *dir, unsigned *count)
{
	struct dirent *de;
	char path[4096];
	DIR *d = opendir(dir);

	if (d == NULL) {
		fprintf(stderr, "fuzz-replay: cannot open %s\n", dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		                     de->d_name) >= sizeof(path))
			continue;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (replay_file(path) != 0) {
			closedir(d);
			return -1;
		}
		(*count)++;
	}
	closedir(d);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned count = 0;
	int i;

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "fuzz-replay: no such input %s\n",
			        argv[i]);
			return 1;
		}
		if (S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count) != 0
		                        : replay_file(argv[i]) != 0)
			return 1;
		if (!S_ISDIR(st.st_mode))
			count++;
	}
	if (count == 0) {
		fprintf(stderr, "fuzz-replay: no inputs replayed\n");
		return 1;
	}
	printf("%u passed, 0 failed\n", count);
	return 0;
}
