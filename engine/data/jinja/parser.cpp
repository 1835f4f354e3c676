#include "data/jinja/parser.h"

#include "data/jinja/limits.h"
#include "data/utf8.h"
#include "util/error.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace hy3::jinja {
namespace {

// ----- preprocessing (as transformers does) ---------------------------------

// The final newline goes, and {% generation %} / {% endgeneration %} tags (which only mark spans
// for transformers) are removed. lstrip_blocks and trim_blocks are applied by the lexer, which
// keeps the original line numbers.
std::string preprocess(std::string s) {
    if (!s.empty() && s.back() == '\n') s.pop_back();
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
        const size_t open = s.find("{%", i);
        if (open == std::string::npos) {
            out += s.substr(i);
            break;
        }
        size_t k = open + 2;
        const bool lstrip = k < s.size() && s[k] == '-';
        if (lstrip) ++k;
        while (k < s.size() && s[k] == ' ') ++k;
        std::string word;
        while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) word += s[k++];
        const size_t close = s.find("%}", k);
        if ((word != "generation" && word != "endgeneration") || close == std::string::npos) {
            out += s.substr(i, open + 2 - i);
            i = open + 2;
            continue;
        }
        const bool rstrip = close > 0 && s[close - 1] == '-';
        std::string before = s.substr(i, open - i);
        if (lstrip) before = utf8::trimEnd(before);
        out += before;
        i = close + 2;
        if (rstrip)
            while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    }
    return out;
}

// ----- lexer -------------------------------------------------------------------------------------

struct Token {
    enum class Kind { Text, OpenExpr, CloseExpr, OpenStmt, CloseStmt, Name, String, Int, Float, Op, End };
    Kind kind;
    std::string text;
    int line;
};

bool isJsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
public:
    Lexer(const std::string& src, std::string name) : src_(src), name_(std::move(name)) {}

    std::vector<Token> run() {
        while (pos_ < src_.size()) {
            if (!inTag_) {
                lexText();
                continue;
            }
            lexInTag();
            if (inTag_ && ++tagTokens_ > limits::kTagTokens)
                error("a tag of more than " + std::to_string(limits::kTagTokens) + " tokens (the limit for one {{ }} or {% %})");
        }
        if (inTag_) error("the template ends inside a tag");
        tokens_.push_back({Token::Kind::End, "", line_});
        return std::move(tokens_);
    }

