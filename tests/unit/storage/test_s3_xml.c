/*
 * test_s3_xml.c - reading S3's XML responses.  The documents follow the
 * examples of the S3 API Reference for Error, ListObjectsV2 and
 * ListMultipartUploads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "storage/s3_xml.h"

static const char error_doc[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<Error>\n  <Code>NoSuchKey</Code>\n"
	"  <Message>The resource &lt;a&amp;b&gt; does not exist.</Message>\n"
	"  <Resource>/mybucket/myfoto.jpg</Resource>\n"
	"  <RequestId>4442587FB7D0A2F9</RequestId>\n</Error>";

static const char list_doc[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>bucket</Name><Prefix/><KeyCount>2</KeyCount>"
	"<MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
	"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
	"</NextContinuationToken>"
	"<Contents><Key>a &amp; b/&#233;t&#xE9;.txt</Key>"
	"<LastModified>2026-12-04T19:48:34.000Z</LastModified>"
	"<ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag>"
	"<Size>857</Size><StorageClass>STANDARD</StorageClass></Contents>"
	"<Contents><Key><![CDATA[x<y]]></Key><Size>0</Size></Contents>"
	"</ListBucketResult>";

static const char uploads_doc[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/"
	"2006-03-01/\"><Bucket>bucket</Bucket><KeyMarker></KeyMarker>"
	"<NextKeyMarker>my-movie.m2ts</NextKeyMarker>"
	"<NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ"
	"</NextUploadIdMarker><MaxUploads>3</MaxUploads>"
	"<IsTruncated>true</IsTruncated>"
	"<Upload><Key>my-divisor</Key><UploadId>XMgbGlrZSBlbHZpbmcncyBub3Qg"
	"aGF2aW5nIG11Y2ggbHVjaw</UploadId><StorageClass>STANDARD"
	"</StorageClass><Initiated>2010-11-10T20:48:33.000Z</Initiated>"
	"</Upload><Upload><Key>my-movie.m2ts</Key><UploadId>VXBsb2FkIElEIGZv"
	"ciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
	"<Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>"
	"</ListMultipartUploadsResult>";

static void xml_error_fields(void **state)
{
	char code[64], message[256], request_id[128];

	(void)state;
	s3_xml_error(error_doc, strlen(error_doc), code, message, request_id);
	assert_string_equal(code, "NoSuchKey");
	assert_string_equal(message, "The resource <a&b> does not exist.");
	assert_string_equal(request_id, "4442587FB7D0A2F9");
	s3_xml_error("", 0, code, message, request_id);
	assert_string_equal(code, "");
	s3_xml_error("not xml at all", 14, code, message, request_id);
	assert_string_equal(message, "");
}

static void xml_root_skips_declaration(void **state)
{
	struct s3_xml_span root;

	(void)state;
	assert_int_equal(s3_xml_root(error_doc, strlen(error_doc), &root), 0);
	assert_int_equal(root.len, 5);
	assert_memory_equal(root.p, "Error", 5);
	assert_int_equal(s3_xml_root(list_doc, strlen(list_doc), &root), 0);
	assert_int_equal(root.len, strlen("ListBucketResult"));
	assert_int_equal(s3_xml_root("", 0, &root), -1);
}

static void xml_listing_entries(void **state)
{
	struct s3_xml_span span = { list_doc, strlen(list_doc) }, entry;
	char text[256];

	(void)state;
	assert_int_equal(s3_xml_text(&span, "IsTruncated", text,
				     sizeof(text)), 1);
	assert_string_equal(text, "true");
	assert_int_equal(s3_xml_text(&span, "NextContinuationToken", text,
				     sizeof(text)), 1);
	assert_string_equal(text,
			    "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	assert_int_equal(s3_xml_text(&span, "Prefix", text, sizeof(text)), 1);
	assert_string_equal(text, "");

	assert_int_equal(s3_xml_next(&span, "Contents", &entry), 1);
	assert_int_equal(s3_xml_text(&entry, "Key", text, sizeof(text)), 1);
	assert_string_equal(text, "a & b/\xc3\xa9t\xc3\xa9.txt");
	assert_int_equal(s3_xml_text(&entry, "Size", text, sizeof(text)), 1);
	assert_string_equal(text, "857");
	assert_int_equal(s3_xml_text(&entry, "ETag", text, sizeof(text)), 1);
	assert_string_equal(text, "\"599bab3ed2c697f1d26842727561fd94\"");
	assert_int_equal(s3_xml_next(&span, "Contents", &entry), 1);
	assert_int_equal(s3_xml_text(&entry, "Key", text, sizeof(text)), 1);
	assert_string_equal(text, "x<y");
	assert_int_equal(s3_xml_next(&span, "Contents", &entry), 0);
}

static void xml_multipart_uploads(void **state)
{
	struct s3_xml_span span = { uploads_doc, strlen(uploads_doc) }, up;
	char text[256];
	int count = 0;

	(void)state;
	while (s3_xml_next(&span, "Upload", &up)) {
		assert_int_equal(s3_xml_text(&up, "Key", text, sizeof(text)),
				 1);
		assert_string_equal(text, count ? "my-movie.m2ts" :
				    "my-divisor");
		assert_int_equal(s3_xml_text(&up, "Initiated", text,
					     sizeof(text)), 1);
		assert_string_equal(text, "2010-11-10T20:48:33.000Z");
		count++;
	}
	assert_int_equal(count, 2);
	span = (struct s3_xml_span){ uploads_doc, strlen(uploads_doc) };
	assert_int_equal(s3_xml_text(&span, "NextKeyMarker", text,
				     sizeof(text)), 1);
	assert_string_equal(text, "my-movie.m2ts");
	assert_int_equal(s3_xml_text(&span, "KeyMarker", text, sizeof(text)),
			 1);
	assert_string_equal(text, "");
}

static void xml_text_limits(void **state)
{
	static const char doc[] = "<A><B>0123456789</B><C>&bogus;</C>"
				  "<D>&#0;</D><E>&#xD800;</E></A>";
	struct s3_xml_span span = { doc, strlen(doc) };
	char small[8];
	char text[64];

	(void)state;
	assert_int_equal(s3_xml_text(&span, "B", small, sizeof(small)), -1);
	assert_int_equal(s3_xml_text(&span, "B", text, sizeof(text)), 1);
	assert_int_equal(s3_xml_text(&span, "C", text, sizeof(text)), -1);
	assert_int_equal(s3_xml_text(&span, "D", text, sizeof(text)), -1);
	assert_int_equal(s3_xml_text(&span, "E", text, sizeof(text)), -1);
	assert_int_equal(s3_xml_text(&span, "Missing", text, sizeof(text)),
			 0);
	/* A name that only starts like another element does not match. */
	assert_int_equal(s3_xml_text(&span, "Bx", text, sizeof(text)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(xml_error_fields),
		cmocka_unit_test(xml_root_skips_declaration),
		cmocka_unit_test(xml_listing_entries),
		cmocka_unit_test(xml_multipart_uploads),
		cmocka_unit_test(xml_text_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
