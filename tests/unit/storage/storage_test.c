#include "storage_test.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"

void storage_test_mkdtemp(char *out)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(out, 4096, "%s/hoist-storage-test-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(out));
}

void storage_test_rmtree(const char *path)
{
	struct hoist_err err = HOIST_ERR_INIT;

	assert_int_equal(hoist_util_remove_tree(path, &err), 0);
}

void storage_test_write(const char *path, const void *data, size_t len)
{
	const char *p = data;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
	assert_int_equal(close(fd), 0);
}

char *storage_test_read(const char *path, size_t *len)
{
	struct stat st;
	char *data;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	data = malloc((size_t)st.st_size + 1);
	assert_non_null(data);
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, data + done, (size_t)st.st_size - done);

		assert_true(n > 0);
		done += (size_t)n;
	}
	data[done] = '\0';
	close(fd);
	*len = done;
	return data;
}

void storage_test_expect_err(const struct hoist_err *err, int code,
			     const char *text)
{
	if (err->code != code || !strstr(err->msg, text))
		print_error("expected %s error containing \"%s\", got %s: "
			    "\"%s\"\n", hoist_err_code_name(code), text,
			    hoist_err_code_name(err->code), err->msg);
	assert_int_equal(err->code, code);
	assert_non_null(strstr(err->msg, text));
}
