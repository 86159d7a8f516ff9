"""Write the generated blocks of the READMEs from the JSON they cite, so that their numbers are the JSON's.

    .venv/bin/python tools/zoo_table.py          # rewrites the blocks between their markers
    .venv/bin/python tools/zoo_table.py --check  # exit 1 when a block is not current (the tests run this)

The zoo table of ``models/README.md`` comes from the model cards; the target checks of ``README.md`` and
``models/README.md`` from ``models/report_targets/report.json`` (``checks``: each comparison ahead, tied
or behind with its margin and standard error, each target met or missed).

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


def updated(text: str, block: str, begin: str = BEGIN, end: str = END) -> str:
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + "\n" + block + "\n" + text[stop:]


def main(argv) -> int:
    checks = target_checks()
    blocks = {README: [(table(), BEGIN, END), (checks, TARGETS_BEGIN, TARGETS_END)],
              MAIN_README: [(checks, TARGETS_BEGIN, TARGETS_END)]}
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
