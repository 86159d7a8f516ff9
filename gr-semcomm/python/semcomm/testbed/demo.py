"""The main job (``make demo``): the loopback testbed with the shipped default model, clean, under Gaussian
jamming and under receiver-side semantic noise from the attacker radio, at one PSR; a summary table,
``summary.json`` and ``demo.png``."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .config import load_testbed_config
from .metrics import cannot_write
from .outcome import write_failed
from .run import run_loopback

TABLE_COLUMNS = (  # (summary key, header, format)
    ("condition", "condition", "{}"), ("images", "images", "{}"), ("frames_detected", "detected", "{}"),
    ("frames_missed", "missed", "{}"), ("header_crc_failures", "hdr CRC fail", "{}"),
    ("payload_crc_failures", "payload CRC fail", "{}"), ("ber_pre_fec", "pre-FEC BER", "{:.2e}"),
    ("ber_post_fec", "post-FEC BER", "{:.2e}"), ("accuracy", "accuracy", "{:.1%}"),
    ("hit_rate", "attacked", "{:.0%}"), ("psr_realised", "PSR dB", "{:.2f}"),
    ("images_per_s", "images/s", "{:.1f}"), ("latency_ms_mean", "latency ms", "{:.0f}"),
    ("latency_ms_p95", "p95 ms", "{:.0f}"),
)


def conditions(config: dict) -> list[tuple[str, dict]]:
    """(name, overrides) of the demo's conditions at the configured PSR: clean, Gaussian jamming of the frames
    the jammer senses, and receiver-side semantic noise from the attacker radio (the config's perturbation
    file in its sync mode; left out when the config names no file)."""
    attacker = config["attacker"]
    psr = f"PSR {attacker['psr_db']:g} dB"
    found = [("clean", {"attacker.enabled": False}),
             (f"gaussian jamming {psr}", {"attacker.enabled": True, "attacker.kind": "gaussian",
                                          "attacker.mode": "frame_aligned"})]
    if attacker["perturbation"]:
        found.append((f"semantic noise {attacker['sync']} {psr}", {"attacker.enabled": True,
                                                                  "attacker.kind": "perturbation"}))
    return found


def _attack_fields(summary: dict) -> dict:
    """The attack section's hit rate and realised PSR as table columns."""
    attack = summary.get("attack") or {}
    return {"hit_rate": attack.get("hit_rate"), "psr_realised": attack.get("psr_db_realised_mean")}


def format_table(summaries: list[dict]) -> str:
    rows = [[header for _, header, _ in TABLE_COLUMNS]]
    for summary in summaries:
        summary = {**summary, **_attack_fields(summary)}
        rows.append([fmt.format(summary[key]) if summary.get(key) is not None else "-"
                     for key, _, fmt in TABLE_COLUMNS])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def run_demo(config_path: str, out_dir: Path, overrides: dict | None = None) -> list[dict]:
    """Run the conditions, print the table, write ``summary.json`` and ``demo.png``; a condition that does
    not complete (interrupted, timed out, write error: its ``ended``) ends the demo with the summaries so
    far and no plot. Returns the summaries."""
    base = load_testbed_config(config_path, overrides)
    summaries = []
    runs = conditions(base)
    for index, (name, condition) in enumerate(runs):
        config = load_testbed_config(config_path, {**(overrides or {}), **condition})
        print(f"[{index + 1}/{len(runs)}] {name}: {config['data']['num_images']} images, Es/N0 {config['channel']['snr_db']} dB ...",
              flush=True)
        summary = run_loopback(config, name, out_dir / f"condition{index}")
        summary.update(config={k: config[k] for k in ("model", "modem", "channel", "attacker")})
        summaries.append(summary)
        if summary["ended"] != "completed":
            break
    print(format_table(summaries))
    try:
        with open(out_dir / "summary.json", "w") as handle:
            json.dump(summaries, handle, indent=2)
    except OSError as err:
        summaries[-1].update(write_failed([cannot_write(out_dir / "summary.json", err)]).fields())
        return summaries
    written = [out_dir / "summary.json"]
    if summaries[-1]["ended"] == "completed":
        plot_demo(base, summaries, out_dir)
        written.append(out_dir / "demo.png")
    print(f"wrote {', '.join(map(str, written))} and per-frame JSON lines in {out_dir}/condition*/")
    return summaries


