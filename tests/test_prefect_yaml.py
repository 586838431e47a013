"""prefect.yaml is written from flows/deployments.py (the one list of deployments that
`make run` serves) and is current; its entrypoints load the flows they name."""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect.flows import Flow, load_flow_from_entrypoint

from flows.deployments import DEPLOYMENTS, TURNOVER_CRON, deployments, render

ROOT = Path(__file__).resolve().parent.parent


def test_prefect_yaml_is_written_from_the_deployments_list() -> None:
    written = (ROOT / "prefect.yaml").read_text()
    assert written == render(), "prefect.yaml is stale: python -m flows.deployments > prefect.yaml"


def test_prefect_yaml_matches_the_served_deployments() -> None:
    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    served = {d.name: d for d in deployments()}
    assert [d["name"] for d in declared] == [d.name for d in DEPLOYMENTS]
    assert {d["name"] for d in declared} == set(served)
    for deployment in declared:
        flow: Flow[..., object] = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
        assert flow.name == served[deployment["name"]].flow_name
        assert deployment["work_pool"]["name"] == "possync"
        schedule = deployment["schedules"][0]
        assert schedule.get("interval", 0) > 0 or schedule["cron"] == TURNOVER_CRON
        # One run at a time, with the same collision strategy as the served deployment.
        one = served[deployment["name"]]
        assert one.concurrency_limit == 1 and one.concurrency_options is not None
        assert deployment["concurrency_limit"] == {
            "limit": 1,
            "collision_strategy": one.concurrency_options.collision_strategy.value,
        }
        assert deployment["description"] == one.description


def test_make_run_s_intervals_override_the_declared_ones() -> None:
    served = {d.name: d for d in deployments({"stock-sync": 7200}, timezone="America/New_York")}
    stock, turnover = served["stock-sync"].schedules, served["daily-turnover"].schedules
    assert stock and turnover
    assert stock[0].schedule.interval.total_seconds() == 7200  # type: ignore[union-attr]
    assert turnover[0].schedule.timezone == "America/New_York"  # type: ignore[union-attr]
