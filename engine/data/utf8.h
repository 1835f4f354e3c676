#pragma once
// UTF-8 helpers shared by the tokenizer, the chat templates and the record readers.
#include <cstdint>
#include <string>
#include <string_view>

namespace hy3::utf8 {

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates). `where` receives the byte
// offset of the first bad byte.
bool valid(std::string_view text, size_t* where = nullptr);

// Decodes the code point starting at `i` and advances `i`; returns U+FFFD for bad bytes.
char32_t next(std::string_view text, size_t& i);
void append(std::string& out, char32_t cp);

// Unicode normalisation forms through utf8proc. Throws hy3::Error on invalid UTF-8.
std::string nfc(std::string_view text);
std::string nfd(std::string_view text);
std::string nfkc(std::string_view text);
std::string nfkd(std::string_view text);

// JavaScript's idea of whitespace (String.prototype.trim): the references we match use it.
bool isJsWhitespace(char32_t cp);
std::string trimStart(std::string_view text);
std::string trimEnd(std::string_view text);

// Upper/lower case mapping of every code point (as JavaScript's toUpperCase/toLowerCase for
// one-to-one mappings).
std::string toUpper(std::string_view text);
std::string toLower(std::string_view text);

}  // namespace hy3::utf8
