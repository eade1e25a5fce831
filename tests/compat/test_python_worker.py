"""camunda-external-task-client-python3 (PyPI, pinned in requirements.txt) against `baton serve`.

One real worker process (workers/stock_worker.py: ExternalTaskWorker(...).subscribe(...), with the
client's default long polling, asyncResponseTimeout 30000) serves topic "stock-check" for the
whole module. The scenario starts instances of fixtures/stock.bpmn whose `item` decides what the
worker does; each test waits for its own outcome and asserts it through the REST API.
"""

from __future__ import annotations

import pytest

from baton_server import wait_until
from conftest import Api, WorkerProcess

import workers.stock_worker as sw

ORDERS = {
    # business key: (item, quantity)
    "py-order-1": ("widget", 3),
    "py-order-2": ("gadget", 7),
    "py-order-fail": ("broken-scanner", 1),
    "py-order-gone": ("discontinued", 2),
}


@pytest.fixture(scope="module")
def scenario(baton):
    api = Api(baton.engine_rest)
    deployment = api.deploy("compat-python-worker", "stock.bpmn")
    assert len(deployment["deployedProcessDefinitions"]) == 1, deployment
    instances = {}
    for business_key, (item, quantity) in ORDERS.items():
        started = api.start("compat_stock", business_key, {
            "item": {"value": item, "type": "String"},
            "quantity": {"value": quantity, "type": "Integer"},
        })
        assert started["ended"] is False, started
        instances[business_key] = started["id"]
    worker = WorkerProcess(baton.engine_rest, "stock-worker-py", "stock-check", async_response_timeout=None)
    try:
        yield {"api": api, "instances": instances, "worker": worker}
    finally:
        worker.stop()


def wait_for_user_task(api: Api, worker: WorkerProcess, pid: str) -> dict:
    def task():
        worker.assert_alive()
        tasks = api.get("/task", processInstanceId=pid)
        return tasks[0] if tasks else None
    return wait_until(task, timeout=20, what=f"instance {pid} to reach the user task")


@pytest.mark.parametrize("business_key", ["py-order-1", "py-order-2"])
def test_complete_sets_typed_variables(scenario, business_key):
    api, worker = scenario["api"], scenario["worker"]
    pid = scenario["instances"][business_key]
    item, quantity = ORDERS[business_key]

    task = wait_for_user_task(api, worker, pid)
    assert task["taskDefinitionKey"] == "packOrder", task

    # What the worker saw on fetchAndLock: typed input variables, business key, retries null.
    seen = [e for e in worker.events() if e["processInstanceId"] == pid]
    assert [e["action"] for e in seen] == ["complete"], seen
    assert seen[0]["variables"] == {"item": item, "quantity": quantity}, seen
    assert seen[0]["businessKey"] == business_key
    assert seen[0]["retries"] is None, "retries must be null until the first failure"
    assert seen[0]["activityId"] == "checkStock"
    assert seen[0]["topic"] == "stock-check"
    assert seen[0]["workerId"] == "stock-worker-py"

    # Untyped values from the Python client come back with inferred Camunda types.
    variables = api.get(f"/process-instance/{pid}/variables")
    expected = {
        "item": ("String", item),
        "quantity": ("Integer", quantity),
        "inStock": ("Boolean", True),
        "reserved": ("Integer", quantity),
        "warehouse": ("String", "north"),
        "unitPrice": ("Double", 12.5),
        "reservationId": ("Long", 9007199254740993),
    }
    got = {name: (v.get("type"), v.get("value")) for name, v in variables.items()}
    assert got == expected, variables

    # The external task is gone and history shows the success path so far.
    assert api.get("/external-task", processInstanceId=pid) == []
    assert api.get("/incident", processInstanceId=pid) == []
    assert api.activity_ids(pid) == ["orderReceived", "checkStock", "packOrder"]


