/*
 * replay.c - a main() for the fuzz targets in ordinary builds.  It feeds
 * every file named on the command line (or every file of a named folder)
 * to LLVMFuzzerTestOneInput once, so the saved corpus runs as a
 * regression test under the normal and the sanitizer builds.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_INPUT (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	size_t size;

	if (!f) {
		fprintf(stderr, "replay: cannot open '%s'\n", path);
		return -1;
	}
	data = malloc(REPLAY_MAX_INPUT);
	if (!data) {
		fclose(f);
		return -1;
	}
	size = fread(data, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int replay_path(const char *path, int *count)
{
	struct stat st;
	struct dirent *entry;
	DIR *dir;
	int rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: '%s' does not exist\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((entry = readdir(dir)) != NULL) {
		char child[4096];

		if (entry->d_name[0] == '.')
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, entry->d_name);
		if (replay_path(child, count))
			rc = -1;
	}
	closedir(dir);
	return rc;
}

int main(int argc, char **argv)
{
	int count = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i], &count))
			rc = 1;
	printf("replayed %d inputs\n", count);
	if (count == 0) {
		fprintf(stderr, "replay: no input found\n");
		return 1;
	}
	return rc;
}