private:
    [[noreturn]] void error(const std::string& reason) const { fail(name_ + ":" + std::to_string(line_), reason); }

    void advance(size_t n) {
        for (size_t k = 0; k < n && pos_ < src_.size(); ++k)
            if (src_[pos_++] == '\n') ++line_;
    }

    bool at(const char* s) const { return src_.compare(pos_, std::strlen(s), s) == 0; }

    void stripTrailingText() {
        if (!tokens_.empty() && tokens_.back().kind == Token::Kind::Text) {
            tokens_.back().text = utf8::trimEnd(tokens_.back().text);
            if (tokens_.back().text.empty()) tokens_.pop_back();
        }
    }
    void skipLeadingSpace() {
        while (pos_ < src_.size() && isJsSpace(src_[pos_])) advance(1);
    }

    void lexText() {
        const int startLine = line_;
        std::string text;
        while (pos_ < src_.size() && !(src_[pos_] == '{' && pos_ + 1 < src_.size() &&
                                       (src_[pos_ + 1] == '%' || src_[pos_ + 1] == '{' || src_[pos_ + 1] == '#'))) {
            text += src_[pos_];
            advance(1);
        }
        // lstrip_blocks: spaces and tabs between a line start and a block tag or comment go.
        if (pos_ < src_.size() && (at("{%") || at("{#"))) {
            const size_t lineStart = text.find_last_of('\n');
            const size_t from = lineStart == std::string::npos ? 0 : lineStart + 1;
            const bool atLineStart = lineStart != std::string::npos || tokens_.empty() || lastEndedLine_;
            if (atLineStart && text.find_first_not_of(" \t", from) == std::string::npos) text.erase(from);
        }
        lastEndedLine_ = false;
        if (!text.empty()) tokens_.push_back({Token::Kind::Text, text, startLine});
        if (pos_ >= src_.size()) return;
        if (at("{#")) {
            advance(2);
            if (at("-")) {
                advance(1);
                stripTrailingText();
            }
            const size_t close = src_.find("#}", pos_);
            if (close == std::string::npos) error("comment is not closed with #}");
            const bool stripAfter = close > pos_ && src_[close - 1] == '-';
            advance(close + 2 - pos_);
            if (stripAfter) skipLeadingSpace();
            else trimBlock();
            return;
        }
        const bool expr = at("{{");
        advance(2);
        if (at("-")) {
            advance(1);
            stripTrailingText();
        } else if (at("+")) {
            advance(1);
        }
        tokens_.push_back({expr ? Token::Kind::OpenExpr : Token::Kind::OpenStmt, expr ? "{{" : "{%", line_});
        inTag_ = true;
        tagTokens_ = 0;
        exprTag_ = expr;
        depth_ = 0;
    }

    void lexInTag() {
        skipLeadingSpace();
        if (pos_ >= src_.size()) return;
        const char* close = exprTag_ ? "}}" : "%}";
        if (depth_ == 0 && (at(exprTag_ ? "-}}" : "-%}") || at(exprTag_ ? "+}}" : "+%}"))) {
            const bool strip = src_[pos_] == '-';
            advance(3);
            closeTag(strip);
            return;
        }
        if (depth_ == 0 && at(close)) {
            advance(2);
            closeTag(false);
            return;
        }
        const char c = src_[pos_];
        if (c == '\'' || c == '"') return lexString(c);
        if (std::isdigit(static_cast<unsigned char>(c))) return lexNumber();
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            std::string word;
            while (pos_ < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) {
                word += src_[pos_];
                advance(1);
            }
            tokens_.push_back({Token::Kind::Name, word, line_});
            return;
        }
        for (const char* op : {"//", "**", "==", "!=", "<=", ">="}) {
            if (at(op)) {
                tokens_.push_back({Token::Kind::Op, op, line_});
                advance(2);
                return;
            }
        }
        if (std::string("+-*/%~<>=|.,:()[]{}").find(c) != std::string::npos) {
            if (c == '(' || c == '[' || c == '{') ++depth_;
            if (c == ')' || c == ']' || c == '}') --depth_;
            tokens_.push_back({Token::Kind::Op, std::string(1, c), line_});
            advance(1);
            return;
        }
        error(std::string("unexpected character '") + c + "'");
    }

    void closeTag(bool stripAfter) {
        tokens_.push_back({exprTag_ ? Token::Kind::CloseExpr : Token::Kind::CloseStmt, exprTag_ ? "}}" : "%}", line_});
        inTag_ = false;
        if (stripAfter) skipLeadingSpace();
        else if (!exprTag_) trimBlock();
    }

    // trim_blocks: the first newline after a block tag or comment goes.
    void trimBlock() {
        if (pos_ < src_.size() && src_[pos_] == '\n') {
            advance(1);
            lastEndedLine_ = true;
        }
    }

    void lexString(char quote) {
        advance(1);
        std::string value;
        while (true) {
            if (pos_ >= src_.size()) error("string literal is not closed");
            const char c = src_[pos_];
            if (c == quote) {
                advance(1);
                break;
            }
            if (c == '\\') {
                if (pos_ + 1 >= src_.size()) error("string literal is not closed");
                const char e = src_[pos_ + 1];
                advance(2);
                switch (e) {
                case 'n': value += '\n'; break;
                case 't': value += '\t'; break;
                case 'r': value += '\r'; break;
                case 'b': value += '\b'; break;
                case 'f': value += '\f'; break;
                case 'v': value += '\v'; break;
                case '\\': value += '\\'; break;
                case '\'': value += '\''; break;
                case '"': value += '"'; break;
                case 'x':
                case 'u': {
                    const size_t len = e == 'x' ? 2 : 4;
                    const std::string hex = src_.substr(pos_, len);
                    if (hex.size() != len || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
                        error("invalid \\" + std::string(1, e) + " escape");
                    utf8::append(value, static_cast<char32_t>(std::stoul(hex, nullptr, 16)));
                    advance(len);
                    break;
                }
                default: error(std::string("unknown escape \\") + e + " in a string");
                }
                continue;
            }
            value += c;
            advance(1);
        }
        tokens_.push_back({Token::Kind::String, value, line_});
    }

    void lexNumber() {  // 12, 1.5, 1e-7, 2.5e+3 (Jinja2's literals, without _ separators)
        auto digitAt = [&](size_t at) { return at < src_.size() && std::isdigit(static_cast<unsigned char>(src_[at])); };
        auto takeDigits = [&](std::string& into) {
            while (digitAt(pos_)) {
                into += src_[pos_];
                advance(1);
            }
        };
        std::string digits;
        takeDigits(digits);
        bool isFloat = false;
        if (pos_ < src_.size() && src_[pos_] == '.' && digitAt(pos_ + 1)) {
            digits += '.';
            advance(1);
            takeDigits(digits);
            isFloat = true;
        }
        if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
            const size_t sign = pos_ + 1 < src_.size() && (src_[pos_ + 1] == '+' || src_[pos_ + 1] == '-') ? 1 : 0;
            if (digitAt(pos_ + 1 + sign)) {
                digits += src_.substr(pos_, 1 + sign);
                advance(1 + sign);
                takeDigits(digits);
                isFloat = true;
            }
        }
        tokens_.push_back({isFloat ? Token::Kind::Float : Token::Kind::Int, digits, line_});
    }

    const std::string& src_;
    std::string name_;
    std::vector<Token> tokens_;
    size_t pos_ = 0;
    int line_ = 1;
    bool inTag_ = false, exprTag_ = false;
    int64_t tagTokens_ = 0;
    bool lastEndedLine_ = false;  // the previous tag's trailing newline was trimmed: the text starts a line
    int depth_ = 0;
};

