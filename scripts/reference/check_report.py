#!/usr/bin/python3
"""Independent recomputation of an lmwb report's metrics from its per-item records, written from the published
definitions (lm-evaluation-harness, HELM, SQuAD, rouge_score) with plain Python: checks per-item values and the
aggregates that do not depend on resampling. Usage: check_report.py REPORT.json"""
import json
import math
import re
import string
import sys
from collections import Counter


def argmax(v):
    return max(range(len(v)), key=lambda i: (v[i], -i))


def softmax(v):
    m = max(v)
    e = [math.exp(x - m) for x in v]
    z = sum(e)
    return [x / z for x in e]


def ece_equal_mass(conf, correct, bins=10):
    s = sorted(conf)
    bins = min(bins, len(s))
    sizes = [len(s) // bins + (1 if i < len(s) % bins else 0) for i in range(bins)]
    groups, start = [], 0
    for n in sizes:
        groups.append(s[start:start + n])
        start += n
    edges = sorted(set([(groups[i][-1] + groups[i + 1][0]) / 2 for i in range(bins - 1)] + [1.0]))
    total = [0] * len(edges)
    csum = [0.0] * len(edges)
    asum = [0.0] * len(edges)
    for c, y in zip(conf, correct):
        b = next(i for i, e in enumerate(edges) if c <= e) if c <= edges[-1] else len(edges) - 1
        total[b] += 1
        csum[b] += c
        asum[b] += y
    return sum(t / len(conf) * abs(asum[i] / t - csum[i] / t) for i, t in enumerate(total) if t)


def squad_norm(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1(pred, gold):
    p, g = squad_norm(pred).split(), squad_norm(gold).split()
    if not p or not g:
        return float(p == g)
    same = sum((Counter(p) & Counter(g)).values())
    if same == 0:
        return 0.0
    pr, rc = same / len(p), same / len(g)
    return 2 * pr * rc / (pr + rc)


def lcs(a, b):
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l_ascii(target, pred):
    t = re.sub(r"[^a-z0-9]+", " ", target.lower()).split()
    p = re.sub(r"[^a-z0-9]+", " ", pred.lower()).split()
    if not t or not p:
        return 0.0
    m = lcs(t, p)
    if m == 0:
        return 0.0
    pr, rc = m / len(p), m / len(t)
    return 2 * pr * rc / (pr + rc)


def close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def main():
    rep = json.load(open(sys.argv[1]))
    bad = checked = 0

    def check(what, ours, theirs, tol=1e-9):
        nonlocal bad, checked
        checked += 1
        if not close(ours, theirs, tol):
            bad += 1
            print(f"MISMATCH {what}: report {ours!r}, recomputed {theirs!r}")

    for s in rep["suites"]:
        aggs = {a["metric"]: a for a in s["aggregates"]}
        items = s["items"]
        if s["kind"] == "multiple_choice":
            acc, accn, conf, brier = [], [], [], []
            for it in items:
                ll = [c["logprob"] for c in it["choices"]]
                gold = it["answer"]
                acc.append(float(argmax(ll) == gold))
                accn.append(float(argmax([l / len(c["text"]) for l, c in zip(ll, it["choices"])]) == gold))
                p = softmax(ll)
                conf.append(max(p))
                brier.append(sum((pi - (1.0 if i == gold else 0.0)) ** 2 for i, pi in enumerate(p)))
                check(f"{s['name']}/{it['id']}/acc", it["metrics"]["acc"], acc[-1])
                if "brier" in it["metrics"]:
                    check(f"{s['name']}/{it['id']}/brier", it["metrics"]["brier"], brier[-1], 1e-9)
            check(f"{s['name']}/acc", aggs["acc"]["value"], sum(acc) / len(acc))
            n = len(acc)
            sd = math.sqrt(sum((x - sum(acc) / n) ** 2 for x in acc) / (n - 1))
            check(f"{s['name']}/acc stderr", aggs["acc"]["stderr"], sd / math.sqrt(n))
            # Wilson's score interval (Wilson 1927; Newcombe 1998, method 3) of the proportion right.
            z, p = 1.959963984540054, sum(acc) / n
            centre = (p + z * z / (2 * n)) / (1 + z * z / n)
            half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
            check(f"{s['name']}/acc interval method", aggs["acc"]["method"] == "wilson", True)
            check(f"{s['name']}/acc ci95 low", aggs["acc"]["ci95"][0], max(0.0, centre - half), 1e-9)
            check(f"{s['name']}/acc ci95 high", aggs["acc"]["ci95"][1], min(1.0, centre + half), 1e-9)
            if "acc_norm" in aggs:
                check(f"{s['name']}/acc_norm", aggs["acc_norm"]["value"], sum(accn) / n)
            if "brier" in aggs:
                check(f"{s['name']}/brier", aggs["brier"]["value"], sum(brier) / n)
            if "ece" in aggs:
                check(f"{s['name']}/ece", aggs["ece"]["value"], ece_equal_mass(conf, acc))
        elif s["kind"] == "generation":
            for it in items:
                m = it["metrics"]
                if "f1" in m:
                    check(f"{s['name']}/{it['id']}/f1", m["f1"], max(f1(it["response"], r) for r in it["references"]))
                if "rouge_l" in m and s.get("rouge_tokenizer") == "ascii":
                    check(f"{s['name']}/{it['id']}/rouge_l", m["rouge_l"], max(rouge_l_ascii(r, it["response"]) for r in it["references"]))
            if "response_perplexity" in aggs:
                ll = sum(it.get("logprob", 0) for it in items)
                tok = sum(it.get("tokens", 0) for it in items)
                check(f"{s['name']}/response_perplexity", aggs["response_perplexity"]["value"], math.exp(-ll / tok))
        elif s["kind"] == "perplexity":
            ll = sum(it["logprob"] for it in items)
            for it in items:
                check(f"{s['name']}/{it['id']}/token sum", it["logprob"], sum(it["token_logprobs"]), 1e-5)
                check(f"{s['name']}/{it['id']}/words", it["words"], len(re.split(r"\s+", it["prompt"])))
                check(f"{s['name']}/{it['id']}/bytes", it["bytes"], len(it["prompt"].encode("utf-8")))
            tok = sum(it["tokens"] for it in items)
            words = sum(it["words"] for it in items)
            nbytes = sum(it["bytes"] for it in items)
            check(f"{s['name']}/token_perplexity", aggs["token_perplexity"]["value"], math.exp(-ll / tok))
            check(f"{s['name']}/word_perplexity", aggs["word_perplexity"]["value"], math.exp(-ll / words))
            check(f"{s['name']}/byte_perplexity", aggs["byte_perplexity"]["value"], math.exp(-ll / nbytes))
            check(f"{s['name']}/bits_per_byte", aggs["bits_per_byte"]["value"], -ll / nbytes / math.log(2))
    print(f"{checked} values checked, {bad} mismatches")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
