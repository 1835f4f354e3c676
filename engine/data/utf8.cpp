#include "data/utf8.h"

#include "util/error.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>

namespace hy3::utf8 {

bool valid(std::string_view text, size_t* where) {
    size_t i = 0;
    while (i < text.size()) {
        utf8proc_int32_t cp = 0;
        const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + i),
                                        static_cast<utf8proc_ssize_t>(text.size() - i), &cp);
        if (n <= 0) {
            if (where) *where = i;
            return false;
        }
        i += static_cast<size_t>(n);
    }
    return true;
}

char32_t next(std::string_view text, size_t& i) {
    utf8proc_int32_t cp = 0;
    const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + i),
                                    static_cast<utf8proc_ssize_t>(text.size() - i), &cp);
    if (n <= 0) {
        ++i;
        return 0xFFFD;
    }
    i += static_cast<size_t>(n);
    return static_cast<char32_t>(cp);
}

void append(std::string& out, char32_t cp) {
    utf8proc_uint8_t buffer[4];
    const auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buffer);
    out.append(reinterpret_cast<const char*>(buffer), static_cast<size_t>(n));
}

namespace {

std::string normalize(std::string_view text, utf8proc_option_t options) {
    // ASCII is its own NFC, NFD, NFKC and NFKD: most text skips utf8proc's decomposition.
    if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) return std::string(text);
    utf8proc_uint8_t* result = nullptr;
    const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), static_cast<utf8proc_ssize_t>(text.size()),
                                &result, static_cast<utf8proc_option_t>(options | UTF8PROC_STABLE));
    if (n < 0) {
        std::free(result);
        throw Error(std::string("text: cannot normalise: ") + utf8proc_errmsg(n));
    }
    std::string out(reinterpret_cast<const char*>(result), static_cast<size_t>(n));
    std::free(result);
    return out;
}

}  // namespace

std::string nfc(std::string_view text) { return normalize(text, UTF8PROC_COMPOSE); }
std::string nfd(std::string_view text) { return normalize(text, UTF8PROC_DECOMPOSE); }
std::string nfkc(std::string_view text) { return normalize(text, static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_COMPAT)); }
std::string nfkd(std::string_view text) { return normalize(text, static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT)); }

bool isSpace(char32_t cp) {
    switch (cp) {
    case 0x20: case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
        return true;
    default:
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F) || (cp >= 0x2000 && cp <= 0x200A);
    }
}

bool isPrintable(char32_t cp) {
    if (cp == 0x20) return true;
    switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS: case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP: case UTF8PROC_CATEGORY_ZS:
        return false;
    default:
        return true;
    }
}

std::string trimStart(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        size_t j = i;
        if (!isSpace(next(text, j))) break;
        i = j;
    }
    return std::string(text.substr(i));
}

std::string trimEnd(std::string_view text) {
    size_t keep = 0, i = 0;
    while (i < text.size()) {
        const char32_t cp = next(text, i);
        if (!isSpace(cp)) keep = i;
    }
    return std::string(text.substr(0, keep));
}

std::string toUpper(std::string_view text) {
    std::string out;
    size_t i = 0;
    while (i < text.size()) append(out, static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(next(text, i)))));
    return out;
}

std::string toLower(std::string_view text) {
    std::string out;
    size_t i = 0;
    while (i < text.size()) append(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(next(text, i)))));
    return out;
}

}  // namespace hy3::utf8