// ----- parser ------------------------------------------------------------------------------------

class Parser {
public:
    Parser(std::vector<Token> tokens, std::string name) : t_(std::move(tokens)), name_(std::move(name)) {}

    Body parseAll() {
        Body body = parseBody({});
        if (peek().kind != Token::Kind::End) error("unexpected {% " + word(1) + " %}");
        return body;
    }

private:
    // Counts the parser's own recursion (nested parentheses, brackets, unary operators, blocks):
    // past limits::kNesting it stops with an error instead of exhausting the stack.
    class Nested {
    public:
        explicit Nested(Parser& p) : p_(p) {
            if (++p_.depth_ > limits::kNesting) p_.error("nested more than " + std::to_string(limits::kNesting) + " levels deep");
        }
        ~Nested() { --p_.depth_; }
        Nested(const Nested&) = delete;
        Nested& operator=(const Nested&) = delete;

    private:
        Parser& p_;
    };
    int depth_ = 0;

    const Token& peek(size_t ahead = 0) const { return t_[std::min(p_ + ahead, t_.size() - 1)]; }
    [[noreturn]] void error(const std::string& reason) const { fail(name_ + ":" + std::to_string(peek().line), reason); }
    // Number literals as the lexer cut them (digits, a dot, an exponent); one too large is an error.
    int64_t integerLiteral(const std::string& text) const {
        errno = 0;
        const long long v = std::strtoll(text.c_str(), nullptr, 10);
        if (errno == ERANGE) error("integer literal " + text.substr(0, 40) + " is too large");
        return v;
    }
    double floatLiteral(const std::string& text) const {
        errno = 0;
        const double v = std::strtod(text.c_str(), nullptr);
        if (errno == ERANGE && std::abs(v) > 1) error("number literal " + text.substr(0, 40) + " is too large");
        return v;
    }
    std::string word(size_t ahead) const { return peek(ahead).text; }
    bool isOp(const char* op, size_t ahead = 0) const { return peek(ahead).kind == Token::Kind::Op && peek(ahead).text == op; }
    bool isName(const char* name, size_t ahead = 0) const { return peek(ahead).kind == Token::Kind::Name && peek(ahead).text == name; }
    void expectOp(const char* op) {
        if (!isOp(op)) error(std::string("expected '") + op + "', found '" + peek().text + "'");
        ++p_;
    }
    void expectName(const char* name) {
        if (!isName(name)) error(std::string("expected '") + name + "', found '" + peek().text + "'");
        ++p_;
    }
    std::string expectIdentifier() {
        if (peek().kind != Token::Kind::Name) error("expected a name, found '" + peek().text + "'");
        return t_[p_++].text;
    }
    void expectCloseStmt() {
        if (peek().kind != Token::Kind::CloseStmt) error("expected %}, found '" + peek().text + "'");
        ++p_;
    }
    // True when the next tokens are "{% <one of words>".
    bool atStmt(const std::vector<std::string>& words) const {
        if (peek().kind != Token::Kind::OpenStmt || peek(1).kind != Token::Kind::Name) return false;
        for (const auto& w : words)
            if (peek(1).text == w) return true;
        return false;
    }

