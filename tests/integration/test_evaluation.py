"""eval_report and champion_model through real dg.materialize runs on a tiny Llama.

A candidate trained longer on the facts the golden questions ask about is
promoted; an almost untrained one is blocked by the gate (the run fails on the
blocking check, the reason is in the check result, the champion is unchanged);
a rollback is its own materialization; the report's numbers are recomputed
from the eval_history rows it was made from.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from aiinfra_dagster.cli import main
from aiinfra_dagster.data.tables import GOLDEN_QA
from aiinfra_dagster.evaluation.metrics import rouge_l, token_f1
from aiinfra_dagster.evaluation.tables import CHAMPION_HISTORY, EVAL_HISTORY, EVAL_REPORTS
from aiinfra_dagster.instance import write_instance_yaml
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.testing.retrieval_index import build_test_index
from tests.helpers import materialization_metadata, materialize_assets
from tests.integration.test_training import FACTS, write_training_set

PHRASINGS = ["{q}", "Tell me: {q}"]


def write_golden(settings) -> None:
    rows = [
        {
            "qa_id": f"{name}-{i}",
            "question": p.format(q=question),
            "answer": answer,
            "source": "faq/a.rst" if name in {"lists", "tuples"} else "faq/b.rst",
            "section": name,
        }
        for name, _, question, answer in FACTS
        for i, p in enumerate(PHRASINGS)
    ]
    DeltaStore(settings.storage.lake_root).sync(GOLDEN_QA, GOLDEN_QA.conform(rows))


def eval_settings(make_settings, tiny_causal_lm: Path, **training):
    params = {"save_steps": 100, "learning_rate": 5e-3, "max_seq_length": 96, "per_device_batch_size": 4, **training}
    return make_settings(
        models={"llm": {"source": "local", "path": str(tiny_causal_lm)}},
        training=params,
        evaluation={
            "modes": ["closed_book"],
            "max_questions": 8,
            "headline_metric": "reference_perplexity",
            "headline_mode": "closed_book",
            "max_new_tokens": 12,
            "bootstrap_resamples": 500,
        },
        promotion={"min_slice_questions": 4, "slice_tolerance": 0.5},
    )


def run(settings, instance, keys, run_config=None) -> dg.ExecuteInProcessResult:
    return materialize_assets(settings, instance, keys, run_config=run_config, raise_on_error=False)


def champions(settings) -> list[str]:
    return DeltaStore(settings.storage.lake_root).read(CHAMPION_HISTORY).sort("sequence")["model_version"].to_list()


def checks_of(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


@pytest.fixture
def home_instance(tmp_path, monkeypatch):
    """A persistent instance in DAGSTER_HOME, the one `aiinfra champion rollback` opens."""
    home = tmp_path / "dagster_home"
    write_instance_yaml(home, 1)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        yield instance


def test_gate_promotes_better_blocks_worse_and_rollback_is_a_materialization(
    make_settings, tiny_causal_lm, home_instance, tmp_path, capsys
):
    instance = home_instance
    keys = ["base_model", "lora_checkpoint", "eval_report", "champion_model"]
    weak = eval_settings(make_settings, tiny_causal_lm, max_steps=6)
    write_training_set(weak)
    write_golden(weak)

    # 1. The first candidate has no champion to beat: it is compared with the (untrained) base model.
    first = run(weak, instance, keys)
    assert first.success
    report = materialization_metadata(first, "eval_report")
    assert report["incumbent"].value.startswith("base ") and report["gate_passed"].value is True
    assert checks_of(first)["candidate_beats_incumbent"].passed
    weak_version = materialization_metadata(first, "lora_checkpoint")["model_version"].value
    assert champions(weak) == [weak_version]
    champion = materialization_metadata(first, "champion_model")
    assert champion["action"].value == "promote" and champion["eval_report_id"].value == report["report_id"].value
    assert champion["input_training_set_version"].value >= 0

    # Re-running with nothing changed: every answer reused, the candidate is the champion already, no new champion row.
    again = run(weak, instance, keys)
    assert again.success
    repeat = materialization_metadata(again, "eval_report")
    assert repeat["answers_computed"].value == 0 and repeat["answers_reused"].value == 2 * len(FACTS) * len(PHRASINGS)
    assert "already the champion" in checks_of(again)["candidate_beats_incumbent"].metadata["reason"].value
    history_version = DeltaStore(weak.storage.lake_root).version(EVAL_HISTORY.name)
    assert run(weak, instance, ["eval_report"]).success
    assert DeltaStore(weak.storage.lake_root).version(EVAL_HISTORY.name) == history_version  # nothing rewritten
    assert materialization_metadata(again, "champion_model")["changed"].value is False
    assert champions(weak) == [weak_version]

    # 2. A candidate trained longer beats the champion and is promoted; the base model's answers are reused.
    strong = eval_settings(make_settings, tiny_causal_lm, max_steps=40)
    second = run(strong, instance, keys)
    assert second.success
    strong_report = materialization_metadata(second, "eval_report")
    assert strong_report["incumbent"].value == f"champion {weak_version}"
    assert strong_report["answers_computed"].value == len(FACTS) * len(PHRASINGS)  # only the new candidate's answers
    strong_version = materialization_metadata(second, "lora_checkpoint")["model_version"].value
    assert champions(strong) == [weak_version, strong_version]

    # 3. An almost untrained candidate is blocked: the run fails on the blocking check and says why.
    worse = eval_settings(make_settings, tiny_causal_lm, max_steps=1, learning_rate=1e-6)
    third = run(worse, instance, keys)
    assert not third.success
    gate = checks_of(third)["candidate_beats_incumbent"]
    assert not gate.passed
    reason = gate.metadata["reason"].value
    assert reason.startswith("blocked: reference_perplexity (closed_book) improvement over the champion")
    assert "champion_model" not in {
        e.asset_key.to_user_string() for e in third.get_asset_materialization_events() if e.asset_key
    }
    assert champions(worse) == [weak_version, strong_version]
    # champion_model alone cannot bypass the gate either: it re-reads the latest (blocked) report.
    bypass = run(worse, instance, ["champion_model"])
    assert not bypass.success
    assert champions(worse) == [weak_version, strong_version]

    # 4. Rollback to the previous champion with the documented command: a materialization of champion_model,
    # with lineage.
    config = tmp_path / "aiinfra.yaml"
    config.write_text(yaml.safe_dump(worse.model_dump(mode="json")))
    assert main(["champion", "rollback", "--config", str(config)]) == 0
    assert f"champion is now {weak_version}" in capsys.readouterr().out
    event = instance.get_latest_materialization_event(dg.AssetKey("champion_model"))
    meta = {k: v for k, v in event.asset_materialization.metadata.items()}
    assert meta["action"].value == "rollback" and meta["model_version"].value == weak_version
    assert meta["previous_version"].value == strong_version
    assert meta["eval_report_id"].value == report["report_id"].value
    assert champions(worse) == [weak_version, strong_version, weak_version]
    assert instance.get_run_by_id(event.run_id).tags["aiinfra/action"] == "champion-rollback"
    # an unknown version is refused and changes nothing
    assert main(["champion", "rollback", "--to", "no-such-version", "--config", str(config)]) == 1
    assert "no-such-version was never promoted" in capsys.readouterr().err
    assert champions(worse) == [weak_version, strong_version, weak_version]


def write_index(settings) -> str:
    """A real index of the facts' context chunks, embedded with the configured encoder, behind the serving alias."""
    from aiinfra_dagster.models.embedding import load_encoder
    from aiinfra_dagster.models.locate import resolve_model_path

    encoder = load_encoder(str(resolve_model_path(settings.models.embedding, "models.embedding")))
    texts = [context for _, context, _, _ in FACTS]
    vectors = encoder.encode(texts)
    rows = [
        {
            "chunk_id": f"chunk-{name}",
            "text": text,
            "document_path": "faq/a.rst",
            "label": None,
            "embedding": v.tolist(),
        }
        for (name, *_), text, v in zip(FACTS, texts, vectors, strict=True)
    ]
    return build_test_index(settings.qdrant, rows, model_id=encoder.model_id)


