"""prefect.yaml declares the deployments `make run` serves, with entrypoints that load."""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect.flows import Flow, load_flow_from_entrypoint

from flows.serve import TURNOVER_CRON, deployments

ROOT = Path(__file__).resolve().parent.parent


def test_prefect_yaml_matches_the_served_deployments() -> None:
    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    served = {d.name: d for d in deployments(stock_interval=300, orders_interval=120)}
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
