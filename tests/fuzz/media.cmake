# libFuzzer targets for the media loaders (reliability.md §10.2). Include from tests/fuzz/CMakeLists.txt when
# GLMV_BUILD_FUZZERS is ON (clang):   include(${CMAKE_CURRENT_SOURCE_DIR}/media.cmake)
# Each target gets a short smoke run in CI (label fuzz-smoke) over the committed seeds in tests/data/media/seeds.
# glmv_media itself is instrumented for coverage (fuzzer-no-link); FFmpeg, poppler and the image libraries are not:
# they are fuzzed upstream on OSS-Fuzz, and we fuzz our handling of them.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(WARNING "media fuzzers need clang; skipped")
    return()
endif()
target_compile_options(glmv_media PRIVATE -fsanitize=fuzzer-no-link)

set(GLMV_MEDIA_SEEDS ${PROJECT_SOURCE_DIR}/tests/data/media/seeds)
set(GLMV_FUZZ_SMOKE_SECONDS 20 CACHE STRING "Seconds per media fuzzer in the CI smoke run")
foreach(pair "fuzz_image_decode:image:64" "fuzz_video_probe:video:2048" "fuzz_pdf:pdf:2048")
    string(REPLACE ":" ";" parts ${pair})
    list(GET parts 0 name)
    list(GET parts 1 seeds)
    list(GET parts 2 malloc_mb)
    add_executable(${name} ${CMAKE_CURRENT_LIST_DIR}/${name}.cpp)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${name} PRIVATE glmv_media)
    # A fresh corpus folder per run so the committed seeds stay untouched.
    add_test(NAME ${name}_smoke
             COMMAND sh -c "rm -rf corpus_${name} && mkdir corpus_${name} && $<TARGET_FILE:${name}> corpus_${name} ${GLMV_MEDIA_SEEDS}/${seeds} -max_total_time=${GLMV_FUZZ_SMOKE_SECONDS} -rss_limit_mb=2048 -malloc_limit_mb=${malloc_mb} -timeout=25 -max_len=4194304 -print_final_stats=1"
             WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    set_tests_properties(${name}_smoke PROPERTIES LABELS fuzz-smoke TIMEOUT 120)
endforeach()
