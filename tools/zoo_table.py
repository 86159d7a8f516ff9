"""Write the generated blocks of the READMEs from the JSON they cite, so that their numbers are the JSON's.

    .venv/bin/python tools/zoo_table.py          # rewrites the blocks between their markers
    .venv/bin/python tools/zoo_table.py --check  # exit 1 when a block is not current (the tests run this)

The zoo table of ``models/README.md`` comes from the model cards; the target checks of ``README.md`` and
``models/README.md`` from ``models/report_targets/report.json`` (``checks``: each comparison ahead, tied
or behind with its margin and standard error, each target met or missed); the adaptive checks of both from
``models/report_adaptive/adaptive.json`` (``semcomm eval adaptive``) and the cards: per scheme, whether the
card's PGD K = 5 figure *holds* (the per-image worst case of the adaptive attacks is within two standard errors
of PGD K = 5 on the same images) or *moves*, and by how much.

One row per ``models/*.card.json``, in the paper's scheme order: what crosses the channel per image
(indices x bits, analog symbols, or the JPEG bytes), the card's accuracies at its evaluation SNR on
all its test images (clean and under white-box PGD), and the training budget from its history, with the run
it was fine-tuned from.
"""
from __future__ import annotations

import glob
import json
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "models", "README.md")
MAIN_README = os.path.join(ROOT, "README.md")
TARGETS_REPORT = os.path.join(ROOT, "models", "report_targets", "report.json")
BEGIN, END = "<!-- zoo table: tools/zoo_table.py -->", "<!-- end of zoo table -->"
TARGETS_BEGIN, TARGETS_END = "<!-- target checks: tools/zoo_table.py -->", "<!-- end of target checks -->"
ADAPTIVE_REPORT = os.path.join(ROOT, "models", "report_adaptive", "adaptive.json")
ADAPTIVE_BEGIN, ADAPTIVE_END = "<!-- adaptive checks: tools/zoo_table.py -->", "<!-- end of adaptive checks -->"
ORDER = ("masked_vqvae_fim_at", "masked_vqvae_at", "masked_vqvae", "jscc_at", "jscc", "jpeg_ldpc_at", "jpeg_ldpc")


def _payload(card: dict) -> str:
    meta = card["metadata"]
    alphabet = meta["semcomm.alphabet"]
    if alphabet == "analog":
        return f"{meta['semcomm.num_tokens']} complex symbols"
    if alphabet == "jpeg":
        return "JPEG bytes (classifier only)"
    return f"{meta['semcomm.num_tokens']} x {math.ceil(math.log2(int(alphabet)))} bits"


def _accuracy(metric: dict) -> str:
    return f"{100 * metric['accuracy']:.2f} %"


def _training(card: dict) -> str:
    history = card.get("training", {}).get("history", [])
    adversarial = sum(bool(h["adversarial"]) for h in history)
    minutes = sum(h["seconds"] for h in history) / 60
    budget = f"{len(history) - adversarial} + {adversarial} AT epochs, {minutes:.0f} min"
    init_from = card.get("training", {}).get("init_from")
    if init_from:  # the run it was fine-tuned from (a pre-training, or a first stage)
        budget += f", from `{os.path.basename(os.path.dirname(init_from['checkpoint']))}`"
    return budget


def row(card: dict) -> str:
    clean, attacked = card["metrics"]["clean"], card["metrics"]["white_box_pgd"]
    attack = attacked["attack"]
    return (f"| `{card['name']}` | {card['scheme']} | {_payload(card)} | {clean['snr_db']:g} dB | "
            f"{_accuracy(clean)} | {_accuracy(attacked)} (K={attack['steps']}, eps={attack['eps'] * 255:.3g}/255) | "
            f"{clean['images']} | {_training(card)} |")


def table(models_dir: str = os.path.join(ROOT, "models")) -> str:
    cards = [json.load(open(path)) for path in glob.glob(os.path.join(models_dir, "*.card.json"))]
    cards.sort(key=lambda c: (ORDER.index(c["scheme"]) if c["scheme"] in ORDER else len(ORDER), c["name"]))
    head = ("| name | scheme | sent per image | Es/N0 | clean accuracy | white-box PGD (L-inf) | test images | "
            "training |\n|---|---|---|---|---|---|---|---|")
    return "\n".join([head, *(row(card) for card in cards)])


