# sio_set_warnings(target): the project's warning set, as errors when SIO_WARNINGS_AS_ERRORS is ON.
function(sio_set_warnings target)
  target_compile_options(${target} INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
    -Wnon-virtual-dtor -Woverloaded-virtual -Wimplicit-fallthrough)
  if(SIO_WARNINGS_AS_ERRORS)
    target_compile_options(${target} INTERFACE -Werror)
  endif()
endfunction()
