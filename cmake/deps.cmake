# Finds the system libraries through pkg-config. A missing one stops the
# configure step with the Debian package that provides it.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
	message(FATAL_ERROR "pkg-config not found: install the Debian package "
		"'pkgconf' (or run: packaging/install-deps.sh build)")
endif()

function(sb_require_pkg var module debian)
	pkg_check_modules(${var} QUIET IMPORTED_TARGET ${module})
	if(NOT ${var}_FOUND)
		message(FATAL_ERROR "library '${module}' not found: install the "
			"Debian package '${debian}' (or run: "
			"packaging/install-deps.sh build)")
	endif()
	message(STATUS "found ${module} ${${var}_VERSION}")
endfunction()

sb_require_pkg(SODIUM libsodium libsodium-dev)
sb_require_pkg(OPENSSL openssl libssl-dev)
sb_require_pkg(CURL libcurl libcurl4-openssl-dev)
sb_require_pkg(JSONC json-c libjson-c-dev)
sb_require_pkg(SQLITE sqlite3 libsqlite3-dev)
sb_require_pkg(MHD libmicrohttpd libmicrohttpd-dev)
