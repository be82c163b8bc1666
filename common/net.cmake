# Networking: TCP listeners and connections, OpenSSL contexts, the line
# reader, and the self-signed certificate. Included by CMakeLists.txt after
# sb_common is declared.
target_sources(sb_common PRIVATE
	cert.c
	linereader.c
	net.c
	service.c
	tls.c)

find_package(Threads REQUIRED)

sb_add_test(test-linereader SOURCES test-linereader.c LIBS sb_common)
sb_add_test(test-cert SOURCES test-cert.c LIBS sb_common)
sb_add_test(test-net SOURCES test-net.c LIBS sb_common)
sb_add_test(test-tls SOURCES test-tls.c LIBS sb_common)
if(TARGET test-net)
	target_link_libraries(test-net PRIVATE Threads::Threads)
	target_link_libraries(test-tls PRIVATE Threads::Threads)
endif()

sb_add_fuzz(fuzz-linereader SOURCE fuzz-linereader.c LIBS sb_common
	CORPUS fuzz/linereader)
