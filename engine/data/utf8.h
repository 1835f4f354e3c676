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

// Python's idea of whitespace (str.isspace, str.strip(), str.split(), Jinja2's whitespace control):
// general category Zs, or bidirectional class WS, B or S. Chat templates run under Python's Jinja2
// in transformers, the reference the tests compare with.
bool isSpace(char32_t cp);
std::string trimStart(std::string_view text);
std::string trimEnd(std::string_view text);

// Python's str.isprintable for one code point: false for the categories Cc, Cf, Cs, Co, Cn, Zl, Zp
// and Zs other than the space. repr() escapes what is not printable.
bool isPrintable(char32_t cp);

// Upper/lower case mapping of every code point (as Python's upper()/lower() for one-to-one
// mappings).
std::string toUpper(std::string_view text);
std::string toLower(std::string_view text);

}  // namespace hy3::utf8
