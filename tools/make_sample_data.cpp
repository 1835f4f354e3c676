// Generates the bundled default project's dataset: short conversations a tiny Hy3 model learns on a
// CPU in minutes (writing words in capitals, converting units, adding single digits), in OpenAI messages
// JSONL, plus held-back questions of the same kinds that never appear in training.
//   make_sample_data OUT_DIR [COUNT] [SEED]   -> OUT_DIR/train.jsonl, OUT_DIR/heldout.jsonl
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <string>

namespace {

struct Example {
    std::string question, answer;
};

struct Generator {
    std::mt19937_64 random;
    std::set<int> heldNumbers;
    std::set<std::string> heldWords;

    explicit Generator(uint64_t seed) : random(seed) {}

    int uniform(int lo, int hi) { return lo + static_cast<int>(random() % static_cast<uint64_t>(hi - lo + 1)); }

    std::string word() {
        std::string w;
        const int n = uniform(3, 5);
        for (int i = 0; i < n; ++i) w += static_cast<char>('a' + uniform(0, 25));
        return w;
    }

    // Capitals rather than reversal: a model of the default project's size learns to copy text in
    // order within minutes, while reversing it took far longer than a CPU demo allows.
    Example capitals(bool held) {
        std::string w;
        do w = word();
        while (held ? false : heldWords.count(w) > 0);
        if (held) heldWords.insert(w);
        std::string upper = w;
        for (char& ch : upper) ch = static_cast<char>(ch - 'a' + 'A');
        const char* forms[] = {"Write '%s' in capitals.", "Uppercase the word '%s'.", "What is '%s' in upper case?"};
        return {format(forms[uniform(0, 2)], w), upper};
    }

    Example convert(bool held) {
        int n;
        do n = uniform(1, 999);
        while (held ? false : heldNumbers.count(n) > 0);
        if (held) heldNumbers.insert(n);
        struct Unit {
            const char *from, *to;
            int factor;
        };
        const Unit units[] = {{"km", "m", 1000}, {"m", "cm", 100}, {"kg", "g", 1000}, {"L", "mL", 1000}, {"cm", "mm", 10}};
        const Unit& u = units[uniform(0, 4)];
        const std::string question = uniform(0, 1) ? "Convert " + std::to_string(n) + " " + u.from + " to " + u.to + "."
                                                   : "How many " + std::string(u.to) + " are in " + std::to_string(n) + " " + u.from + "?";
        return {question, std::to_string(n * u.factor) + " " + u.to};
    }

    Example add() {
        const int a = uniform(0, 9), b = uniform(0, 9);
        return {uniform(0, 1) ? "What is " + std::to_string(a) + " + " + std::to_string(b) + "?"
                              : "Add " + std::to_string(a) + " and " + std::to_string(b) + ".",
                std::to_string(a + b)};
    }

    static std::string format(const char* pattern, const std::string& value) {
        std::string s = pattern;
        s.replace(s.find("%s"), 2, value);
        return s;
    }

    nlohmann::json conversation(const Example& e) {
        nlohmann::json messages = nlohmann::json::array();
        if (uniform(0, 3) == 0) messages.push_back({{"role", "system"}, {"content", "Answer with the result only."}});
        messages.push_back({{"role", "user"}, {"content", e.question}});
        messages.push_back({{"role", "assistant"}, {"content", e.answer}});
        return {{"messages", messages}};
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: make_sample_data OUT_DIR [COUNT] [SEED]\n";
        return 2;
    }
    const std::string dir = argv[1];
    const int count = argc > 2 ? std::atoi(argv[2]) : 4000;
    Generator g(argc > 3 ? std::stoull(argv[3]) : 20261129);
    // Held-back questions first, so their words and numbers are excluded from training.
    std::ofstream held(dir + "/heldout.jsonl");
    for (int i = 0; i < 100; ++i) {
        const Example e = i % 2 ? g.convert(true) : g.capitals(true);
        held << nlohmann::json{{"question", e.question}, {"answer", e.answer}}.dump() << "\n";
    }
    std::ofstream train(dir + "/train.jsonl");
    for (int i = 0; i < count; ++i) {
        const int kind = g.uniform(0, 9);
        const Example e = kind < 5 ? g.capitals(false) : kind < 9 ? g.convert(false) : g.add();
        train << g.conversation(e).dump() << "\n";
    }
    std::cout << "wrote " << count << " conversations and 100 held-back questions to " << dir << "\n";
    return 0;
}