    Body parseBody(const std::vector<std::string>& terminators) {
        const Nested nested(*this);
        Body body;
        while (peek().kind != Token::Kind::End && !atStmt(terminators)) {
            const Token& tok = peek();
            if (tok.kind == Token::Kind::Text) {
                auto s = std::make_unique<Stmt>();
                s->kind = Stmt::Kind::Text;
                s->line = tok.line;
                s->text = tok.text;
                ++p_;
                body.push_back(std::move(s));
            } else if (tok.kind == Token::Kind::OpenExpr) {
                ++p_;
                auto s = std::make_unique<Stmt>();
                s->kind = Stmt::Kind::Output;
                s->line = tok.line;
                s->expr = parseExpr();
                if (peek().kind != Token::Kind::CloseExpr) error("expected }}, found '" + peek().text + "'");
                ++p_;
                body.push_back(std::move(s));
            } else if (tok.kind == Token::Kind::OpenStmt) {
                body.push_back(parseStatement());
            } else {
                error("unexpected '" + tok.text + "'");
            }
        }
        return body;
    }

    StmtPtr parseStatement() {
        ++p_;  // {%
        const int line = peek().line;
        const std::string keyword = expectIdentifier();
        auto s = std::make_unique<Stmt>();
        s->line = line;
        if (keyword == "if") {
            s->kind = Stmt::Kind::If;
            s->conditions.push_back(parseExpr());
            expectCloseStmt();
            s->branches.push_back(parseBody({"elif", "else", "endif"}));
            while (true) {
                if (peek().kind == Token::Kind::End) error("{% if %} from line " + std::to_string(line) + " is not closed with {% endif %}");
                ++p_;
                const std::string w = expectIdentifier();
                if (w == "elif") {
                    s->conditions.push_back(parseExpr());
                    expectCloseStmt();
                    s->branches.push_back(parseBody({"elif", "else", "endif"}));
                } else if (w == "else") {
                    expectCloseStmt();
                    s->branches.push_back(parseBody({"endif"}));
                } else {  // endif
                    expectCloseStmt();
                    break;
                }
            }
            return s;
        }
        if (keyword == "for") {
            s->kind = Stmt::Kind::For;
            s->target = parseTarget();
            expectName("in");
            s->expr = parseTernaryFree();
            if (isName("if")) {
                ++p_;
                s->condition = parseTernaryFree();
            }
            if (isName("recursive")) error("recursive loops are not supported");
            expectCloseStmt();
            s->branches.push_back(parseBody({"else", "endfor"}));
            if (peek().kind == Token::Kind::End) error("{% for %} from line " + std::to_string(line) + " is not closed with {% endfor %}");
            ++p_;
            if (expectIdentifier() == "else") {
                expectCloseStmt();
                s->branches.push_back(parseBody({"endfor"}));
                if (peek().kind == Token::Kind::End) error("{% for %} from line " + std::to_string(line) + " is not closed");
                ++p_;
                expectName("endfor");
            } else {
                s->branches.emplace_back();
            }
            expectCloseStmt();
            return s;
        }
        if (keyword == "set") {
            s->target = parseTarget();
            if (isOp("=")) {
                ++p_;
                s->kind = Stmt::Kind::Set;
                s->expr = parseExpr();
                expectCloseStmt();
                return s;
            }
            s->kind = Stmt::Kind::SetBlock;
            expectCloseStmt();
            s->branches.push_back(parseBody({"endset"}));
            if (peek().kind == Token::Kind::End) error("{% set %} block is not closed with {% endset %}");
            ++p_;
            expectName("endset");
            expectCloseStmt();
            return s;
        }
        if (keyword == "macro") {
            s->kind = Stmt::Kind::Macro;
            s->text = expectIdentifier();
            expectOp("(");
            while (!isOp(")")) {
                s->params.push_back(expectIdentifier());
                if (isOp("=")) {
                    ++p_;
                    s->defaults.push_back(parseExpr());
                } else {
                    s->defaults.push_back(nullptr);
                }
                if (!isOp(")")) expectOp(",");
            }
            ++p_;
            expectCloseStmt();
            s->branches.push_back(parseBody({"endmacro"}));
            if (peek().kind == Token::Kind::End) error("{% macro %} is not closed with {% endmacro %}");
            ++p_;
            expectName("endmacro");
            expectCloseStmt();
            return s;
        }
        if (keyword == "break" || keyword == "continue") {
            s->kind = keyword == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
            expectCloseStmt();
            return s;
        }
        --p_;
        error("{% " + keyword + " %} is not supported");
    }

