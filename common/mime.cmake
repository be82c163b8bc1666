# RFC 5322 / MIME structure: header fields, Content-* parameters and the
# incremental part-tree parser (mime.h).
target_sources(sb_common PRIVATE
	mime.c
	mime-check.c
	mime-header.c
	mime-param.c)

sb_add_test(test-mime SOURCES test-mime.c test-mime-util.c LIBS sb_common)
sb_add_test(test-mime-header SOURCES test-mime-header.c LIBS sb_common)
sb_add_test(test-mime-corpus SOURCES test-mime-corpus.c test-mime-util.c
	LIBS sb_common)
sb_add_fuzz(fuzz-mime SOURCE fuzz-mime.c LIBS sb_common CORPUS fuzz/mime)
