/*
 * s3_xml.h - reading the few XML documents S3 returns (errors, multipart
 * upload ids, listings).  Private to src/storage.
 *
 * This is not a general XML parser: it finds elements by name in S3's
 * flat, namespace-default documents.  It skips the XML declaration,
 * comments and attributes, decodes the five predefined entities and
 * numeric character references, and treats CDATA as text.
 */
#ifndef HOIST_STORAGE_S3_XML_H
#define HOIST_STORAGE_S3_XML_H

#include <stddef.h>

/* A slice of the document. */
struct s3_xml_span {
	const char *p;
	size_t len;
};

/* Stores in *root the name of the document's root element; returns 0 or
 * -1 if there is none. */
int s3_xml_root(const char *doc, size_t len, struct s3_xml_span *root);

/*
 * Finds the next element called name in *cursor (a span that shrinks as
 * elements are consumed) and stores its content in *content.  Returns 1
 * when found, 0 when not.  Elements with the same name must not nest.
 */
int s3_xml_next(struct s3_xml_span *cursor, const char *name,
		struct s3_xml_span *content);

/*
 * Decodes the text of the first element called name inside span into out
 * (size outlen, NUL-terminated).  Returns 1 when found, 0 when missing, -1
 * when the decoded text does not fit or has an invalid reference.
 */
int s3_xml_text(const struct s3_xml_span *span, const char *name, char *out,
		size_t outlen);

/* Fills code, message and request id (each "" when missing) from an S3
 * <Error> document. */
void s3_xml_error(const char *doc, size_t len, char code[64],
		  char message[256], char request_id[128]);

#endif