    // A loop or assignment target: a name, names separated by commas, or ns.attr.
    ExprPtr parseTarget() {
        auto first = parsePrimaryName();
        if (isOp(".")) {
            ++p_;
            auto attr = node(Expr::Kind::Attr);
            attr->object = std::move(first);
            attr->name = expectIdentifier();
            return attr;
        }
        if (!isOp(",")) return first;
        auto tuple = node(Expr::Kind::Tuple);
        tuple->items.push_back(std::move(first));
        while (isOp(",")) {
            ++p_;
            tuple->items.push_back(parsePrimaryName());
        }
        return tuple;
    }

    ExprPtr parsePrimaryName() {
        auto n = node(Expr::Kind::Name);
        n->name = expectIdentifier();
        return n;
    }

    ExprPtr node(Expr::Kind kind) const {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->line = peek().line;
        return e;
    }

    // expression := or ("if" or "else" expression)?
    ExprPtr parseExpr() {
        const Nested nested(*this);
        auto value = parseTernaryFree();
        if (isName("if")) {
            ++p_;
            auto t = node(Expr::Kind::Ternary);
            auto condition = parseTernaryFree();
            ExprPtr otherwise;
            if (isName("else")) {
                ++p_;
                otherwise = parseExpr();
            } else {
                otherwise = node(Expr::Kind::Literal);  // undefined
            }
            t->items.push_back(std::move(value));
            t->items.push_back(std::move(condition));
            t->items.push_back(std::move(otherwise));
            return t;
        }
        return value;
    }

    ExprPtr parseTernaryFree() { return parseOr(); }

    ExprPtr binary(const std::string& op, ExprPtr left, ExprPtr right) {
        auto b = node(Expr::Kind::Binary);
        b->name = op;
        b->object = std::move(left);
        b->index = std::move(right);
        return b;
    }

