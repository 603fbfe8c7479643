# sio_embed_text(TARGET target FILE path NAME identifier HEADER name.hpp): turns a text file of
# the source tree (an HTML template) into a generated header that defines
#   inline constexpr std::string_view <identifier>
# (namespace sio::embedded), rebuilt whenever the file changes. The header lands in
# <binary dir>/embedded/sio/embedded/<name.hpp>, which is added to the target's private
# include path.
function(sio_embed_text)
  cmake_parse_arguments(E "" "TARGET;FILE;NAME;HEADER" "" ${ARGN})
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/embedded/sio/embedded)
  set(out ${out_dir}/${E_HEADER})
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DIN=${E_FILE} -DOUT=${out} -DNAME=${E_NAME}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_text.cmake
    DEPENDS ${E_FILE} ${PROJECT_SOURCE_DIR}/cmake/embed_text.cmake
    COMMENT "Embedding ${E_FILE}"
    VERBATIM)
  target_sources(${E_TARGET} PRIVATE ${out})
  target_include_directories(${E_TARGET} PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/embedded)
endfunction()
