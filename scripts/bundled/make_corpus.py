#!/usr/bin/python3
"""Writes the training corpus of the bundled models: every fact of world.py in several phrasings, question and
answer pairs, and short generated stories. Deterministic for a seed.
Usage: make_corpus.py OUT.txt [--lines N] [--seed S]"""
import argparse
import random

import world


def story(rng):
    a, b = rng.sample(world.NAMES, 2)
    place = rng.choice(world.PLACES)
    act1, act2 = rng.sample(world.ACTIONS, 2)
    day = rng.choice(world.DAYS)
    return (f"On {day}, {a} went to {place} with {b}. {a} {act1} and {b} {act2}. "
            f"They were happy and went home before night.")


def lines(n, seed):
    rng = random.Random(seed)
    facts = world.facts()
    out = []
    while len(out) < n:
        q, ans, statement = rng.choice(facts)
        kind = rng.random()
        if kind < 0.35:
            out.append(statement)
        elif kind < 0.7:
            out.append(f"Question: {q}\nAnswer: {ans}")
        elif kind < 0.8:
            out.append(f"Q: {q} A: {ans}.")
        else:
            out.append(story(rng))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--lines", type=int, default=40000)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    with open(a.out, "w") as f:
        f.write("\n\n".join(lines(a.lines, a.seed)) + "\n")


if __name__ == "__main__":
    main()
