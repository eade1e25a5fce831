"""pycamunda (PyPI, pinned in requirements.txt) against `baton serve`.

Deploy with pycamunda's multipart form (`resource-0`, booleans as "True"/"False"), start by key
with typed and untyped variables, query instances, list/claim/complete user tasks, correlate a
message, and read history. pycamunda 0.6.1 has no history module, so the history reads are two
small pycamunda-style requests (same machinery: JSON body `{}` on GET, its error mapping).
"""

from __future__ import annotations

import datetime as dt

import pycamunda
import pycamunda.deployment
import pycamunda.message
import pycamunda.processdef
import pycamunda.processinst
import pycamunda.task
import pytest
from pycamunda.request import PathParameter, QueryParameter

from baton_server import FIXTURES


class HistoricProcessInstanceGet(pycamunda.base.CamundaRequest):
    """GET /history/process-instance/{id}, written the way pycamunda writes its requests."""

    id_ = PathParameter("id")

    def __init__(self, url: str, id_: str):
        super().__init__(url=url + "/history/process-instance/{id}")
        self.id_ = id_

    def __call__(self, *args, **kwargs) -> dict:
        return super().__call__(pycamunda.base.RequestMethod.GET, *args, **kwargs).json()


class HistoricActivityInstanceGetList(pycamunda.base.CamundaRequest):
    """GET /history/activity-instance?processInstanceId=..&sortBy=startTime&sortOrder=asc"""

    process_instance_id = QueryParameter("processInstanceId")
    sort_by = QueryParameter("sortBy")
    sort_order = QueryParameter("sortOrder")

    def __init__(self, url: str, process_instance_id: str):
        super().__init__(url=url + "/history/activity-instance")
        self.process_instance_id = process_instance_id
        self.sort_by = "startTime"
        self.sort_order = "asc"

    def __call__(self, *args, **kwargs) -> list:
        return super().__call__(pycamunda.base.RequestMethod.GET, *args, **kwargs).json()


@pytest.fixture(scope="module")
def url(baton) -> str:
    return baton.engine_rest


@pytest.fixture(scope="module")
def deployment(url):
    create = pycamunda.deployment.Create(url=url, name="compat-pycamunda", source="pycamunda",
                                         enable_duplicate_filtering=True)
    with open(FIXTURES / "order.bpmn", "rb") as f:
        create.add_resource(f)
        return create()


def start_order(url: str, business_key: str, amount: int) -> pycamunda.processinst.ProcessInstance:
    start = pycamunda.processdef.StartInstance(url=url, key="compat_order", business_key=business_key)
    start.add_variable(name="amount", value=amount, type_="Integer")
    start.add_variable(name="customer", value="ACME")  # untyped: inferred String
    start.add_variable(name="express", value=True, type_="Boolean")
    return start()


def test_deploy_with_multipart_form(url, deployment):
    assert deployment.name == "compat-pycamunda"
    assert deployment.source == "pycamunda"
    assert deployment.tenant_id is None
    assert isinstance(deployment.deployment_time, dt.datetime)
    definitions = list(deployment.deployed_process_definitions.values())
    assert len(definitions) == 1, deployment
    definition = definitions[0]
    assert definition.key == "compat_order"
    assert definition.version == 1
    assert definition.id_.startswith("compat_order:1:")
    assert definition.resource == "order.bpmn"
    assert definition.deployment_id == deployment.id_

    # Same bytes, duplicate filtering on: no new deployment, the existing one comes back with
    # deployedProcessDefinitions null (pycamunda loads that as None).
    again = pycamunda.deployment.Create(url=url, name="compat-pycamunda", source="pycamunda",
                                        enable_duplicate_filtering=True)
    with open(FIXTURES / "order.bpmn", "rb") as f:
        again.add_resource(f)
        second = again()
    assert second.id_ == deployment.id_
    assert not second.deployed_process_definitions

    by_key = pycamunda.processdef.Get(url=url, key="compat_order")()
    assert by_key.id_ == definition.id_ and by_key.version == 1 and by_key.suspended is False


