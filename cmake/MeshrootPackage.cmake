# Debian packages from the install components (`cpack -G DEB` in the build
# dir): meshroot (the admin host) and meshroot-appliance (the offline root).
# Runtime dependencies come from dpkg-shlibdeps on the installed binaries.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME meshroot)
set(CPACK_PACKAGE_VENDOR meshroot)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(MESHROOT_MAINTAINER "meshroot maintainers <meshroot@localhost>" CACHE STRING
  "Maintainer field of the Debian packages")
set(CPACK_PACKAGE_CONTACT "${MESHROOT_MAINTAINER}")
# Debug information stays in the build tree.
set(CPACK_STRIP_FILES ON)
# Install with DESTDIR and the packaging prefix (/usr), so that what the
# install writes into files (the unit's paths) is the installed path.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL host appliance)
set(CPACK_COMPONENTS_GROUPING IGNORE)
# What the package name says, not the component name.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)

set(CPACK_DEBIAN_HOST_PACKAGE_NAME meshroot)
set(CPACK_DEBIAN_HOST_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_HOST_PACKAGE_SUGGESTS "bash-completion")
set(CPACK_COMPONENT_HOST_DESCRIPTION "offline root CA for Istio meshes: admin host tool
meshroot keeps the workspace of a fleet of Istio clusters: it makes each
cluster's intermediate CA key and request, carries the requests to the
offline meshroot appliance on removable media or over its USB link, and
writes the signed intermediates as Istio cacerts file sets and Secrets.
The package holds the meshroot command, the udev rule that lets the
plugdev group and the logged-in user open the appliance over USB, man
pages and shell completions.")

set(CPACK_DEBIAN_APPLIANCE_PACKAGE_NAME meshroot-appliance)
set(CPACK_DEBIAN_APPLIANCE_PACKAGE_SECTION admin)
# p11-kit is loaded (dlopen) when the token is named by a PKCS#11 URI, so
# dpkg-shlibdeps does not see it: named here.
set(CPACK_DEBIAN_APPLIANCE_PACKAGE_DEPENDS "libp11-kit0")
# The root key lives in a PKCS#11 token; the module is the site's choice.
set(CPACK_DEBIAN_APPLIANCE_PACKAGE_SUGGESTS "opensc, pcscd, softhsm2")
# The unit and its gadget script (modprobe, mount).
set(CPACK_DEBIAN_APPLIANCE_PACKAGE_RECOMMENDS "systemd, kmod")
if(MESHROOT_BOARD STREQUAL "sim")
  set(MESHROOT_BOARD_NOTE "

This build is for the simulated board (MESHROOT_BOARD=sim): for tests,
not for an appliance.")
else()
  set(MESHROOT_BOARD_NOTE "")
endif()
set(CPACK_COMPONENT_APPLIANCE_DESCRIPTION "offline root CA for Istio meshes: the appliance
meshroot-appliance runs on an air-gapped board and holds the mesh's root
key in a PKCS#11 token: the key ceremony, signing the intermediates of
requests from removable media or the USB link after the operator's
approval, revocation, CRLs and a tamper-evident audit log.
The package holds the meshroot-appliance command, a systemd unit for
`serve --usb`, the configfs USB gadget setup of a Linux board, the udev
rule for the approve button and man pages.${MESHROOT_BOARD_NOTE}")

include(CPack)
