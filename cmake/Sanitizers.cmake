# sio_set_sanitizers(target): adds -fsanitize=... for the checked list in SIO_SANITIZER.
# With SIO_FUZZ, the code is also instrumented for libFuzzer's coverage (fuzzer-no-link); the fuzz
# targets themselves link with -fsanitize=fuzzer (fuzz/CMakeLists.txt).
function(sio_set_sanitizers target)
  if(SIO_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
      message(FATAL_ERROR "SIO_FUZZ needs clang (libFuzzer); use the fuzz preset")
    endif()
    target_compile_options(${target} INTERFACE -fsanitize=fuzzer-no-link)
  endif()
  if(NOT SIO_SANITIZER)
    return()
  endif()
  foreach(s IN LISTS SIO_SANITIZER)
    if(NOT s MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "SIO_SANITIZER: unknown sanitizer '${s}'")
    endif()
  endforeach()
  if("thread" IN_LIST SIO_SANITIZER AND "address" IN_LIST SIO_SANITIZER)
    message(FATAL_ERROR "SIO_SANITIZER: thread and address cannot be combined")
  endif()
  list(JOIN SIO_SANITIZER "," joined)
  target_compile_options(${target} INTERFACE -fsanitize=${joined} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
  target_link_options(${target} INTERFACE -fsanitize=${joined})
  if("thread" IN_LIST SIO_SANITIZER AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # Boost.Asio's reactor uses std::atomic_thread_fence, which TSan does not model; g++ 12
    # warns about it (-Wtsan), and -Werror would stop the build.
    target_compile_options(${target} INTERFACE -Wno-tsan)
  endif()
endfunction()