def test_order_lifecycle(url, deployment):
    instance = start_order(url, "order-4711", 1200)
    assert instance.business_key == "order-4711"
    assert instance.definition_id.startswith("compat_order:1:")
    assert instance.suspended is False
    assert instance.links and instance.links[0].href.endswith(f"/process-instance/{instance.id_}")

    # Query instances.
    listed = pycamunda.processinst.GetList(url=url, process_definition_key="compat_order",
                                           business_key="order-4711")()
    assert [p.id_ for p in listed] == [instance.id_]
    fetched = pycamunda.processinst.Get(url=url, id_=instance.id_)()
    assert fetched.id_ == instance.id_ and fetched.business_key == "order-4711"
    amount = pycamunda.processinst.VariablesGet(url=url, process_instance_id=instance.id_,
                                                var_name="amount")()
    assert (amount.type_, amount.value) == ("Integer", 1200)
    customer = pycamunda.processinst.VariablesGet(url=url, process_instance_id=instance.id_,
                                                  var_name="customer")()
    assert (customer.type_, customer.value) == ("String", "ACME")

    # User tasks: list by candidate group, claim, complete with variables.
    tasks = pycamunda.task.GetList(url=url, process_instance_id=instance.id_)()
    assert len(tasks) == 1
    task = tasks[0]
    assert task.task_definition_key == "approveOrder" and task.name == "Approve order"
    assert task.assignee is None and task.suspended is False
    assert isinstance(task.created, dt.datetime)
    by_group = pycamunda.task.GetList(url=url, candidate_group="sales",
                                      process_instance_business_key="order-4711")()
    assert [t.id_ for t in by_group] == [task.id_]
    pycamunda.task.Claim(url=url, id_=task.id_, user_id="demo")()
    assert pycamunda.task.Get(url=url, id_=task.id_)().assignee == "demo"
    complete = pycamunda.task.Complete(url=url, id_=task.id_, with_variables_in_return=True)
    complete.add_variable(name="approved", value=True, type_="Boolean")
    complete.add_variable(name="approver", value="demo")
    returned = complete()
    assert returned["approved"].value is True and returned["approved"].type_ == "Boolean"
    assert returned["amount"].value == 1200
    assert pycamunda.task.GetList(url=url, process_instance_id=instance.id_)() == ()

    # Correlate the message the instance now waits for.
    correlate = pycamunda.message.CorrelateSingle(url=url, message_name="PaymentReceived",
                                                  business_key="order-4711", result_enabled=True)
    correlate.add_process_variable(name="paid", value=1200.5, type_="Double")
    results = correlate()
    assert len(results) == 1
    assert results[0].result_type == pycamunda.message.ResultType.execution
    assert results[0].execution.process_instance_id == instance.id_

    # History: the instance completed along the expected path.
    history = HistoricProcessInstanceGet(url=url, id_=instance.id_)()
    assert history["state"] == "COMPLETED", history
    assert history["businessKey"] == "order-4711"
    assert history["processDefinitionKey"] == "compat_order"
    assert history["endTime"] is not None and history["durationInMillis"] is not None
    assert pycamunda.base.from_isoformat(history["startTime"]) <= pycamunda.base.from_isoformat(history["endTime"])
    activities = HistoricActivityInstanceGetList(url=url, process_instance_id=instance.id_)()
    assert [a["activityId"] for a in activities] == ["orderPlaced", "approveOrder", "waitForPayment", "orderDone"]
    assert [a["activityType"] for a in activities] == [
        "startEvent", "userTask", "intermediateMessageCatch", "noneEndEvent"], activities
    assert all(a["endTime"] is not None for a in activities), activities
    user_task = activities[1]
    assert user_task["taskId"] == task.id_ and user_task["assignee"] == "demo", user_task

    # The runtime instance is gone.
    with pytest.raises(pycamunda.NotFound):
        pycamunda.processinst.Get(url=url, id_=instance.id_)()


def test_message_correlation_with_correlation_keys(url, deployment):
    first = start_order(url, "order-a", 10)
    second = start_order(url, "order-b", 20)
    for pid in (first.id_, second.id_):
        task = pycamunda.task.GetList(url=url, process_instance_id=pid)()[0]
        pycamunda.task.Complete(url=url, id_=task.id_)()

    # Two executions wait for the message: correlate by a variable (correlation key) instead.
    correlate = pycamunda.message.CorrelateSingle(url=url, message_name="PaymentReceived",
                                                  result_enabled=True)
    correlate.add_correlation_key(name="amount", value=20, type_="Integer")
    results = correlate()
    assert [r.execution.process_instance_id for r in results] == [second.id_]
    assert HistoricProcessInstanceGet(url=url, id_=second.id_)()["state"] == "COMPLETED"
    assert HistoricProcessInstanceGet(url=url, id_=first.id_)()["state"] == "ACTIVE"

    # Ambiguous correlation (nothing narrows it to one of several waiting executions) -> 400.
    third = start_order(url, "order-c", 30)
    task = pycamunda.task.GetList(url=url, process_instance_id=third.id_)()[0]
    pycamunda.task.Complete(url=url, id_=task.id_)()
    with pytest.raises(pycamunda.BadRequest):
        pycamunda.message.CorrelateSingle(url=url, message_name="PaymentReceived", result_enabled=True)()


def test_negative_cases(url, deployment):
    with pytest.raises(pycamunda.NotFound):
        pycamunda.processinst.Get(url=url, id_="no-such-instance")()
    with pytest.raises(pycamunda.NotFound):
        pycamunda.task.Get(url=url, id_="no-such-task")()
    with pytest.raises(pycamunda.NotFound):
        pycamunda.processdef.Get(url=url, key="no_such_process")()
    with pytest.raises(pycamunda.NotFound):
        pycamunda.processdef.StartInstance(url=url, key="no_such_process")()
    with pytest.raises(pycamunda.NotFound):
        HistoricProcessInstanceGet(url=url, id_="no-such-instance")()
    # No execution or start event waits for this message: 400 MismatchingMessageCorrelation.
    with pytest.raises(pycamunda.BadRequest):
        pycamunda.message.CorrelateSingle(url=url, message_name="NobodyListens", result_enabled=True)()
    # A variable type Camunda does not know: 400.
    bad = pycamunda.processdef.StartInstance(url=url, key="compat_order")
    bad.add_variable(name="x", value="1", type_="STRING")
    with pytest.raises(pycamunda.BadRequest):
        bad()
    # Completing an unknown task is a 500 in Camunda ("Cannot complete task ..."): pycamunda
    # raises plain NoSuccess for it (not one of the 4xx subclasses).
    with pytest.raises(pycamunda.NoSuccess) as raised:
        pycamunda.task.Complete(url=url, id_="no-such-task")()
    assert type(raised.value) is pycamunda.NoSuccess, raised.value
