"""`aiinfra traffic` against a real `bentoml serve`: every request answered and in the inference log."""

from __future__ import annotations

import polars as pl
import pytest
import yaml

from aiinfra_dagster.cli import main
from aiinfra_dagster.monitoring.traffic import sample_questions, shifted_questions
from aiinfra_dagster.settings.secrets import secret_environment, secrets_of, without_secrets
from tests.integration.test_serving import Served, logged, served, wait_until  # noqa: F401 (the module's server fixture)

pytestmark = pytest.mark.slow
COUNT = 8


def test_shifted_traffic_reaches_the_service_and_its_inference_log(
    served: Served,  # noqa: F811
    tmp_path,
    capsys,
    monkeypatch,
) -> None:
    # The served settings as a file (the CLI finds the deployment there) and its API key in the environment, where
    # secrets live: a settings dump shows them masked.
    config = tmp_path / "aiinfra.yaml"
    config.write_text(yaml.safe_dump(without_secrets(served.settings).model_dump(mode="json")))
    for name, value in secret_environment(secrets_of(served.settings)).items():
        monkeypatch.setenv(name, value)

    code = main(["traffic", "--kind", "shifted", "--count", str(COUNT), "--rate", "8", "--config", str(config)])

    out, err = capsys.readouterr()
    assert code == 0, err + out
    assert f"| url | {served.url}/ask |" in out and f"| status codes | 200: {COUNT} |" in out
    assert f"shifted traffic: {COUNT}/{COUNT} sent, {COUNT} ok, 0 failed" in err
    sent = sample_questions(shifted_questions(), COUNT, served.settings.monitoring.traffic.seed)

    def rows() -> pl.DataFrame | None:
        found = logged(served.settings).filter(pl.col("query").is_in(sent))
        return found if found.height >= COUNT else None

    table = wait_until(rows, 30)
    assert table is not None, "the traffic did not reach the inference log in 30 s"
    assert sorted(table["query"].to_list()) == sorted(sent)
    assert set(table["endpoint"]) == {"ask"} and set(table["status_code"]) == {200}
    assert set(table["bento_tag"]) == {served.bento.tag} and all(table["retrieved_ids"].list.len() > 0)
