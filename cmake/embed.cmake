# SPDX-License-Identifier: MIT
# Writes OUT, a C file with one byte array per file of FILES (a |-separated list) named
# fw_console__<file name with . replaced by _>, NUL-terminated, and its length without the NUL:
# the console's page, script and style compiled into the daemon (gateway/console.c), so that it
# serves no file from disk.
string(REPLACE "|" ";" FILES "${FILES}")
set(_c "/* Generated from gateway/console/ by cmake/embed.cmake: do not edit. */\n#include <stddef.h>\n")
foreach(_f IN LISTS FILES)
  get_filename_component(_name "${_f}" NAME)
  string(REPLACE "." "_" _id "${_name}")
  file(READ "${_f}" _hex HEX)
  string(LENGTH "${_hex}" _n)
  math(EXPR _len "${_n} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _bytes "${_hex}")
  string(APPEND _c "const unsigned char fw_console__${_id}[] = {${_bytes}0x00};\n")
  string(APPEND _c "const size_t fw_console__${_id}_len = ${_len};\n")
endforeach()
file(WRITE "${OUT}.tmp" "${_c}")
configure_file("${OUT}.tmp" "${OUT}" COPYONLY)