def target_checks(report_path: str = TARGETS_REPORT) -> str:
    """One line per check of the report that has a verdict: the verdict, what was compared, the summary."""
    checks = json.load(open(report_path))["checks"]
    return "\n".join(f"- **{check['verdict']}**: {check['check']}: {check['summary']}"
                     for check in checks if check["verdict"] is not None)


def adaptive_checks(report_path: str = ADAPTIVE_REPORT, models_dir: str = os.path.join(ROOT, "models")) -> str:
    """One line per evaluated scheme (module doc), in the paper's order."""
    report = json.load(open(report_path))
    results = sorted(report["results"].items(), key=lambda item: (
        ORDER.index(item[1]["scheme"]) if item[1]["scheme"] in ORDER else len(ORDER), item[0]))
    lines = [_adaptive_line(name, row, json.load(open(os.path.join(models_dir, f"{name}.card.json"))))
             for name, row in results]
    proposed = [name for name, row in results if row["scheme"] == "masked_vqvae_fim_at"]
    rivals = [name for name in ("jscc_at", "jpeg_ldpc_at") if name in report["results"]]
    lines += [_comparison_line(a, b, report["results"]) for a in proposed for b in rivals]
    return "\n".join(lines)


def _comparison_line(a: str, b: str, results: dict) -> str:
    """``a`` vs ``b`` on the same images under PGD K=5 and under the worst case: paired differences in points
    with their standard errors; *ahead* / *behind* beyond two standard errors, else *tied*."""
    def paired(key_a, key_b):
        diff = [x - y for x, y in zip(key_a, key_b)]
        mean = sum(diff) / len(diff)
        se = math.sqrt(sum((d - mean) ** 2 for d in diff) / (len(diff) - 1) / len(diff))
        return 100 * mean, 100 * se

    worst = [[int(all(col)) for col in zip(*results[name]["correct"].values())] for name in (a, b)]
    reported = paired(results[a]["correct"]["pgd_k5"], results[b]["correct"]["pgd_k5"])
    adaptive = paired(*worst)
    verdict = "tied" if abs(adaptive[0]) <= 2 * adaptive[1] else ("ahead" if adaptive[0] > 0 else "behind")
    return (f"- **{verdict}** under the worst case: `{a}` vs `{b}` on the same {len(worst[0])} images: "
            f"{adaptive[0]:+.1f} +- {adaptive[1]:.1f} points (under PGD K=5: {reported[0]:+.1f} +- {reported[1]:.1f})")


def _adaptive_line(name: str, row: dict, card: dict) -> str:
    card_pgd = card["metrics"]["white_box_pgd"]
    drop, se = 100 * row["drop_vs_reported"], 100 * row["drop_vs_reported_se"]
    verdict = "moves" if drop > 2 * se else "holds"
    attacks = len(row["accuracy"]) - 1
    return (f"- **{verdict}**: `{name}` card {_accuracy(card_pgd)} under PGD K={card_pgd['attack']['steps']} "
            f"({card_pgd['images']} images); on the first {row['images']} test images the worst case of {attacks} "
            f"attacks is {100 * row['robust']:.1f} % against {100 * row['accuracy']['pgd_k5']:.1f} % for PGD K=5, "
            f"{drop:.1f} +- {se:.1f} points lower (about {100 * card_pgd['accuracy'] - drop:.1f} % on the card's "
            f"images)")


def updated(text: str, block: str, begin: str = BEGIN, end: str = END) -> str:
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + "\n" + block + "\n" + text[stop:]


def main(argv) -> int:
    checks, adaptive = target_checks(), adaptive_checks()
    blocks = {README: [(table(), BEGIN, END), (checks, TARGETS_BEGIN, TARGETS_END),
                       (adaptive, ADAPTIVE_BEGIN, ADAPTIVE_END)],
              MAIN_README: [(checks, TARGETS_BEGIN, TARGETS_END), (adaptive, ADAPTIVE_BEGIN, ADAPTIVE_END)]}
    stale = []
    for path, parts in blocks.items():
        text = new = open(path).read()
        for block, begin, end in parts:
            new = updated(new, block, begin, end)
        if new == text:
            continue
        stale.append(path)
        if "--check" not in argv:
            open(path, "w").write(new)
    if stale and "--check" in argv:
        print(f"not current: {', '.join(stale)}; run .venv/bin/python tools/zoo_table.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