    ExprPtr parseOr() {
        auto left = parseAnd();
        while (isName("or")) {
            ++p_;
            left = binary("or", std::move(left), parseAnd());
        }
        return left;
    }
    ExprPtr parseAnd() {
        auto left = parseNot();
        while (isName("and")) {
            ++p_;
            left = binary("and", std::move(left), parseNot());
        }
        return left;
    }
    ExprPtr parseNot() {
        const Nested nested(*this);
        if (isName("not")) {
            auto u = node(Expr::Kind::Unary);
            ++p_;
            u->name = "not";
            u->object = parseNot();
            return u;
        }
        return parseComparison();
    }
    // Precedence as Jinja2's parser: comparison < additive (+ -) < concatenation (~) <
    // multiplicative < power < test ("is") < filter ("|") < unary sign < call/member < primary.
    ExprPtr parseComparison() {
        auto left = parseAdditive();
        while (true) {
            std::string op;
            if (peek().kind == Token::Kind::Op && (word(0) == "==" || word(0) == "!=" || word(0) == "<" || word(0) == ">" ||
                                                   word(0) == "<=" || word(0) == ">=")) {
                op = word(0);
                ++p_;
            } else if (isName("not") && isName("in", 1)) {
                op = "not in";
                p_ += 2;
            } else if (isName("in")) {
                op = "in";
                ++p_;
            } else {
                break;
            }
            left = binary(op, std::move(left), parseAdditive());
        }
        return left;
    }
    ExprPtr parseAdditive() {
        auto left = parseConcatenation();
        while (isOp("+") || isOp("-")) {
            const std::string op = t_[p_++].text;
            left = binary(op, std::move(left), parseConcatenation());
        }
        return left;
    }
    ExprPtr parseConcatenation() {
        auto left = parseMultiplicative();
        while (isOp("~")) {
            ++p_;
            left = binary("~", std::move(left), parseMultiplicative());
        }
        return left;
    }
    ExprPtr parseMultiplicative() {
        auto left = parsePower();
        while (isOp("*") || isOp("/") || isOp("//") || isOp("%")) {
            const std::string op = t_[p_++].text;
            left = binary(op, std::move(left), parsePower());
        }
        return left;
    }
    ExprPtr parsePower() {  // left-associative, as in Jinja
        auto left = parseTest();
        while (isOp("**")) {
            ++p_;
            left = binary("**", std::move(left), parseTest());
        }
        return left;
    }
    ExprPtr parseTest() {
        auto value = parseFilter();
        while (isName("is")) {
            ++p_;
            auto test = node(Expr::Kind::Test);
            if (isName("not")) {
                ++p_;
                test->negated = true;
            }
            // "none", "true" and "false" are names here.
            if (peek().kind != Token::Kind::Name) error("expected a test name after 'is'");
            test->name = t_[p_++].text;
            if (isOp("(")) test->args = parseArgs();
            test->object = std::move(value);
            value = std::move(test);
        }
        return value;
    }
    ExprPtr parseFilter() {
        auto value = parseUnarySign();
        while (isOp("|")) {
            ++p_;
            auto f = node(Expr::Kind::Filter);
            f->name = expectIdentifier();
            if (isOp("(")) f->args = parseArgs();
            f->object = std::move(value);
            value = std::move(f);
        }
        return value;
    }
    ExprPtr parseUnarySign() {
        const Nested nested(*this);
        if (isOp("-") || isOp("+")) {
            auto u = node(Expr::Kind::Unary);
            u->name = t_[p_++].text;
            u->object = parseUnarySign();
            return u;
        }
        return parsePostfix(parsePrimary());
    }

    std::vector<Arg> parseArgs() {
        expectOp("(");
        std::vector<Arg> args;
        while (!isOp(")")) {
            Arg a;
            if (peek().kind == Token::Kind::Name && isOp("=", 1)) {
                a.name = t_[p_].text;
                p_ += 2;
            }
            a.value = parseExpr();
            args.push_back(std::move(a));
            if (!isOp(")")) expectOp(",");
        }
        ++p_;
        return args;
    }

