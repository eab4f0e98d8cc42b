#!/usr/bin/env python3
"""Few-shot draws as docs/suite-format.md defines them, written independently of the C++ loader: for item i, a
SplitMix64 stream (Steele, Lea and Flood 2014; checked against Vigna's published outputs for seed 1234567) started at
seed * 0x9E3779B97F4A7C15 + i + 1 (mod 2^64) drives a partial Fisher-Yates shuffle of the pool (the suite's other
items, in file order) and the first `count` entries are the examples, in draw order.

Writes tests/fixtures/datasets/few_shot_reference.json: for the 6-item suite of tests/suite_test.cpp, the examples
each item draws with (count 2, seed 5) and (count 3, seed 1234), and for a 40-item pool (count 4, seed 2^63 + 7).
Usage: scripts/reference/few_shot_reference.py
"""
import json
import pathlib

MASK = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def published_vector_holds():
    state, out = 1234567, []
    for _ in range(5):
        state, z = splitmix64(state)
        out.append(z)
    return out == [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431,
                   16408922859458223821]


def draws(items, count, seed):
    result = []
    for i in range(items):
        state = (seed * 0x9E3779B97F4A7C15 + i + 1) & MASK
        order = [k for k in range(items) if k != i]
        for k in range(count):
            state, z = splitmix64(state)
            pick = k + z % (len(order) - k)
            order[k], order[pick] = order[pick], order[k]
        result.append(order[:count])
    return result


def main():
    assert published_vector_holds(), "SplitMix64 differs from the published outputs"
    out = {"cases": [
        {"items": 6, "count": 2, "seed": 5, "draws": draws(6, 2, 5)},
        {"items": 6, "count": 3, "seed": 1234, "draws": draws(6, 3, 1234)},
        {"items": 40, "count": 4, "seed": (1 << 63) + 7, "draws": draws(40, 4, (1 << 63) + 7)},
    ]}
    path = pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/datasets/few_shot_reference.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
