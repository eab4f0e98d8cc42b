#!/usr/bin/python3
"""Writes the bundled evaluation suites (datasets/suites/) from the made-up world the bundled models learn.
Each suite mixes facts from the training corpus with held-out questions (sums beyond those the corpus teaches,
unseen story days), so neither bundled model scores perfectly. Deterministic.
Usage: make_suites.py [OUT_DIR]"""
import json
import os
import random
import sys

import world
from make_corpus import story

CATEGORIES = [
    ("color", world.COLORS, "What color is {}?"),
    ("sound", {f"a {k}": v for k, v in world.SOUNDS.items()}, "What does {} say?"),
    ("ability", {f"a {k}": v for k, v in world.ABILITIES.items()}, "What can {} do?"),
    ("opposite", world.OPPOSITES, "What is the opposite of {}?"),
    ("capital", world.CAPITALS, "What is the capital of {}?"),
]


def qa_items():
    """(id, question, answer, pool of same-kind answers) for known facts and held-out sums."""
    out = []
    for name, table, q in CATEGORIES:
        pool = sorted(set(table.values()))
        for key, ans in table.items():
            out.append((f"{name}-{key.replace(' ', '-').lower()}", q.format(key), ans, pool))
    days = world.DAYS
    for i, d in enumerate(days):
        out.append((f"day-after-{d.lower()}", f"What day comes after {d}?", days[(i + 1) % 7], days))
    nums = world.NUMBERS
    for a in range(6):
        for b in range(5):
            out.append((f"sum-{a}-{b}", f"What is {nums[a]} plus {nums[b]}?", nums[a + b], nums))
    # Held out: the corpus only adds numbers below six to numbers below five.
    for a, b in [(6, 1), (7, 2), (8, 1), (6, 3), (5, 5), (9, 1), (7, 3), (4, 6), (2, 7), (3, 5), (6, 4), (8, 2)]:
        out.append((f"unseen-sum-{a}-{b}", f"What is {nums[a]} plus {nums[b]}?", nums[a + b], nums))
    return out


def slice_fields(ident):
    """What the facts suites slice by: the topic (the id's first word; held-out sums are sums) and whether the
    training corpus held the fact."""
    topic = ident.split("-")[0]
    return {"topic": "sum" if topic == "unseen" else topic, "split": "held-out" if topic == "unseen" else "seen"}


def write(out_dir, name, definition, items):
    with open(os.path.join(out_dir, name + ".jsonl"), "w") as f:
        for it in items:
            f.write(json.dumps(it, ensure_ascii=False) + "\n")
    definition = {"lmwb_suite": 1, "name": name, **definition, "items": name + ".jsonl"}
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(definition, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../datasets/suites")
    rng = random.Random(20261129)
    facts = qa_items()

    mc = []
    for ident, q, ans, pool in facts:
        wrong = rng.sample([p for p in pool if p != ans], 3)
        choices = wrong + [ans]
        rng.shuffle(choices)
        mc.append({"id": ident, "question": q, "choices": choices, "answer": choices.index(ans), **slice_fields(ident)})
    write(out_dir, "world-facts-mc", {
        "version": "1",
        "description": "Facts of the bundled models' world as four-way multiple choice, with held-out sums.",
        "kind": "multiple_choice",
        "prompt": "Question: {question}\nAnswer:",
        "target_delimiter": " ",
        "metrics": ["acc", "acc_norm", "acc_mutual_info", "brier", "ece"],
        "slices": ["topic", "split"],
    }, mc)

    # Generation: the shape many QA sets have (prompt / reference), mapped by the definition.
    chosen = rng.sample([f for f in facts if not f[0].startswith("unseen")], 36) + [f for f in facts if f[0].startswith("unseen")][:8]
    qa = [{"qid": ident, "prompt": q, "reference": ans, **slice_fields(ident)} for ident, q, ans, _ in chosen]
    write(out_dir, "world-facts-qa", {
        "version": "1",
        "description": "Short answers generated greedily after 'Question: ... Answer:'.",
        "kind": "generation",
        "fields": {"id": "qid", "references": "reference"},
        "prompt": "Question: {prompt}\nAnswer:",
        "generation": {"max_new_tokens": 8, "temperature": 0, "stop": ["\n"]},
        "normalization": {"lowercase": True, "strip_punctuation": True, "collapse_whitespace": True},
        "metrics": ["exact_match", "contains", "f1", "chrf", "rouge_l", "response_perplexity", "relevance_prompt",
                    "relevance_reference"],
        "slices": ["topic", "split"],
    }, qa)

    # Open-ended continuation of held-out stories: BLEU, chrF, ROUGE-L, diversity, fluency and relevance.
    crng = random.Random(314)
    cont = []
    for i in range(20):
        first, rest = story(crng).split(". ", 1)
        cont.append({"id": f"continue-{i}", "prompt": first + ".", "references": [rest]})
    write(out_dir, "world-stories-continue", {
        "version": "1",
        "description": "The model continues the first sentence of a held-out story; scored against the story's rest.",
        "kind": "generation",
        "prompt": "{prompt}",
        "generation": {"max_new_tokens": 32, "temperature": 0, "stop": ["\n"]},
        "metrics": ["bleu", "chrf", "rouge_l", "response_perplexity", "distinct_1", "distinct_2", "seq_rep_2",
                    "relevance_prompt", "relevance_reference"],
    }, cont)

    srng = random.Random(99)  # not the corpus seed: these stories were never seen whole
    docs = []
    for i in range(16):
        docs.append({"id": f"story-{i}", "text": story(srng)})
    for i, (ident, q, ans, _) in enumerate(rng.sample(facts, 8)):
        docs.append({"id": f"qa-{ident}", "text": f"Question: {q}\nAnswer: {ans}"})
    write(out_dir, "world-stories-ppl", {
        "version": "1",
        "description": "Held-out stories and question-answer pairs in the style of the training corpus.",
        "kind": "perplexity",
    }, docs)


if __name__ == "__main__":
    main()