    ExprPtr parsePostfix(ExprPtr value) {
        while (true) {
            if (isOp(".")) {
                ++p_;
                auto a = node(Expr::Kind::Attr);
                if (peek().kind == Token::Kind::Int) {  // x.0
                    a->kind = Expr::Kind::Index;
                    auto idx = node(Expr::Kind::Literal);
                    idx->value = Value::integer(integerLiteral(t_[p_++].text));
                    a->index = std::move(idx);
                } else {
                    a->name = expectIdentifier();
                }
                a->object = std::move(value);
                value = std::move(a);
            } else if (isOp("[")) {
                ++p_;
                value = parseSubscript(std::move(value));
            } else if (isOp("(")) {
                auto c = node(Expr::Kind::Call);
                c->args = parseArgs();
                c->object = std::move(value);
                value = std::move(c);
            } else {
                return value;
            }
        }
    }

    ExprPtr parseSubscript(ExprPtr object) {
        // [index] or [start:stop:step] with any part omitted.
        ExprPtr parts[3];
        int colons = 0;
        while (!isOp("]")) {
            if (isOp(":")) {
                ++p_;
                if (++colons > 2) error("too many ':' in a slice");
                continue;
            }
            if (parts[colons]) error("expected ':' or ']' in a subscript");
            parts[colons] = parseExpr();
        }
        ++p_;
        if (colons == 0) {
            if (!parts[0]) error("empty subscript []");
            auto i = node(Expr::Kind::Index);
            i->object = std::move(object);
            i->index = std::move(parts[0]);
            return i;
        }
        auto s = node(Expr::Kind::Slice);
        s->object = std::move(object);
        for (auto& part : parts) s->items.push_back(std::move(part));
        return s;
    }

    ExprPtr parsePrimary() {
        const Token& tok = peek();
        switch (tok.kind) {
        case Token::Kind::String: {
            // Adjacent string literals concatenate, as in Python.
            auto lit = node(Expr::Kind::Literal);
            std::string text;
            while (peek().kind == Token::Kind::String) text += t_[p_++].text;
            lit->value = Value::string(text);
            return lit;
        }
        case Token::Kind::Int: {
            auto lit = node(Expr::Kind::Literal);
            lit->value = Value::integer(integerLiteral(tok.text));
            ++p_;
            return lit;
        }
        case Token::Kind::Float: {
            auto lit = node(Expr::Kind::Literal);
            lit->value = Value::number(floatLiteral(tok.text));
            ++p_;
            return lit;
        }
        case Token::Kind::Name: {
            auto n = node(Expr::Kind::Name);
            n->name = tok.text;
            ++p_;
            return n;
        }
        case Token::Kind::Op:
            if (tok.text == "(") {
                ++p_;
                if (isOp(")")) {
                    ++p_;
                    return node(Expr::Kind::Tuple);
                }
                auto first = parseExpr();
                if (!isOp(",")) {
                    expectOp(")");
                    return first;
                }
                auto tuple = node(Expr::Kind::Tuple);
                tuple->items.push_back(std::move(first));
                while (isOp(",")) {
                    ++p_;
                    if (isOp(")")) break;
                    tuple->items.push_back(parseExpr());
                }
                expectOp(")");
                return tuple;
            }
            if (tok.text == "[") {
                ++p_;
                auto list = node(Expr::Kind::List);
                while (!isOp("]")) {
                    list->items.push_back(parseExpr());
                    if (!isOp("]")) expectOp(",");
                }
                ++p_;
                return list;
            }
            if (tok.text == "{") {
                ++p_;
                auto dict = node(Expr::Kind::Dict);
                while (!isOp("}")) {
                    dict->keys.push_back(parseExpr());
                    expectOp(":");
                    dict->items.push_back(parseExpr());
                    if (!isOp("}")) expectOp(",");
                }
                ++p_;
                return dict;
            }
            break;
        default: break;
        }
        error("unexpected '" + tok.text + "' in an expression");
    }

    std::vector<Token> t_;
    std::string name_;
    size_t p_ = 0;
};

}  // namespace

Body parseTemplate(const std::string& source, const std::string& name) {
    const std::string text = preprocess(source);
    return Parser(Lexer(text, name).run(), name).parseAll();
}

}  // namespace hy3::jinja
