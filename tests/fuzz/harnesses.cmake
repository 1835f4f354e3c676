# The fuzz harnesses, one per parser the outside world feeds (NAME_fuzz.cpp, corpus/NAME).
set(HY3_FUZZ_HARNESSES
  jinja safetensors model_index model_config project tokenizer_json tokenize records events run_store)