def _frames(path: Path) -> list[dict]:
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def plot_demo(config: dict, summaries: list[dict], out_dir: Path, grid: int = 8) -> None:
    """Accuracy (with the attacker's hit rate and realised PSR) and post/pre-FEC BER per condition, and for each
    condition a row of test images with their true and decoded labels (red: wrong or missed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..data import load_dataset
    from ..export.contract import load_card

    classes = load_card(f"{config['model']}.card.json").get("classes") or []
    data = config["data"]
    images = load_dataset(data["dataset"], data["split"], root=data["path"]).images
    figure = plt.figure(figsize=(12, 3 + 1.6 * len(summaries)))
    grid_spec = figure.add_gridspec(1 + len(summaries), grid)
    names = [s["condition"] for s in summaries]
    ax = figure.add_subplot(grid_spec[0, : grid // 2])
    ax.bar(range(len(names)), [100 * s["accuracy"] for s in summaries], color=["tab:blue", "tab:orange", "tab:red"][: len(names)])
    for index, summary in enumerate(summaries):  # what the attacker achieved on the air, over each bar
        fields = _attack_fields(summary)
        note = f"{summary['accuracy']:.0%}"
        if fields["hit_rate"] is not None:
            note += f"\nhit {fields['hit_rate']:.0%}"
        if fields["psr_realised"] is not None:
            note += f", PSR {fields['psr_realised']:.1f} dB"
        ax.text(index, 100 * summary["accuracy"] + 2, note, ha="center", fontsize=7)
    ax.set_xticks(range(len(names)), [n[:28] for n in names], fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 115)
    ax = figure.add_subplot(grid_spec[0, grid // 2:])
    x = np.arange(len(names))
    for offset, key, label in ((-0.2, "ber_pre_fec", "pre-FEC"), (0.2, "ber_post_fec", "post-FEC")):
        ax.bar(x + offset, [max(s[key] or 0, 1e-6) for s in summaries], width=0.4, label=label)
    ax.set_yscale("log")
    ax.set_xticks(x, [n[:28] for n in names], fontsize=8)
    ax.set_ylabel("BER")
    ax.legend(fontsize=8)
    for row, summary in enumerate(summaries, start=1):
        frames = sorted(_frames(out_dir / f"condition{row - 1}" / "frames.jsonl"), key=lambda f: f["seq"])[:grid]
        for col, frame in enumerate(frames):
            ax = figure.add_subplot(grid_spec[row, col])
            if data["seed"] is None:  # images in dataset order: seq n is image start + n
                ax.imshow(np.transpose(images[data["start"] + frame["seq"]], (1, 2, 0)).squeeze(), cmap="gray")
            truth = classes[frame["label"]] if frame["label"] is not None and classes else frame["label"]
            decoded = classes[frame["pred"]] if frame.get("pred") is not None and classes else frame.get("pred", "missed")
            ax.set_title(f"{truth}\n-> {decoded}", fontsize=7, color="black" if frame.get("correct") else "red")
            ax.axis("off")
        figure.text(0.01, 1 - (row + 0.5) / (1 + len(summaries)), summary["condition"][:20], fontsize=8, rotation=90,
                    va="center")
    figure.suptitle(f"semcomm loopback testbed: {Path(config['model']).name}, {config['modem']['modulation']} + "
                    f"{config['modem']['code']}, Es/N0 {config['channel']['snr_db']} dB")
    figure.tight_layout()
    figure.savefig(out_dir / "demo.png", dpi=110)
    plt.close(figure)
