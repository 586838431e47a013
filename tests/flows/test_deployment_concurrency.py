"""Each deployment runs one at a time on the Prefect server: a second run due while one
runs waits for it (ENQUEUE) or is cancelled (CANCEL_NEW), as flows/deployments.py declares
(prefect.yaml declares the same; tests/test_prefect_yaml.py compares the two)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import ConcurrencyLimitStrategy
from prefect.client.schemas.responses import (
    OrchestrationResult,
    SetStateStatus,
    StateRejectDetails,
)
from prefect.states import Pending

from flows.deployments import COLLISIONS, deployments


@pytest.mark.parametrize("name", sorted(COLLISIONS))
def test_a_second_run_of_a_deployment_waits_or_is_cancelled(name: str) -> None:
    [deployment] = [d for d in deployments() if d.name == name]
    deployment_id = deployment.apply()
    assert isinstance(deployment_id, UUID)
    with get_client(sync_client=True) as client:
        first = client.create_flow_run_from_deployment(deployment_id)
        second = client.create_flow_run_from_deployment(deployment_id)
        assert client.set_flow_run_state(first.id, Pending()).status == SetStateStatus.ACCEPT
        refused: OrchestrationResult[Any] = client.set_flow_run_state(second.id, Pending())
        assert refused.status == SetStateStatus.REJECT
        assert refused.state is not None
        if COLLISIONS[name] == ConcurrencyLimitStrategy.ENQUEUE:
            assert refused.state.name == "AwaitingConcurrencySlot"
        else:
            assert refused.state.is_cancelled()
        assert isinstance(refused.details, StateRejectDetails)
        assert refused.details.reason == "Deployment concurrency limit reached."
        client.delete_deployment(deployment_id)
