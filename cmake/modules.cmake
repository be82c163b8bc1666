# Helpers shared by every folder's CMakeLists.txt.

# sb_module(NAME [SOURCES ...] [DEPS ...])
# Declares the library sb_NAME for folder NAME. Its headers are reached as
# "NAME/header.h" through a per-module include directory in the build tree,
# so only targets that link sb_NAME can include them: an include that breaks
# the dependency arrows fails to compile. Without sources the module is an
# interface library (a folder a later change fills).
function(sb_module name)
	cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
	set(inc ${CMAKE_BINARY_DIR}/include/${name})
	file(MAKE_DIRECTORY ${inc})
	file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR} ${inc}/${name} SYMBOLIC)
	if(M_SOURCES)
		add_library(sb_${name} STATIC ${M_SOURCES})
		target_include_directories(sb_${name} PUBLIC ${inc})
		target_link_libraries(sb_${name} PUBLIC ${M_DEPS})
	else()
		add_library(sb_${name} INTERFACE)
		target_include_directories(sb_${name} INTERFACE ${inc})
		target_link_libraries(sb_${name} INTERFACE ${M_DEPS})
	endif()
	sb_check_headers(${name})
endfunction()

# Every header must compile on its own: one generated source file per
# header of the folder includes only that header, and all are compiled as
# part of the build.
function(sb_check_headers name)
	file(GLOB headers CONFIGURE_DEPENDS
		RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*.h)
	set(sources)
	foreach(h ${headers})
		string(MAKE_C_IDENTIFIER ${h} id)
		set(src ${CMAKE_CURRENT_BINARY_DIR}/header-check/${id}.c)
		set(text "#include \"${name}/${h}\"\nint sb_header_check_${id};\n")
		if(EXISTS ${src})
			file(READ ${src} old)
		endif()
		if(NOT "${old}" STREQUAL "${text}")
			file(WRITE ${src} "${text}")
		endif()
		list(APPEND sources ${src})
	endforeach()
	if(sources)
		add_library(sb_${name}_header_check OBJECT ${sources})
		target_link_libraries(sb_${name}_header_check PRIVATE sb_${name})
	endif()
endfunction()

# sb_add_test(NAME SOURCES ... LIBS ...)
# A unit test executable registered with ctest. It runs with the source
# folder as its working directory so test data is found by relative path.
function(sb_add_test name)
	cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
	if(FUZZ)
		return()
	endif()
	add_executable(${name} ${T_SOURCES})
	target_link_libraries(${name} PRIVATE sb_testlib ${T_LIBS})
	add_test(NAME ${name} COMMAND ${name}
		WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 120)
	endif()
	set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT})
endfunction()

# sb_add_fuzz(NAME SOURCE LIBS ... CORPUS DIR)
# A fuzz target defining LLVMFuzzerTestOneInput. With FUZZ=ON it links
# libFuzzer; otherwise it links a replay driver and its corpus runs under
# ctest as a regression test, so every crash once found stays fixed.
function(sb_add_fuzz name)
	cmake_parse_arguments(F "" "SOURCE;CORPUS" "LIBS" ${ARGN})
	if(FUZZ)
		add_executable(${name} ${F_SOURCE})
		target_link_libraries(${name} PRIVATE ${F_LIBS})
		target_link_options(${name} PRIVATE -fsanitize=fuzzer)
	else()
		add_executable(${name} ${F_SOURCE}
			${CMAKE_SOURCE_DIR}/tests/harness/fuzz-replay.c)
		target_link_libraries(${name} PRIVATE ${F_LIBS})
		add_test(NAME ${name}-corpus
			COMMAND ${name} ${CMAKE_CURRENT_SOURCE_DIR}/${F_CORPUS})
		set_tests_properties(${name}-corpus PROPERTIES TIMEOUT 300)
	endif()
	set_property(GLOBAL APPEND PROPERTY SB_FUZZ_TARGETS
		"${name}=${CMAKE_CURRENT_SOURCE_DIR}/${F_CORPUS}")
endfunction()
