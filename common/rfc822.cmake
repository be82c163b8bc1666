# RFC 5322 field values and content decoding: base64 and quoted-printable,
# RFC 2047 encoded words, address lists and dates.
target_sources(sb_common PRIVATE
	codec.c
	rfc2047.c
	address.c
	date.c)

sb_add_test(test-codec SOURCES test-codec.c LIBS sb_common)
sb_add_test(test-rfc2047 SOURCES test-rfc2047.c LIBS sb_common)
sb_add_test(test-address SOURCES test-address.c LIBS sb_common)
sb_add_test(test-date SOURCES test-date.c LIBS sb_common)

sb_add_fuzz(fuzz-codec SOURCE fuzz-codec.c LIBS sb_common
	CORPUS fuzz/codec)
sb_add_fuzz(fuzz-rfc2047 SOURCE fuzz-rfc2047.c LIBS sb_common
	CORPUS fuzz/rfc2047)
sb_add_fuzz(fuzz-address SOURCE fuzz-address.c LIBS sb_common
	CORPUS fuzz/address)
sb_add_fuzz(fuzz-date SOURCE fuzz-date.c LIBS sb_common
	CORPUS fuzz/date)
