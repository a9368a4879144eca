"""driftmon's data-quality counts beside NannyML's, chunk by chunk (issue 20).

Step 1, in the peers' environment (NannyML's calculators and its data-quality car-loan set):

    NML_DISABLE_USAGE_LOGGING=1 /work/venv-peers/bin/python benchmarks/quality/nannyml_side.py /tmp/dq

Step 2, in the project's environment:

    .venv/bin/python benchmarks/quality/run.py /tmp/dq --out benchmarks/results/quality-nannyml-DATE.md

For every chunk: one `driftmon` evaluation (reference: NannyML's reference rows; live: the
chunk's rows, a Parquet file), and from its data-quality checks the counts NannyML reports:
missing rows (missing share x rows), unseen values (unseen share x rows with a value) and
values outside the reference's range (below + above shares x rows with a value). Every
count must equal NannyML's.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from driftmon import config
from driftmon.evaluate import evaluate


def _monitor(folder: Path, chunk: Path, numeric: list[str], categorical: list[str]):
    features = [{"name": n, "kind": "numeric"} for n in numeric] + [
        {"name": c, "kind": "categorical"} for c in categorical
    ]
    path = folder / "driftmon.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            monitors:
              - name: car_loan_dq
                reference: {{type: file, path: reference.parquet}}
                live: {{type: file, path: {chunk.name}}}
                features: {json.dumps(features)}
            """
        ),
        encoding="utf-8",
    )
    return config.load(path).monitors[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    nannyml = json.loads((args.folder / "nannyml.json").read_text())
    numeric, categorical = nannyml["numeric"], nannyml["categorical"]
    rows, differences = [], 0
    for index, chunk in enumerate(nannyml["chunks"]):
        result = evaluate(_monitor(args.folder, args.folder / f"chunk-{index:02d}.parquet", numeric, categorical))
        assert result.ok, result.error
        ours: dict[str, dict[str, float]] = {"missing": {}, "unseen": {}, "out_of_range": {}}
        for feature in result.features:
            quality = feature.quality
            assert quality is not None
            present = feature.live_count - quality.missing.live * feature.live_count
            ours["missing"][feature.feature] = round(quality.missing.live * feature.live_count, 6)
            if quality.unseen is not None:
                ours["unseen"][feature.feature] = round(quality.unseen.live * present, 6)
            if quality.below is not None and quality.above is not None:
                ours["out_of_range"][feature.feature] = round((quality.below.live + quality.above.live) * present, 6)
        for check in ours:
            for name, value in ours[check].items():
                theirs = chunk[check][name]
                differences += value != theirs
                rows.append((f"{chunk['start']}-{chunk['end'] - 1}", check, name, theirs, value))
    lines = [
        "# Data-quality counts: driftmon beside NannyML, chunk by chunk",
        "",
        f"NannyML {nannyml['nannyml']} (`load_synthetic_car_loan_data_quality_dataset`, inside its wheel), chunks of "
        f"{nannyml['chunk']} analysis rows; NannyML's MissingValuesCalculator, UnseenValuesCalculator and "
        "NumericalRangeCalculator (normalize=False) against one driftmon evaluation per chunk "
        "(`python benchmarks/quality/run.py`, steps in its docstring).",
        "",
        f"**{len(rows)} counts compared, {differences} differ.**",
        "",
        "| chunk (rows) | check | feature | NannyML | driftmon |",
        "| --- | --- | --- | --- | --- |",
        *(f"| {c} | {k} | {f} | {t:g} | {o:g} |" for c, k, f, t, o in rows if t or o),
        "",
        f"Counts that are 0 on both sides are not listed ({sum(1 for r in rows if not r[3] and not r[4])} of them).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    raise SystemExit(1 if differences else 0)


if __name__ == "__main__":
    main()
