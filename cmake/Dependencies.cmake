# Every dependency comes from a Debian 12 package (scripts/install-deps.sh installs them).
find_package(OpenSSL 3 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Threads REQUIRED)
find_package(LibArchive 3.6 REQUIRED)
# zlib writes deterministic gzip ramdisks (libarchive's gzip writer stamps a time).
find_package(ZLIB REQUIRED)
# The registry client's HTTP (libcurl4-openssl-dev).
find_package(CURL 7.77 REQUIRED)
# The daemon: its job store (SQLite, WAL) and its HTTP API (cpp-httplib, header only).
find_package(SQLite3 3.40 REQUIRED)
find_package(PkgConfig REQUIRED)
# ISA-L's igzip inflates gzip layers, about 3.5x faster than zlib (libisal-dev).
pkg_check_modules(ISAL REQUIRED IMPORTED_TARGET libisal)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
# The PostgreSQL job store (scale-out mode): Debian's libpq-dev.
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
find_package(spdlog REQUIRED)
# Signing keys inside PKCS#11 tokens (pipeline/pkcs11_key.hpp): Debian's libp11-dev. A key URI
# without module-path uses p11-kit's proxy module (p11-kit-modules at run time).
pkg_check_modules(LIBP11 REQUIRED IMPORTED_TARGET libp11)
set(OCI2EIF_P11_KIT_PROXY "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/p11-kit-proxy.so" CACHE STRING
    "The PKCS#11 module used when a key's pkcs11: URI names none (p11-kit's proxy)")
if(OCI2EIF_BUILD_TESTS)
  find_package(doctest REQUIRED)
endif()