def test_report_numbers_match_the_rows_they_came_from(make_settings, tiny_causal_lm, instance):
    settings = eval_settings(make_settings, tiny_causal_lm, max_steps=10)
    settings = settings.model_copy(
        update={"evaluation": settings.evaluation.model_copy(update={"modes": ["closed_book", "grounded"], "top_k": 1})}
    )
    write_training_set(settings)
    write_golden(settings)
    index_version = write_index(settings)
    result = run(settings, instance, ["base_model", "lora_checkpoint", "eval_report"])
    assert result.success
    meta = materialization_metadata(result, "eval_report")
    store = DeltaStore(settings.storage.lake_root)
    report = store.read(EVAL_REPORTS).filter(pl.col("report_id") == meta["report_id"].value).row(0, named=True)
    summary = json.loads(report["summary"])
    rows = store.read(EVAL_HISTORY)
    candidate = rows.filter(pl.col("model_version") == meta["candidate_version"].value)
    assert candidate.height == 2 * len(FACTS) * len(PHRASINGS) and set(candidate["mode"]) == {"closed_book", "grounded"}
    grounded = candidate.filter(pl.col("mode") == "grounded")
    assert (
        set(grounded["index_version"]) == {index_version}
        and meta["input_index_version_grounded"].value == index_version
    )
    # each question retrieves its own fact's chunk (the question is about exactly that fact)
    assert all(r["context_chunk_ids"] == [f"chunk-{r['qa_id'].split('-')[0]}"] for r in grounded.iter_rows(named=True))
    candidate = candidate.filter(pl.col("mode") == "closed_book")

    # every stored score is the metric of the stored answer
    for r in candidate.iter_rows(named=True):
        assert r["token_f1"] == token_f1(r["answer"], r["reference"]) and r["rouge_l"] == rouge_l(
            r["answer"], r["reference"]
        )
        assert r["reference_tokens"] > 0 and r["reference_nll"] > 0

    # the headline figures are the means of those rows, and the markdown shows them
    shown = summary["metrics"]["candidate"]["closed_book"]
    assert abs(shown["token_f1"]["mean"] - candidate["token_f1"].mean()) < 1e-12
    assert shown["token_f1"]["low"] <= shown["token_f1"]["mean"] <= shown["token_f1"]["high"]
    base = rows.filter((pl.col("model_version") == summary["versions"]["base"]) & (pl.col("mode") == "closed_book"))
    joined = candidate.join(base, on="qa_id", suffix="_base")
    delta = (joined["reference_nll_base"] - joined["reference_nll"]).mean()
    assert abs(summary["deltas"]["closed_book"]["reference_perplexity"]["mean"] - delta) < 1e-12
    assert abs(meta["headline_improvement"].value - delta) < 1e-12
    markdown = meta["report"].value
    assert (
        f"{shown['token_f1']['mean']:.3f} [{shown['token_f1']['low']:.3f}, {shown['token_f1']['high']:.3f}]" in markdown
    )
    assert "data:image/png;base64," in markdown

    html = Path(meta["html_report"].value).read_text()
    assert meta["report_id"].value in html and html.count("<img") == 1  # metric bars (no classifier materialized here)
    assert report["qa_ids"] == sorted(candidate["qa_id"].to_list())
