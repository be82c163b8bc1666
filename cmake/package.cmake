# The Debian package: `cpack -G DEB` in a build tree (`make package` does
# it for the release build) makes saltbridge_VERSION_ARCH.deb of what
# packaging/CMakeLists.txt installs, under /usr.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME saltbridge)
set(CPACK_PACKAGE_VENDOR Saltbridge)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
	"local IMAP and SMTP bridge to end-to-end encrypted mail")
# Lines of the long description, as Debian wants them: under 80 columns.
string(JOIN "\n" CPACK_PACKAGE_DESCRIPTION
	"Saltbridge lets desktop mail clients (Thunderbird, Outlook, Apple Mail,"
	"mutt, mbsync) use an end-to-end encrypted Salt Mail account with"
	"standard IMAP and SMTP on localhost. It encrypts and decrypts every"
	"message on the user's machine and keeps an encrypted local replica, so"
	"that clients are served fast, even offline."
	""
	"saltmaild, the reference server of the Salt Mail API, is included.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(SB_PACKAGE_MAINTAINER
	"Saltbridge maintainers <maintainers@saltbridge.invalid>"
	CACHE STRING "The Maintainer field of the Debian package")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SB_PACKAGE_MAINTAINER}")

# Depends: worked out from the binaries by dpkg-shlibdeps (dpkg-dev, which
# build-essential brings) with the versions the build needs; without it,
# the Debian 12 packages of the libraries cmake/deps.cmake finds.
find_program(SB_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(SB_DPKG_SHLIBDEPS)
	set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
	set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6, libsodium23, libssl3, \
libcurl4, libjson-c5, libsqlite3-0, libmicrohttpd12, libgnutls30")
endif()
if(CMAKE_BUILD_TYPE MATCHES "^(Release|MinSizeRel)$")
	set(CPACK_STRIP_FILES ON)
endif()
include(CPack)
