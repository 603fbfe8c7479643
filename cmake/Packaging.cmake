# `cpack` (run in a build folder) makes a Debian package of what cli/CMakeLists.txt installs:
# /usr/bin/sioreplay, its man page and its bash completion. The runtime Depends are computed by
# dpkg-shlibdeps (dpkg-dev) from the libraries the binary really links (libpcap, libssl,
# zlib, mimalloc, libstdc++, ...), so they follow the build's options.
set(SIO_PACKAGE_MAINTAINER
    "sioreplay maintainers <maintainers@users.noreply.r-seed-d605a1a2.example>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sioreplay)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${SIO_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "record Socket.IO traffic and replay it as load tests behind sticky load balancers")
set(CPACK_PACKAGE_DESCRIPTION
    "sioreplay rebuilds the Socket.IO sessions of browser HAR files and pcap/pcapng captures \
(or a live interface) into recordings, converts them to Artillery v2 scenarios with the load \
balancer's route cookie parameterized, and replays scenarios at N times the load from C++ with \
a cookie jar per virtual user, so sticky sessions work. Runs can be sharded over machines and \
their reports merged exactly.")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # sioreplay_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${SIO_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS ca-certificates) # https/wss targets verify certificates
set(CPACK_DEBIAN_PACKAGE_SUGGESTS bash-completion)
include(CPack)