def test_failures_count_down_retries_until_incident(scenario):
    api, worker = scenario["api"], scenario["worker"]
    pid = scenario["instances"]["py-order-fail"]

    def incident():
        worker.assert_alive()
        rows = api.get("/incident", processInstanceId=pid)
        return rows[0] if rows else None

    incident = wait_until(incident, timeout=20, what="an incident for the failing task")
    attempts = [e for e in worker.events() if e["processInstanceId"] == pid]
    task_id = attempts[0]["taskId"]

    # The client sends config retries (2) when the task's retries are null, then retries-1:
    # the engine must report accurate retries on each fetch for this to converge.
    assert [e["action"] for e in attempts] == ["failure"] * 3, attempts
    assert [e["retries"] for e in attempts] == [None, sw.MAX_RETRIES, sw.MAX_RETRIES - 1], attempts
    assert {e["taskId"] for e in attempts} == {task_id}

    assert incident["incidentType"] == "failedExternalTask", incident
    assert incident["incidentMessage"] == sw.FAILURE_MESSAGE, incident
    assert incident["configuration"] == task_id, incident
    assert incident["activityId"] == "checkStock", incident
    assert incident["processInstanceId"] == pid, incident
    assert incident["rootCauseIncidentId"] == incident["id"], incident
    assert incident["causeIncidentId"] == incident["id"], incident
    assert api.get("/incident/count", incidentType="failedExternalTask", processInstanceId=pid) == {"count": 1}

    external_task = api.get(f"/external-task/{task_id}")
    assert external_task["retries"] == 0, external_task
    assert external_task["errorMessage"] == sw.FAILURE_MESSAGE, external_task
    details = api.request("GET", f"/external-task/{task_id}/errorDetails", expect=200)
    assert details.text == sw.FAILURE_DETAILS
    no_retries = api.get("/external-task", noRetriesLeft="true", processInstanceId=pid)
    assert [t["id"] for t in no_retries] == [task_id]

    # The task is no longer handed out: not to another worker, and the Python worker has not
    # seen it again (its attempts list above was read after the incident existed).
    fetched = api.post("/external-task/fetchAndLock", {
        "workerId": "compat-probe", "maxTasks": 10,
        "topics": [{"topicName": "stock-check", "lockDuration": 1000, "businessKey": "py-order-fail"}],
    })
    assert task_id not in [t["id"] for t in fetched], fetched
    assert len([e for e in worker.events() if e["processInstanceId"] == pid]) == 3

    # The instance is still waiting in checkStock.
    assert api.get(f"/process-instance/{pid}")["ended"] is False
    activities = api.get("/history/activity-instance", processInstanceId=pid, activityId="checkStock")
    assert len(activities) == 1 and activities[0]["endTime"] is None, activities

    # Setting retries again resolves the incident (Camunda: retries 0 -> >0 resolves it) and the
    # worker picks the task up again (and fails it once more; retries go 1 -> 0 -> incident).
    api.request("PUT", f"/external-task/{task_id}/retries", json={"retries": 1}, expect=204)
    wait_until(lambda: len([e for e in worker.events() if e["processInstanceId"] == pid]) == 4,
               timeout=20, what="the worker to fetch the task again after PUT retries")
    wait_until(lambda: len(api.get("/incident", processInstanceId=pid)) == 1, timeout=20,
               what="a new incident after the last retry failed")
    assert api.get("/incident", processInstanceId=pid)[0]["id"] != incident["id"]


def test_bpmn_error_is_caught_by_the_boundary_event(scenario):
    api, worker = scenario["api"], scenario["worker"]
    pid = scenario["instances"]["py-order-gone"]

    def finished():
        worker.assert_alive()
        row = api.get(f"/history/process-instance/{pid}")
        return row if row["state"] == "COMPLETED" else None

    row = wait_until(finished, timeout=20, what="the discontinued order to complete via the boundary")
    assert row["endTime"] is not None and row["businessKey"] == "py-order-gone", row

    seen = [e for e in worker.events() if e["processInstanceId"] == pid]
    assert [e["action"] for e in seen] == ["bpmnError"], seen

    ran = api.activity_ids(pid)
    assert "outOfStock" in ran and "backordered" in ran, ran
    assert "packOrder" not in ran and "shipped" not in ran, ran
    assert ran[0] == "orderReceived" and ran[-1] == "backordered", ran

    # The variables sent with the BPMN error were set before the error propagated.
    variables = api.get("/history/variable-instance", processInstanceId=pid)
    by_name = {v["name"]: v for v in variables}
    assert by_name["reason"]["value"] == "discontinued", variables
    assert by_name["reason"]["type"] == "String", variables
    assert api.get("/incident", processInstanceId=pid) == []
    assert api.get("/process-instance", processInstanceIds=pid) == []
    api.get(f"/process-instance/{pid}", expect=404)  # runtime instance gone once ended
