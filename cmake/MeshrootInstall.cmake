# Install rules (GNUInstallDirs prefixes). Two components, one package each
# (cmake/MeshrootPackage.cmake): "host" for the admin host's `meshroot`,
# "appliance" for `meshroot-appliance` and what runs it on a
# boards/linux-gadget board.
include(GNUInstallDirs)

# Relative to the prefix, as Debian's systemd and udev read them under /usr.
set(MESHROOT_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING "systemd system unit dir (relative to the prefix)")
set(MESHROOT_UDEV_RULESDIR "lib/udev/rules.d" CACHE STRING "udev rules dir (relative to the prefix)")
set(MESHROOT_GADGET_DIR "${CMAKE_INSTALL_LIBEXECDIR}/meshroot")

install(TARGETS meshroot RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT host)
install(FILES host/99-meshroot.rules DESTINATION ${MESHROOT_UDEV_RULESDIR} COMPONENT host)

install(TARGETS meshroot-appliance RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT appliance)
install(PROGRAMS boards/linux-gadget/meshroot-gadget.sh DESTINATION ${MESHROOT_GADGET_DIR}
  COMPONENT appliance)
# The unit names the programs by absolute path: made at install time, from
# the prefix of that install (a package's /usr, not the build's default).
install(CODE "
  set(CMAKE_INSTALL_FULL_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  set(MESHROOT_GADGET_SCRIPT \"\${CMAKE_INSTALL_PREFIX}/${MESHROOT_GADGET_DIR}/meshroot-gadget.sh\")
  configure_file(${PROJECT_SOURCE_DIR}/boards/linux-gadget/meshroot-appliance.service.in
    ${PROJECT_BINARY_DIR}/install/meshroot-appliance.service @ONLY)" COMPONENT appliance)
install(FILES ${PROJECT_BINARY_DIR}/install/meshroot-appliance.service
  DESTINATION ${MESHROOT_SYSTEMD_UNITDIR} COMPONENT appliance)
install(FILES boards/linux-gadget/99-meshroot-button.rules DESTINATION ${MESHROOT_UDEV_RULESDIR}
  COMPONENT appliance)
# An example, not a conffile: the module and token are the site's choice.
install(FILES boards/linux-gadget/appliance.env.example
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/meshroot-appliance COMPONENT appliance)

# Man pages: section 1 is the host tool's, 8 the appliance's; of the file
# formats (5) the ceremony config is the appliance's, the others (the
# media layout) the host's. One package owns each file.
file(GLOB MESHROOT_MAN_PAGES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/man/*.[1-8])
foreach(page ${MESHROOT_MAN_PAGES})
  get_filename_component(name ${page} NAME)
  string(REGEX REPLACE "^.*\\.([1-8])$" "\\1" section ${name})
  if(section STREQUAL "8" OR name MATCHES "^meshroot-appliance"
     OR (section STREQUAL "5" AND name MATCHES "ceremony|config"))
    set(component appliance)
  else()
    set(component host)
  endif()
  install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section} COMPONENT ${component})
endforeach()

# Shell completions, under the name the shell looks for (bash's loader: the
# command; zsh: _command), in the package of the program they complete.
# mr_install_completions(DEST SUFFIX_REGEX FILE...): SUFFIX_REGEX is cut from
# each file's name to make that name.
function(mr_install_completions dest suffix)
  foreach(file ${ARGN})
    get_filename_component(name ${file} NAME)
    string(REGEX REPLACE "${suffix}$" "" name ${name})
    set(component host)
    if(name MATCHES "^_?meshroot-appliance")
      set(component appliance)
    endif()
    install(FILES ${file} DESTINATION ${dest} RENAME ${name} COMPONENT ${component})
  endforeach()
endfunction()
file(GLOB MESHROOT_BASH_COMPLETIONS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/completions/*.bash
  ${PROJECT_SOURCE_DIR}/completions/bash/*)
mr_install_completions(${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions
  "(\\.bash|-completion)" ${MESHROOT_BASH_COMPLETIONS})
file(GLOB MESHROOT_ZSH_COMPLETIONS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/completions/_*
  ${PROJECT_SOURCE_DIR}/completions/zsh/_*)
mr_install_completions(${CMAKE_INSTALL_DATAROOTDIR}/zsh/vendor-completions "\\.zsh"
  ${MESHROOT_ZSH_COMPLETIONS})
