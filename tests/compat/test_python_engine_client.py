"""camunda-external-task-client-python3's EngineClient (the package's REST helper for scripts):
start by key with untyped variables, query instances with a GET variable filter, and correlate a
message (it sends resultEnabled=true and withoutTenantId=true) against `baton serve`."""

from __future__ import annotations

import pytest
from camunda.client.engine_client import EngineClient

from baton_server import wait_until
from conftest import Api


@pytest.fixture(scope="module")
def client(baton) -> EngineClient:
    Api(baton.engine_rest).deploy("compat-engine-client", "order.bpmn")
    return EngineClient(engine_base_url=baton.engine_rest)


def test_start_query_correlate(client, api):
    started = client.start_process("compat_order", {"customer": "Initech", "amount": 75},
                                   business_key="ec-order-1")
    pid = started["id"]
    assert started["businessKey"] == "ec-order-1" and started["ended"] is False, started
    variables = api.get(f"/process-instance/{pid}/variables")
    assert (variables["customer"]["type"], variables["customer"]["value"]) == ("String", "Initech")
    assert (variables["amount"]["type"], variables["amount"]["value"]) == ("Integer", 75)

    # GET variable filter values are strings: customer_eq_Initech matches the String variable.
    found = client.get_process_instance("compat_order", variables=["customer_eq_Initech"])
    assert [p["id"] for p in found] == [pid], found
    assert client.get_process_instance("compat_order", variables=["customer_eq_Nobody"]) == []

    task = api.get("/task", processInstanceId=pid)[0]
    api.request("POST", f"/task/{task['id']}/complete", json={}, expect=204)

    result = client.correlate_message("PaymentReceived", business_key="ec-order-1",
                                      process_variables={"paid": True})
    assert isinstance(result, list) and len(result) == 1, result
    assert result[0]["resultType"] == "Execution", result
    assert result[0]["execution"]["processInstanceId"] == pid, result
    history = api.get(f"/history/process-instance/{pid}")
    assert history["state"] == "COMPLETED", history
    paid = [v for v in api.get("/history/variable-instance", processInstanceId=pid) if v["name"] == "paid"]
    assert [(v["type"], v["value"]) for v in paid] == [("Boolean", True)], paid


def test_errors_surface_as_exceptions(client):
    with pytest.raises(Exception, match=r"received 404"):
        client.start_process("no_such_process", {})
    with pytest.raises(Exception, match=r"received 400"):
        client.correlate_message("NobodyListens", business_key="nope")


def test_get_jobs_and_set_job_retry(client, api):
    """EngineClient.get_jobs/set_job_retry (GET /job with withException, failedActivityId,
    paging and sortBy=jobDueDate; PUT /job/{id}/retries) on a job that failed for real."""
    api.deploy("compat-failjob", "failjob.bpmn")
    pid = api.start("compat_failjob", "ec-job-1", {})["id"]

    def failed_job():
        jobs = client.get_jobs(offset=0, limit=10, with_failure=True, process_instance_id=pid,
                               task_name="route")
        return jobs if jobs and jobs[0]["retries"] == 0 else None

    jobs = wait_until(failed_job, timeout=10.0)
    assert len(jobs) == 1, jobs
    job = jobs[0]
    assert job["failedActivityId"] == "route" and "size" in job["exceptionMessage"], job
    assert job["processInstanceId"] == pid and job["suspended"] is False, job
    incidents = api.get("/incident", processInstanceId=pid)
    assert [(i["incidentType"], i["configuration"]) for i in incidents] == [("failedJob", job["id"])]
    assert client.get_jobs(offset=0, limit=10, process_instance_id=pid, task_name="nowhere") == []

    api.request("POST", f"/process-instance/{pid}/variables", expect=204,
                json={"modifications": {"size": {"value": 3, "type": "Integer"}}})
    assert client.set_job_retry(job["id"]) is True
    wait_until(lambda: api.get(f"/history/process-instance/{pid}")["state"] == "COMPLETED" or None,
               timeout=10.0)
    assert api.get("/incident", processInstanceId=pid) == []
    assert api.activity_ids(pid)[-1] == "small"
