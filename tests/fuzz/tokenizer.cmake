# Tokenizer, BPE round trip and thinking/answer stream parser fuzzers (included from tests/fuzz/CMakeLists.txt).
glmv_add_fuzzer(fuzz_tokenizer_json.cpp LIBS glmv_inference)
glmv_add_fuzzer(fuzz_bpe_roundtrip.cpp LIBS glmv_inference)
target_compile_definitions(fuzz_bpe_roundtrip PRIVATE GLMV_ASSETS="${GLMV_SHARED_DIR}/glm4v-assets")
glmv_add_fuzzer(fuzz_think_splitter.cpp LIBS glmv_inference)
