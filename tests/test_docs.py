"""The documentation: links resolve, generated sections are current, the metrics reference
matches what a real evaluation exports, and install instructions use the distribution name."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_deploy import github_anchors

from driftmon.cli import main
from driftmon.docs import metric_labels

REPO = Path(__file__).resolve().parent.parent
PAGES = sorted([REPO / "README.md", REPO / "deploy" / "README.md", *(REPO / "docs").glob("*.md")])
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
DISTRIBUTION = "driftmon-exporter"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", REPO / "docs" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def prose(markdown: str) -> str:
    """The text outside fenced code blocks (links inside code are not links)."""
    return re.sub(r"^```.*?^```", "", markdown, flags=re.DOTALL | re.MULTILINE)


def links(page: Path) -> list[str]:
    return [a or b for a, b in LINK.findall(prose(page.read_text(encoding="utf-8")))]


def test_the_readme_links_every_docs_page() -> None:
    """Every page under docs/ is reachable from the README."""
    targets = {(REPO / link.split("#")[0]).resolve() for link in links(REPO / "README.md")}
    unlinked = [p.name for p in (REPO / "docs").glob("*.md") if p.resolve() not in targets]
    assert not unlinked, f"docs pages the README does not link: {unlinked}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_and_anchors_resolve(page: Path) -> None:
    """Every relative link of the page names an existing file, and every #anchor a heading of its target."""
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        path = (page.parent / path_part).resolve() if path_part else page
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in github_anchors(path.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading #{anchor} in {path.relative_to(REPO)}")
    assert not broken, f"{page.relative_to(REPO)}: broken links: {broken}"


def test_generated_sections_are_current() -> None:
    """Regenerating every section in memory changes nothing (else: run the generator)."""
    generator = load_generator()
    stale = [path for path, (current, regenerated) in generator.regenerate().items() if current != regenerated]
    assert not stale, f"stale generated sections in {stale}: run `python docs/generate.py`"


def test_the_documented_defaults_are_a_valid_config(tmp_path: Path, write) -> None:
    """The generated `defaults:` block of docs/configuration.md validates, with every setting it lists."""
    import yaml

    from driftmon.config_schema import Settings

    page = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- generated:config-defaults [^>]*-->\n```yaml\n(.*?)```", page, re.DOTALL)
    assert block is not None
    defaults = yaml.safe_load(block.group(1))["defaults"]
    assert set(defaults) == set(Settings.model_fields)
    (tmp_path / "r.csv").write_text("x\n1\n2\n")
    monitor = {"name": "m", "reference": {"type": "file", "path": "r.csv"}, "live": {"type": "file", "path": "r.csv"}}
    config = write("c.yaml", yaml.safe_dump({"defaults": defaults, "monitors": [{**monitor, "features": ["x"]}]}))
    assert main(["validate", "-c", str(config)]) == 0


def test_a_section_without_markers_is_an_error_naming_the_file(tmp_path: Path) -> None:
    """The generator refuses a page whose markers are missing, naming the page and section."""
    generator = load_generator()
    section = generator.Section("docs/metrics.md", "metrics-reference", lambda: "x")
    with pytest.raises(SystemExit, match=r"docs/metrics\.md.*metrics-reference"):
        generator.fill("no markers here", section)


def test_newest_result_file_wins_per_workload_and_contender(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that measured only some contenders updates only their figures; --tiny runs are ignored."""
    generator = load_generator()
    row = '{{"contender": "{}", "wall_median_s": {}, "work_median_s": 1, "peak_rss_mb": 1}}'
    files = {
        "2026-01-01T1000.json": f'{{"workloads": {{"a": {{"rows": [{row.format("driftmon", 2.0)}, {row.format("floor", 1.0)}]}}}}}}',
        "2026-01-02T1000.json": f'{{"workloads": {{"a": {{"rows": [{row.format("driftmon", 3.0)}]}}}}}}',
        "2026-01-03T1000.json": f'{{"tiny": true, "workloads": {{"a": {{"rows": [{row.format("floor", 9.0)}]}}}}}}',
        "http-server-2026-01-04T1000.json": "[]",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(generator, "RESULTS", tmp_path)
    assert generator.newest_row("a", "driftmon")[0].name == "2026-01-02T1000.json"
    assert generator.newest_row("a", "floor")[1]["wall_median_s"] == 1.0
    assert generator.newest_row("a", "nannyml") is None
    # driftmon and floor now come from different runs: no ratio across runs
    assert generator.ratio("a", "driftmon", "floor") == generator.DASH


def test_metrics_reference_matches_a_real_evaluation(tmp_path: Path, write) -> None:
    """Every metric a real evaluation exports is in the reference with the same labels, and vice versa."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)

    def frame(rows: int, centre: float, categories: list[str]) -> pd.DataFrame:
        x = rng.normal(centre, 1, rows)
        p = 1 / (1 + np.exp(-x))
        label = (rng.random(rows) < p).astype(float)
        label[: rows // 2] = np.nan  # some labels not known yet (the reference's half too: fine)
        return pd.DataFrame({"x": x, "c": rng.choice(categories, rows), "p": p, "y": (p >= 0.5).astype(int), "label": label})

    frame(3000, 0, ["a", "b"]).to_csv(tmp_path / "reference.csv", index=False)
    live = frame(1000, 1, ["a", "b", "z"]).assign(channel="web")  # a new column: driftmon_schema_anomaly
    live["id"] = np.arange(len(live))
    live["ts"] = pd.Timestamp.now(tz="UTC") - pd.to_timedelta(np.linspace(1, 48, len(live)), unit="h")
    live.to_csv(tmp_path / "live.csv", index=False)
    labelled = live.dropna(subset=["label"])  # late labels, in their own file (driftmon_label_* series)
    targets = labelled.assign(arrived=labelled.ts + pd.Timedelta(minutes=30))[["id", "label", "arrived"]]
    targets.to_csv(tmp_path / "targets.csv", index=False)
    config = write(
        "driftmon.yaml",
        """
        defaults:
          measures: [kl, kl_reverse, js, psi, hellinger, tvd]
          thresholds: {kl: {warning: 0.1, critical: auto}, kl_reverse: {critical: 1},
                       hellinger: {critical: 0.5}, tvd: {critical: 0.5}}
          auto_thresholds: {draws: 100}
          dataset_drift: {share: 0.5}
          export: {bins: true}
          volume: {min_rows: 10, expected: previous}
          freshness: {max_age: 30d}
        monitors:
          - name: m
            labels: {team: risk}
            reference: {type: file, path: reference.csv}
            live: {type: file, path: live.csv, window: {column: ts, last: 7d}}
            features: [x, c]
            model: {task: binary, prediction: y, score: p, target: label, targets: {type: file, path: targets.csv},
                    key: id, label_time: arrived}
            multivariate: {methods: [reconstruction], features: [x, c], sample: 500}
            segments: {by: [c], top: 1}
        """,
    )
    out = tmp_path / "driftmon.prom"
    assert main(["check", "-c", str(config), "--format", "json", "--textfile", str(out)]) == 1
    exported: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(out.read_text(encoding="utf-8")):
        for sample in family.samples:
            exported.setdefault(sample.name, set()).update(sample.labels)
    documented = metric_labels()
    daemon_only = {"driftmon_config_last_reload_successful", "driftmon_config_last_reload_success_timestamp_seconds"}
    assert set(exported) == set(documented) - daemon_only
    for name, labels in exported.items():
        expected = set(documented[name]) | ({"team"} if "monitor" in documented[name] else set())
        labels = labels - {"segment"}  # the per-segment copies (docs/segments.md)
        assert labels == expected, f"{name}: exported labels {sorted(labels)}, documented {sorted(expected)}"
    assert "segment" in exported["driftmon_js_divergence"] and "segment" in exported["driftmon_live_rows"]
    table = (REPO / "docs" / "metrics.md").read_text(encoding="utf-8")
    for name in documented:
        assert f"| `{name}` |" in table, f"{name} is not in docs/metrics.md"


def test_install_instructions_use_the_distribution_name() -> None:
    """pyproject's name is driftmon-exporter, and no page, deploy file or message of the program
    tells users to `pip install driftmon`."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DISTRIBUTION
    assert project["license"] == "Apache-2.0" and all((REPO / f).exists() for f in project["license-files"])
    files = [
        *PAGES,
        REPO / "deploy" / "docker" / "Dockerfile",
        REPO / "deploy" / "systemd" / "driftmon.service",
        *(REPO / "deploy" / "kubernetes").rglob("*.yaml"),
        *(REPO / "deploy" / "batch").iterdir(),
        *(REPO / "driftmon").rglob("*.py"),
    ]
    # any `pip install driftmon` or 'driftmon[extra]', except the bare phrase quoted as the wrong command
    wrong = re.compile(r"(?<!`)pip install\s+['\"]?driftmon(?![-\w/])(?!`)|pip install\s+['\"]driftmon\[")
    offenders = [f"{f.relative_to(REPO)}: {m.group(0)}" for f in files for m in wrong.finditer(f.read_text())]
    assert not offenders, f"install the distribution {DISTRIBUTION}, not driftmon: {offenders}"


def test_kubernetes_names_an_image_the_user_builds() -> None:
    """The manifests' image is the local tag the docs build, and kustomization.yaml maps it."""
    import yaml

    kustomization = yaml.safe_load((REPO / "deploy" / "kubernetes" / "kustomization.yaml").read_text())
    (entry,) = kustomization["images"]
    for name in ("kubernetes/deployment.yaml", "kubernetes/statefulset-sharded.yaml", "batch/cronjob.yaml"):
        text = (REPO / "deploy" / name).read_text()
        (image,) = re.findall(r"image:\s*(\S+)", text)
        assert image == f"{entry['name']}:{entry['newTag']}" == "driftmon:local", name
    build = "docker build -f deploy/docker/Dockerfile -t driftmon:local ."
    for page in (REPO / "deploy" / "README.md", REPO / "deploy" / "kubernetes" / "kustomization.yaml"):
        assert build in page.read_text(), f"{page.relative_to(REPO)} does not show how to build the image"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


def test_every_benchmark_result_file_is_cited() -> None:
    """Each file in benchmarks/results/ is cited by the docs, a README or driftmon/: a run's report
    (.md) and its data (.json, which docs/generate.py reads) count as one result; old runs live in git history."""
    citing = [REPO / "README.md", REPO / "benchmarks" / "README.md", *(REPO / "docs").glob("*.md")]
    citing += sorted((REPO / "driftmon").rglob("*.py"))
    text = "\n".join(path.read_text(encoding="utf-8") for path in citing)
    uncited = [
        path.name
        for path in sorted((REPO / "benchmarks" / "results").iterdir())
        if path.name not in text and f"{path.stem}." not in text
    ]
    assert not uncited, f"benchmarks/results/ holds files nothing cites (cite them or delete them): {uncited}"


def test_where_things_live_names_every_module() -> None:
    """docs/development.md's "Where things live" table names each module of driftmon/ (a subpackage
    by its folder), and each module it names exists."""
    text = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    table = text.split("## Where things live", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(driftmon/[\w/.]+)`", table))
    package = REPO / "driftmon"
    modules = {
        f"driftmon/{path.parent.relative_to(package).as_posix()}/"
        if (path.parent / "__init__.py").exists() and path.parent.parent != package and path.parent != package
        else path.relative_to(REPO).as_posix()
        for path in package.rglob("*.py")
    }
    assert sorted(modules - named) == [], "modules missing from docs/development.md, Where things live"
    assert sorted(name for name in named if not (REPO / name).exists()) == [], "rows naming no module"


def test_nothing_cites_a_spec_that_is_not_in_the_repository() -> None:
    """The external contract lives in docs/: no file cites a section of a spec kept outside (the
    spec those pointed to is not in the repository)."""
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    pattern = re.compile("SPEC (\u00a7|section)|the " "SPEC\\b")  # spelled so this file does not match itself
    citing = [
        name
        for name in tracked
        if name.endswith((".py", ".md", ".yml", ".yaml", ".json", ".html", ".toml"))
        and pattern.search((REPO / name).read_text(encoding="utf-8", errors="replace"))
    ]
    assert citing == []
