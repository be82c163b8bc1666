#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#include "common/file.h"
#include "test.h"

static void
test_file_atomic_write_and_read(void)
{
	char path[512];
	const char *error;
	struct sb_buf b;
	struct stat st;
	int err = 0;

	snprintf(path, sizeof(path), "%s/secret.bin", test_tmpdir());
	TEST_EQ_INT(sb_file_write_atomic(path, "one\0two", 7, 0600, &error), 0);
	TEST_EQ_INT(stat(path, &st), 0);
	TEST_EQ_INT(st.st_mode & 0777, 0600);
	/* Replacing keeps the mode asked for, and leaves no temp file. */
	TEST_EQ_INT(sb_file_write_atomic(path, "three", 5, 0640, &error), 0);
	TEST_EQ_INT(stat(path, &st), 0);
	TEST_EQ_INT(st.st_mode & 0777, 0640);

	sb_buf_init(&b, 100);
	TEST_EQ_INT(sb_file_read_all(path, &b, &err, &error), 0);
	TEST_EQ_MEM(b.data, b.len, "three", 5);
	sb_buf_free(&b);

	{
		DIR *d = opendir(test_tmpdir());
		struct dirent *de;
		int files = 0;

		TEST_ASSERT(d != NULL);
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] != '.')
				files++;
		}
		closedir(d);
		TEST_EQ_INT(files, 1);
	}
}

static void
test_file_read_errors(void)
{
	char path[512];
	const char *error = NULL;
	struct sb_buf b;
	int err = 0;

	snprintf(path, sizeof(path), "%s/missing", test_tmpdir());
	sb_buf_init(&b, 4);
	TEST_EQ_INT(sb_file_read_all(path, &b, &err, &error), -1);
	TEST_EQ_INT(err, ENOENT);
	TEST_ASSERT(strstr(error, "missing") != NULL);

	snprintf(path, sizeof(path), "%s/big", test_tmpdir());
	TEST_EQ_INT(sb_file_write_atomic(path, "12345", 5, 0600, &error), 0);
	TEST_EQ_INT(sb_file_read_all(path, &b, &err, &error), -1);
	TEST_EQ_INT(err, EFBIG);
	TEST_ASSERT(b.data == NULL);
}

static void
test_file_write_into_missing_dir_fails(void)
{
	char path[512];
	const char *error = NULL;

	snprintf(path, sizeof(path), "%s/no/such/dir/f", test_tmpdir());
	TEST_EQ_INT(sb_file_write_atomic(path, "x", 1, 0600, &error), -1);
	TEST_ASSERT(strstr(error, "no/such/dir/f") != NULL);
}

static void
test_mkdir_p(void)
{
	char path[512];
	const char *error;
	struct stat st;

	snprintf(path, sizeof(path), "%s/a/b/c", test_tmpdir());
	TEST_EQ_INT(sb_mkdir_p(path, 0700, &error), 0);
	TEST_EQ_INT(stat(path, &st), 0);
	TEST_ASSERT(S_ISDIR(st.st_mode));
	TEST_EQ_INT(sb_mkdir_p(path, 0700, &error), 0);
	TEST_EQ_INT(sb_mkdir_p("", 0700, &error), -1);
	/* A file in the way is an error, not a success. */
	snprintf(path, sizeof(path), "%s/a/file", test_tmpdir());
	TEST_EQ_INT(sb_file_write_atomic(path, "x", 1, 0600, &error), 0);
	TEST_EQ_INT(sb_mkdir_p(path, 0700, &error), -1);
	TEST_ASSERT(strstr(error, "not a folder") != NULL);
}

static void
test_file_create_exclusive(void)
{
	char path[512];
	const char *error = NULL;
	struct sb_buf b;
	struct stat st;
	int err = 0;

	snprintf(path, sizeof(path), "%s/once", test_tmpdir());
	TEST_EQ_INT(
	        sb_file_create_exclusive(path, "first", 5, 0600, &err, &error),
	        0);
	TEST_EQ_INT(stat(path, &st), 0);
	TEST_EQ_INT(st.st_mode & 0777, 0600);
	TEST_EQ_INT(
	        sb_file_create_exclusive(path, "second", 6, 0600, &err, &error),
	        -1);
	TEST_EQ_INT(err, EEXIST);
	sb_buf_init(&b, 100);
	TEST_EQ_INT(sb_file_read_all(path, &b, &err, &error), 0);
	TEST_EQ_MEM(b.data, b.len, "first", 5);
	sb_buf_free(&b);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"atomic write and read", test_file_atomic_write_and_read},
	        {"read errors", test_file_read_errors},
	        {"write into missing dir fails",
	         test_file_write_into_missing_dir_fails},
	        {"mkdir -p", test_mkdir_p},
	        {"create exclusive", test_file_create_exclusive},
	        {NULL, NULL},
	};
	return test_run(cases);
}
