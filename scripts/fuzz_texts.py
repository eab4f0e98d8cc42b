#!/usr/bin/env python3
"""Writes N random texts (one JSON string per line) that stress tokenizers: mixed scripts, combining marks,
odd whitespace, digit runs, contractions, emoji sequences, special-token look-alikes. Deterministic per seed.
Usage: fuzz_texts.py N [SEED] > texts.jsonl"""
import json
import random
import sys

PIECES = [
    "hello", "World", "don't", "I'M", "she'LL", "they've", "WE'RE", "it's", "'s", "''", " '", "naïve", "café",
    "東京", "中文字符", "日本語のテキスト", "한국어", "Привет", "مرحبا", "नमस्ते", "สวัสดี", "Ελληνικά",
    "🚀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "✨", "e\u0301", "a\u0308\u0304", "\u0301", "ﬁ", "①", "²", "Ⅻ", "½",
    "<|endoftext|>", "<s>", "</s>", "<|begin_of_text|>", "<|im_start|>", "[CLS]", "<unk>", "<|endoftext",
    "def f(x):", "\treturn x", "x->y", "a_b", "__init__", "{\"k\": [1, 2]}", "http://a.b/c?d=1", "a@b.io",
    "!!!", "...", "---", "?!", "$", "%", "\\", "``", "«»", "—", "・", "。", "，",
]
SPACES = [" ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\u00a0", "\u3000", "\u2028", "\u0085", "\u200b",
          " " * 17, "\u2003", "\u202f", ""]


def random_char(rng):
    block = rng.choice([(0x20, 0x7e), (0xa0, 0x24f), (0x300, 0x36f), (0x370, 0x3ff), (0x400, 0x4ff),
                        (0x590, 0x6ff), (0x900, 0x97f), (0xe00, 0xe7f), (0x1100, 0x11ff), (0x3040, 0x30ff),
                        (0x4e00, 0x9fff), (0xac00, 0xd7a3), (0xff00, 0xffef), (0x1f300, 0x1faff), (0x10000, 0x1007f)])
    return chr(rng.randint(*block))


def text(rng):
    parts = []
    for _ in range(rng.randint(1, 30)):
        r = rng.random()
        if r < 0.45:
            parts.append(rng.choice(PIECES))
        elif r < 0.6:
            parts.append(str(rng.randint(0, 10 ** rng.randint(1, 25))))
        elif r < 0.8:
            parts.append("".join(random_char(rng) for _ in range(rng.randint(1, 8))))
        else:
            parts.append(rng.choice(PIECES).upper())
        parts.append(rng.choice(SPACES))
    return "".join(parts)


def main():
    n = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    for _ in range(n):
        print(json.dumps(text(rng)))


if __name__ == "__main__":
    main()
